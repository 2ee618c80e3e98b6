/**
 * The topology compiler: `topology.yaml` text -> a validated, positioned, graph-checked topology.
 *
 * Pure: it reads no files and builds no component. Every problem is collected before it answers
 * (YAML syntax, duplicate keys, environment references, the top-level schema, every component's
 * own schema, unknown types, graph rules), each as `file:line:col: message` sorted by position,
 * so one `sluice check` run shows the data engineer everything there is to fix.
 */
import { LineCounter, isMap, isScalar, parseDocument } from 'yaml';
import type { Document, YAMLError } from 'yaml';
import type { z } from 'zod';
import type { Component, ComponentKind } from '../component.ts';
import { SECTION_OF, topologySchema } from '../../schemas/topology.ts';
import { interpolateDocument } from './env.ts';
import type { Env } from './env.ts';
import { checkGraph, closest } from './graph.ts';
import type { GraphNodeInput } from './graph.ts';
import { DocumentPositions, displayPath, formatPath, toDocPath, walkDocument } from './positions.ts';
import type { DocPath, LocatedIssue, Position } from './positions.ts';

/** A problem in a topology file, at a 1-based line and column. */
export interface TopologyError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

/** `file:line:col: message`, the form editors and CI annotate. */
export function formatTopologyError(e: TopologyError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

/** Where the compiler finds component types; `pipelines/registry.ts` implements it. */
export interface ComponentCatalog {
  lookup(kind: ComponentKind, type: string): Component | undefined;
  /** The valid type names of one kind, for error messages. */
  types(kind: ComponentKind): string[];
}

export interface CompiledNode {
  readonly name: string;
  readonly kind: ComponentKind;
  readonly type: string;
  readonly component: Component;
  /** The component schema's parsed output, defaults applied. */
  readonly config: unknown;
  readonly inputs: string[];
  /** Names of the components that read this one, in declaration order. */
  readonly outputs: string[];
  /** Where the component's name is written. */
  readonly position: Position;
}

export interface CompiledTopology {
  readonly file: string;
  readonly dataDir: string;
  readonly api: { readonly listen: string; readonly enabled: boolean };
  /** Topological order: sources first; among ready components, declaration order. */
  readonly nodes: CompiledNode[];
  readonly byName: ReadonlyMap<string, CompiledNode>;
}

export type CompileResult =
  | { readonly ok: true; readonly topology: CompiledTopology; readonly warnings: TopologyError[] }
  | { readonly ok: false; readonly errors: TopologyError[]; readonly warnings: TopologyError[] };

const KINDS: readonly ComponentKind[] = ['source', 'operator', 'sink'];

export function compileTopology(text: string, file: string, catalog: ComponentCatalog, env: Env): CompileResult {
  const lineCounter = new LineCounter();
  // Duplicate keys are found below with the key path in the message, rather than by yaml.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const positions = new DocumentPositions(doc, lineCounter);

  const errors: TopologyError[] = [];
  const warnings: TopologyError[] = [];
  // Values whose interpolation failed: what the schema or graph says about them would only echo it.
  const unresolved: DocPath[] = [];
  const report = (issue: LocatedIssue): void => {
    if (unresolved.some((p) => p.length <= issue.path.length && p.every((seg, i) => String(seg) === String(issue.path[i])))) return;
    const at = issue.offset !== undefined ? positions.at(issue.offset) : positions.of(issue.path, issue.target);
    const shown = formatPath(displayPath(issue));
    errors.push({ file, line: at.line, col: at.col, message: shown === '' ? issue.message : `${shown}: ${issue.message}` });
  };
  const fail = (): CompileResult => ({ ok: false, errors: sortErrors(errors), warnings: sortErrors(warnings) });

  for (const e of doc.errors) errors.push({ file, ...positions.at(e.pos[0]), message: yamlMessage(e) });
  for (const w of doc.warnings) warnings.push({ file, ...positions.at(w.pos[0]), message: yamlMessage(w) });
  for (const issue of duplicateKeys(doc, positions)) report(issue);
  const envIssues = interpolateDocument(doc, env);
  for (const issue of envIssues) report(issue);
  unresolved.push(...envIssues.map((i) => i.path));
  // After a syntax error the document's shape is a guess; schema and graph errors would mislead.
  if (doc.errors.length > 0) return fail();

  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    errors.push({ file, line: 1, col: 1, message: 'the topology is empty; expected a mapping with `sources:` and `sinks:`' });
    return fail();
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (cause) {
    errors.push({ file, line: 1, col: 1, message: `cannot read the document: ${(cause as Error).message}` });
    return fail();
  }

  const top = validate(topologySchema, data, []);
  for (const issue of top.issues) report(issue);

  // Each component's own keys, validated against its type's schema.
  const graphNodes: GraphNodeInput[] = [];
  const built = new Map<string, { kind: ComponentKind; type: string; component: Component; config: unknown }>();
  const sections = isPlainObject(data) ? data : {};
  for (const kind of KINDS) {
    const section = SECTION_OF[kind];
    const entries = sections[section];
    if (!isPlainObject(entries)) continue;
    for (const [name, entry] of Object.entries(entries)) {
      const graphNode: { -readonly [K in keyof GraphNodeInput]: GraphNodeInput[K] } = { name, kind, inputs: graphInputs(entry) };
      graphNodes.push(graphNode);
      if (!isPlainObject(entry)) continue; // the envelope schema reported it
      const base: DocPath = [section, name];
      if (kind === 'source' && 'inputs' in entry) {
        report({
          path: [...base, 'inputs'],
          target: 'key',
          message: 'a source takes no inputs (it reads from outside the topology); remove this key, or make this an operator',
        });
      }
      const type = entry.type;
      if (typeof type !== 'string') continue; // reported by the envelope schema
      const component = catalog.lookup(kind, type);
      if (component === undefined) {
        const valid = [...catalog.types(kind)].sort();
        const hint = closest(type, valid);
        report({
          path: [...base, 'type'],
          target: 'value',
          message:
            `unknown ${kind} type "${type}"; valid types: ${valid.length > 0 ? valid.join(', ') : '(none registered)'}` +
            (hint !== undefined ? `; did you mean "${hint}"?` : ''),
        });
        continue;
      }
      if (component.kind !== 'sink') graphNode.emits = component.emits;
      if (component.kind !== 'source') graphNode.accepts = component.accepts;
      const own: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(entry)) if (key !== 'type' && key !== 'inputs') own[key] = value;
      const result = validate(component.schema, own, base);
      for (const issue of result.issues) report(issue);
      if (result.ok && !built.has(name)) built.set(name, { kind, type, component, config: result.data });
    }
  }

  const graph = checkGraph(graphNodes);
  for (const issue of graph.issues) report(issue);

  if (errors.length > 0 || !top.ok) return fail();
  const file_ = top.data as z.output<typeof topologySchema>;
  const nodes: CompiledNode[] = [];
  const byName = new Map<string, CompiledNode>();
  for (const name of graph.order) {
    const b = built.get(name);
    if (b === undefined) throw new Error(`bug: component "${name}" passed every check but was not validated`);
    const node: CompiledNode = {
      name,
      ...b,
      inputs: graph.inputs.get(name) ?? [],
      outputs: graph.outputs.get(name) ?? [],
      position: positions.of([SECTION_OF[b.kind], name], 'key'),
    };
    nodes.push(node);
    byName.set(name, node);
  }
  return {
    ok: true,
    topology: { file, dataDir: file_.data_dir, api: { ...file_.api }, nodes, byName },
    warnings: sortErrors(warnings),
  };
}

