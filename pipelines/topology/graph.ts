/**
 * Graph checks on a topology whose sections have been read: names, inputs, cycles and dead ends.
 * Pure and total: it reports every problem it finds, each at a document path, and gives the
 * topological order and each component's consumers for the compiler to use when there are none.
 */
import type { ComponentKind } from '../component.ts';
import type { StreamKind } from '../../model/stream.ts';
import { SECTION_OF } from '../../schemas/topology.ts';
import type { DocPath, LocatedIssue } from './positions.ts';

/**
 * A component as the graph sees it. `inputs` is `'missing'` when the key is absent or empty-valued,
 * `'invalid'` when it is not a list (the schema reports that), else the list with non-string
 * entries as undefined so that indices still match the file.
 */
export interface GraphNodeInput {
  readonly name: string;
  readonly kind: ComponentKind;
  readonly inputs: readonly (string | undefined)[] | 'missing' | 'invalid';
  /** The stream kinds of the component's type; absent when the type is unknown (reported elsewhere). */
  readonly accepts?: readonly StreamKind[];
  readonly emits?: StreamKind;
}

export interface GraphResult {
  readonly issues: LocatedIssue[];
  /** Names in topological order: sources first, ties broken by declaration order. */
  readonly order: string[];
  /** Each component's resolved inputs, duplicates and unknown names left out. */
  readonly inputs: ReadonlyMap<string, string[]>;
  /** Each component's consumers, in declaration order. */
  readonly outputs: ReadonlyMap<string, string[]>;
}

const KIND_NOUN: Record<ComponentKind, string> = { source: 'source', operator: 'operator', sink: 'sink' };

function basePath(node: GraphNodeInput): DocPath {
  return [SECTION_OF[node.kind], node.name];
}

