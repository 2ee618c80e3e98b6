/**
 * Maps a document path (keys and indices, as zod issue paths give them) back to a 1-based
 * `line:col` in the topology file, so every error can be reported where the user has to edit.
 *
 * The rules: a bad value points at the value; an unknown key points at the key itself; a missing
 * key points at the key that names the mapping it is missing from (or the mapping itself when it
 * has no name, e.g. the top level). A path that runs past what the document holds falls back to
 * the deepest node that exists.
 */
import { isAlias, isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Document, LineCounter, Node, Pair } from 'yaml';

/** One step of a path through the document: a mapping key or a sequence index. */
export type PathSegment = string | number;
export type DocPath = readonly PathSegment[];

/** 1-based line and column. */
export interface Position {
  readonly line: number;
  readonly col: number;
}

/**
 * What a path designates: the value at the path, the key at the path's end (unknown keys,
 * duplicate keys, component names), or a key missing from the mapping at the path's parent.
 */
export type PathTarget = 'value' | 'key' | 'missing';

/** A problem found somewhere in the document, before it is given a line and column. */
export interface LocatedIssue {
  readonly path: DocPath;
  readonly target: PathTarget;
  /** The message without the key path; the compiler prefixes the path it shows. */
  readonly message: string;
  /** An exact source offset, when the issue knows one better than its path gives. */
  readonly offset?: number;
}

/** `sources.ingest.inputs[1]`; the empty path is the top level. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** The path a message names: for a missing key, the mapping it is missing from. */
export function displayPath(issue: Pick<LocatedIssue, 'path' | 'target'>): DocPath {
  return issue.target === 'missing' ? issue.path.slice(0, -1) : issue.path;
}

/** Keeps zod's `PropertyKey[]` paths to the parts a YAML document can have. */
export function toDocPath(path: readonly PropertyKey[]): PathSegment[] {
  return path.map((seg) => (typeof seg === 'symbol' ? String(seg.description) : seg));
}

interface Step {
  /** The node at this step, if the document has one. */
  readonly node: Node | undefined;
  /** The mapping pair whose value the node is, if any. */
  readonly pair: Pair | undefined;
}

export class DocumentPositions {
  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
  ) {}

  /** Line and column of a source offset. */
  at(offset: number): Position {
    const { line, col } = this.lineCounter.linePos(offset);
    // The line counter answers 0 before its first line start; the first line is line 1.
    return { line: Math.max(line, 1), col: Math.max(col, 1) };
  }

  /** Where to report an issue about `path`. */
  of(path: DocPath, target: PathTarget = 'value'): Position {
    const steps = this.walk(path);
    const found = steps.length === path.length + 1;
    if (target === 'missing') {
      // Point at whatever names the mapping the key is missing from.
      return this.naming(found ? steps.slice(0, -1) : steps);
    }
    if (!found) return this.naming(steps);
    const last = steps[steps.length - 1];
    if (target === 'key' && last.pair !== undefined) return this.keyOf(last.pair) ?? this.valueOf(last);
    return this.valueOf(last);
  }

  /** Follows the path from the document's root as far as the document holds it. */
  private walk(path: DocPath): Step[] {
    const steps: Step[] = [{ node: this.contents(), pair: undefined }];
    let node = steps[0].node;
    for (const seg of path) {
      if (node === undefined) break;
      if (isAlias(node)) node = node.resolve(this.doc) ?? undefined;
      let next: Step | undefined;
      if (isMap(node)) {
        // Later duplicates win when the document becomes data; find the last one.
        for (let i = node.items.length - 1; i >= 0; i--) {
          const pair = node.items[i];
          const key = pair.key;
          const keyValue = isScalar(key) ? key.value : key;
          if (keyValue !== null && keyValue !== undefined && String(keyValue) === String(seg)) {
            next = { node: asNode(pair.value), pair };
            break;
          }
        }
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item !== undefined) next = { node: asNode(item), pair: undefined };
      }
      if (next === undefined) break;
      steps.push(next);
      node = next.node;
    }
    return steps;
  }

  private contents(): Node | undefined {
    return asNode(this.doc.contents);
  }

  /** A mapping or value is best named by the key that holds it, else by where it starts. */
  private naming(steps: readonly Step[]): Position {
    const last = steps[steps.length - 1];
    if (last.pair !== undefined) return this.keyOf(last.pair) ?? this.valueOf(last);
    return this.valueOf(last);
  }

  private valueOf(step: Step): Position {
    const { node, pair } = step;
    const range = node?.range;
    // `key:` with nothing after it parses as an empty null scalar; the key is the place to look.
    const empty = range === undefined || range === null || (isScalar(node) && node.value === null && range[0] === range[1]);
    if (empty) {
      if (pair !== undefined) return this.keyOf(pair) ?? { line: 1, col: 1 };
      return { line: 1, col: 1 };
    }
    return this.at(range[0]);
  }

  private keyOf(pair: Pair): Position | undefined {
    const key = asNode(pair.key);
    const range = key?.range;
    return range ? this.at(range[0]) : undefined;
  }
}

function asNode(value: unknown): Node | undefined {
  return isScalar(value) || isMap(value) || isSeq(value) || isAlias(value) ? (value as Node) : undefined;
}

/** Calls `visit` for every scalar, mapping and sequence node with its path; aliases are not followed. */
export function walkDocument(
  doc: Document,
  visit: (node: Node, path: DocPath, role: 'key' | 'value') => void,
): void {
  const go = (value: unknown, path: PathSegment[]): void => {
    const node = asNode(value);
    if (node === undefined || isAlias(node)) return;
    visit(node, path, 'value');
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = asNode(pair.key);
        if (key !== undefined && !isAlias(key)) visit(key, path, 'key');
        const keyValue = isScalar(key) ? key.value : undefined;
        go(pair.value, [...path, keyValue === null || keyValue === undefined ? '' : String(keyValue)]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => go(item, [...path, i]));
    }
  };
  go(doc.contents, []);
}