function sortErrors(list: TopologyError[]): TopologyError[] {
  const seen = new Set<string>();
  return list
    .filter((e) => {
      const key = formatTopologyError(e);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.col - b.col);
}

function yamlMessage(e: YAMLError): string {
  return `invalid YAML: ${e.message}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the graph needs of `inputs`, read leniently: the schema reports what is malformed. */
function graphInputs(entry: unknown): GraphNodeInput['inputs'] {
  if (!isPlainObject(entry)) return 'invalid';
  const raw = entry.inputs;
  if (raw === undefined || raw === null) return 'missing';
  // A lone name (`inputs: clean`) is a schema error, but the graph can still follow it.
  if (typeof raw === 'string') return [raw];
  if (!Array.isArray(raw)) return 'invalid';
  return raw.map((x) => (typeof x === 'string' ? x : undefined));
}

/** Every key written twice in one mapping, at the later occurrence. */
function duplicateKeys(doc: Document, positions: DocumentPositions): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  walkDocument(doc, (node, path, role) => {
    if (role !== 'value' || !isMap(node)) return;
    const first = new Map<string, number>();
    for (const pair of node.items) {
      const key = pair.key;
      if (!isScalar(key) || key.range === undefined || key.range === null) continue;
      const name = String(key.value);
      const earlier = first.get(name);
      if (earlier === undefined) {
        first.set(name, key.range[0]);
        continue;
      }
      const at = positions.at(earlier);
      issues.push({
        path,
        target: 'value',
        offset: key.range[0],
        message:
          `duplicate key "${name}" (first written at line ${at.line}, column ${at.col}); ` +
          'the later value would silently replace the earlier one',
      });
    }
  });
  return issues;
}

// ---------------------------------------------------------------------------------------------
// zod issues -> messages for the person editing the file

type RawIssue = z.core.$ZodRawIssue;
type Issue = z.core.$ZodIssue;

interface Validated {
  readonly ok: boolean;
  readonly data: unknown;
  readonly issues: LocatedIssue[];
}

/** Runs a schema and turns its issues into located messages under `prefix`. */
function validate(schema: z.ZodType, value: unknown, prefix: DocPath): Validated {
  // The allowed keys of each object that had unknown keys, found while zod still knows the schema.
  const allowed = new WeakMap<object, string[]>();
  const result = schema.safeParse(value, {
    reportInput: true,
    error: (raw) => describeRaw(raw, allowed),
  });
  if (result.success) return { ok: true, data: result.data, issues: [] };
  const issues: LocatedIssue[] = [];
  for (const issue of result.error.issues) locateIssue(issue, prefix, allowed, issues);
  return { ok: false, data: undefined, issues };
}

function locateIssue(issue: Issue, prefix: DocPath, allowed: WeakMap<object, string[]>, out: LocatedIssue[]): void {
  const path = [...prefix, ...toDocPath(issue.path)];
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = isPlainObject(issue.input) ? (allowed.get(issue.input) ?? []) : [];
      for (const key of issue.keys) {
        const hint = closest(key, keys);
        out.push({
          path: [...path, key],
          target: 'key',
          message:
            `unknown key "${key}"` +
            (hint !== undefined ? `; did you mean "${hint}"?` : ';') +
            (keys.length > 0 ? ` allowed keys: ${keys.join(', ')}` : ' no keys are allowed here'),
        });
      }
      return;
    }
    case 'invalid_union': {
      if (issue.errors.length === 0) {
        out.push({ path, target: 'value', message: issue.message });
        return;
      }
      // When the value had the wrong shape for every alternative, say what shapes were accepted;
      // otherwise explain the closest alternative's problems.
      const rootMismatch = (branch: readonly Issue[]) =>
        branch.length === 1 && branch[0].path.length === 0 && (branch[0].code === 'invalid_type' || branch[0].code === 'invalid_value');
      const near = issue.errors.filter((b) => !rootMismatch(b));
      if (near.length === 0) {
        const expected = [...new Set(issue.errors.map((b) => expectedOf(b[0])))];
        out.push({ path, target: 'value', message: `expected ${expected.join(' or ')}, received ${describeValue(issue.input)}` });
        return;
      }
      const best = near.reduce((a, b) => (b.length < a.length ? b : a));
      for (const sub of best) locateIssue(sub, path, allowed, out);
      return;
    }
    case 'invalid_type':
      if (issue.input === undefined && path.length > 0 && path.length > prefix.length) {
        out.push({
          path,
          target: 'missing',
          message: `missing required key "${String(path[path.length - 1])}" (expected ${expectedPhrase(issue.expected)})`,
        });
        return;
      }
      out.push({ path, target: 'value', message: issue.message });
      return;
    case 'invalid_key':
      out.push({ path, target: 'key', message: issue.message });
      return;
    default:
      out.push({ path, target: 'value', message: issue.message });
  }
}

function expectedOf(issue: Issue): string {
  if (issue.code === 'invalid_type') return expectedPhrase(issue.expected);
  if (issue.code === 'invalid_value') return issue.values.map((v) => JSON.stringify(v)).join(' or ');
  return 'a valid value';
}

/** Our wording for each zod issue; a schema's own custom messages take precedence over these. */
function describeRaw(raw: RawIssue, allowed: WeakMap<object, string[]>): string {
  switch (raw.code) {
    case 'invalid_type':
      return `expected ${expectedPhrase(raw.expected)}, received ${describeValue(raw.input)}`;
    case 'too_small':
      return sizeMessage('at least', raw.origin, raw.minimum, raw.inclusive, raw.exact, raw.input);
    case 'too_big':
      return sizeMessage('at most', raw.origin, raw.maximum, raw.inclusive, raw.exact, raw.input);
    case 'invalid_format': {
      const shown = describeValue(raw.input);
      switch (raw.format) {
        case 'regex':
          return `${shown} does not match the pattern ${String(raw.pattern)}`;
        case 'starts_with':
          return `must start with "${String(raw.prefix)}", received ${shown}`;
        case 'ends_with':
          return `must end with "${String(raw.suffix)}", received ${shown}`;
        case 'includes':
          return `must contain "${String(raw.includes)}", received ${shown}`;
        default:
          return `expected a valid ${raw.format}, received ${shown}`;
      }
    }
    case 'not_multiple_of':
      return `must be a multiple of ${String(raw.divisor)}, received ${describeValue(raw.input)}`;
    case 'unrecognized_keys': {
      const shape = (raw.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
      if (isPlainObject(raw.input) && shape !== undefined) allowed.set(raw.input, Object.keys(shape));
      return `unknown keys: ${raw.keys.join(', ')}`;
    }
    case 'invalid_value': {
      const options = raw.values.map((v) => JSON.stringify(v));
      const hint =
        typeof raw.input === 'string'
          ? closest(raw.input, raw.values.filter((v): v is string => typeof v === 'string'))
          : undefined;
      return (
        (options.length === 1 ? `expected ${options[0]}` : `expected one of ${options.join(', ')}`) +
        `, received ${describeValue(raw.input)}` +
        (hint !== undefined ? `; did you mean "${hint}"?` : '')
      );
    }
    case 'invalid_union':
      return `${describeValue(raw.input)} matches none of the accepted forms`;
    case 'invalid_key':
      return `invalid name ${describeValue(raw.input)}: ${raw.issues.map((i) => i.message).join('; ')}`;
    case 'invalid_element':
      return `invalid entry: ${raw.issues.map((i) => i.message).join('; ')}`;
    case 'custom':
      return 'is not valid';
    default:
      return 'is not valid';
  }
}

function sizeMessage(
  bound: 'at least' | 'at most',
  origin: string,
  limit: number | bigint,
  inclusive: boolean | undefined,
  exact: boolean | undefined,
  input: unknown,
): string {
  const n = Number(limit);
  switch (origin) {
    case 'string':
      if (bound === 'at least' && n === 1 && !exact) return 'must not be empty';
      return `must be ${exact ? 'exactly' : bound} ${n} character${n === 1 ? '' : 's'} long, received ${describeValue(input)}`;
    case 'array':
    case 'set':
      if (bound === 'at least' && n === 1 && !exact) return 'must not be empty; expected at least one item';
      return `must have ${exact ? 'exactly' : bound} ${n} item${n === 1 ? '' : 's'}, received ${Array.isArray(input) ? input.length : describeValue(input)}`;
    default: {
      const op = exact ? '=' : bound === 'at least' ? (inclusive === false ? '>' : '>=') : inclusive === false ? '<' : '<=';
      return `must be ${op} ${n}, received ${describeValue(input)}`;
    }
  }
}

function expectedPhrase(expected: string): string {
  switch (expected) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    case 'array':
    case 'tuple':
    case 'set':
      return 'a list';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping';
    case 'null':
      return 'an empty value';
    default:
      return expected;
  }
}

/** How a received value reads in a message. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the number ${String(value)}`;
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