export function checkGraph(nodes: readonly GraphNodeInput[]): GraphResult {
  const issues: LocatedIssue[] = [];
  // Sources, then operators, then sinks, each in file order: the order ties are broken in.
  const rank = (k: ComponentKind) => (k === 'source' ? 0 : k === 'operator' ? 1 : 2);
  const declared = nodes.map((n, i) => ({ n, i })).sort((a, b) => rank(a.n.kind) - rank(b.n.kind) || a.i - b.i).map((x) => x.n);

  // Names are unique across sections; the first declaration keeps the name.
  const byName = new Map<string, GraphNodeInput>();
  for (const node of declared) {
    const first = byName.get(node.name);
    if (first === undefined) {
      byName.set(node.name, node);
      continue;
    }
    issues.push({
      path: basePath(node),
      target: 'key',
      message:
        `the name "${node.name}" is already used by ${KIND_NOUN[first.kind]} ${SECTION_OF[first.kind]}.${first.name}; ` +
        'component names must be unique across sources, operators and sinks',
    });
  }
  const unique = declared.filter((n) => byName.get(n.name) === n);
  const producers = unique.filter((n) => n.kind !== 'sink').map((n) => n.name).sort();

  const inputs = new Map<string, string[]>();
  const outputs = new Map<string, string[]>();
  // For each edge (consumer <- producer), where in the consumer's inputs list it was written.
  const edgeIndex = new Map<string, Map<string, number>>();
  for (const node of unique) outputs.set(node.name, []);

  for (const node of unique) {
    const resolved: string[] = [];
    const where = new Map<string, number>();
    inputs.set(node.name, resolved);
    edgeIndex.set(node.name, where);
    if (node.kind === 'source') continue;
    const list = node.inputs;
    if (list === 'invalid') continue;
    if (list === 'missing' || list.length === 0) {
      issues.push({
        path: [...basePath(node), 'inputs'],
        target: list === 'missing' ? 'missing' : 'value',
        message:
          `${node.kind === 'sink' ? 'a sink' : 'an operator'} needs at least one input; ` +
          'add `inputs: [<name of a source or operator>]`',
      });
      continue;
    }
    list.forEach((input, i) => {
      if (input === undefined) return;
      const path = [...basePath(node), 'inputs', i];
      const earlier = list.indexOf(input);
      if (earlier !== i) {
        issues.push({
          path,
          target: 'value',
          message: `"${input}" is listed twice (also at inputs[${earlier}]); each input is read once`,
        });
        return;
      }
      const target = byName.get(input);
      if (target === undefined) {
        const hint = closest(input, producers);
        issues.push({
          path,
          target: 'value',
          message:
            `unknown input "${input}"` +
            (hint !== undefined ? `; did you mean "${hint}"?` : '') +
            (producers.length > 0 ? `; known components: ${producers.join(', ')}` : ' (there are no sources or operators)'),
        });
        return;
      }
      if (target.kind === 'sink') {
        issues.push({
          path,
          target: 'value',
          message: `input "${input}" is a sink, and sinks produce nothing to read; name a source or an operator`,
        });
        return;
      }
      if (target.emits !== undefined && node.accepts !== undefined && !node.accepts.includes(target.emits)) {
        issues.push({
          path,
          target: 'value',
          message:
            `input "${input}" emits ${target.emits}, but this ${node.kind} accepts only ${node.accepts.join(' and ')}` +
            (target.emits === 'rollups' ? '; read the raw samples from before the downsample operator instead' : ''),
        });
        // Still an edge: the producer is read, so no dead-end error follows from this one.
      }
      resolved.push(input);
      where.set(input, i);
      outputs.get(input)?.push(node.name);
    });
  }

  // Consumers in declaration order, whatever order the inputs were resolved in.
  const position = new Map(unique.map((n, i) => [n.name, i]));
  for (const list of outputs.values()) list.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));

  const cyclic = new Set<string>();
  for (const component of stronglyConnected(unique.map((n) => n.name), outputs)) {
    const self = component.length === 1 && (outputs.get(component[0]) ?? []).includes(component[0]);
    if (component.length === 1 && !self) continue;
    const members = new Set(component);
    for (const name of component) {
      cyclic.add(name);
      const cycle = shortestCycle(name, members, outputs);
      const node = byName.get(name);
      if (node === undefined) continue;
      const feeder = cycle[cycle.length - 2];
      const index = edgeIndex.get(name)?.get(feeder);
      issues.push({
        path: index === undefined ? [...basePath(node), 'inputs'] : [...basePath(node), 'inputs', index],
        target: 'value',
        message:
          `cycle: ${cycle.join(' -> ')}; data would flow around it forever. ` +
          'A component cannot read its own output, directly or through others',
      });
    }
  }

  // When some component's inputs could not be read, who reads what is unknown: say nothing.
  const readable = unique.every((n) => n.kind === 'source' || n.inputs !== 'invalid');
  for (const node of readable ? unique : []) {
    if (node.kind === 'sink' || (outputs.get(node.name) ?? []).length > 0) continue;
    issues.push({
      path: basePath(node),
      target: 'key',
      message:
        node.kind === 'source'
          ? `source "${node.name}" is not read by any operator or sink; a source nobody reads would ` +
            'acknowledge data that goes nowhere. Name it in some inputs list, or remove it'
          : `the output of operator "${node.name}" is not read by any operator or sink; its input would be ` +
            'acknowledged and the data dropped. Name it in some inputs list, or remove it',
    });
  }

  const order = cyclic.size > 0 ? [] : topologicalOrder(unique, inputs, outputs);
  return { issues, order, inputs, outputs };
}

/** Kahn's algorithm; among ready components the earliest declared (sources first) goes next. */
function topologicalOrder(
  declared: readonly GraphNodeInput[],
  inputs: ReadonlyMap<string, string[]>,
  outputs: ReadonlyMap<string, string[]>,
): string[] {
  const pending = new Map(declared.map((n) => [n.name, (inputs.get(n.name) ?? []).length]));
  const rankOf = new Map(declared.map((n, i) => [n.name, i]));
  const ready = declared.filter((n) => pending.get(n.name) === 0).map((n) => n.name);
  const order: string[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => (rankOf.get(a) ?? 0) - (rankOf.get(b) ?? 0));
    const next = ready.shift() as string;
    order.push(next);
    for (const consumer of outputs.get(next) ?? []) {
      const left = (pending.get(consumer) ?? 0) - 1;
      pending.set(consumer, left);
      if (left === 0) ready.push(consumer);
    }
  }
  return order;
}

/** Tarjan's strongly connected components over the data-flow edges. */
function stronglyConnected(names: readonly string[], edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      out.push(component.reverse());
    }
  };
  for (const name of names) if (!index.has(name)) visit(name);
  return out;
}

/** The shortest path `start -> ... -> start` within one strongly connected component. */
function shortestCycle(start: string, members: ReadonlySet<string>, edges: ReadonlyMap<string, readonly string[]>): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    for (const w of edges.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = previous.get(x) as string) path.push(x);
        path.push(start);
        // `path` runs backwards from the end: start, v, ..., start.
        return [start, ...path.slice(1, -1).reverse(), start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The candidate nearest to `word`, if one is near enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance && d <= limit && d < Math.max(word.length, candidate.length)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
