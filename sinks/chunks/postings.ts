import { compareStrings, type Labels } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';

/**
 * The label index of the chunk store: label name -> label value -> postings, the sorted list of
 * ids of the series that carry that pair, plus the list of every id ("all postings"). Series ids
 * are plain uint32s chosen by the owner (the head's dense ids, a block's series numbers); the
 * index knows nothing else about the series, so the head and on-disk blocks share it.
 *
 * Selection follows Prometheus's semantics (its `PostingsForMatchers`):
 * - an absent label has the empty value, so a matcher that accepts "" also selects series
 *   without the label (`{a=""}`, `{a!="x"}`, `{a=~"x|"}`, `{a=~".*"}`);
 * - matchers that must see the label set (they reject "") intersect the postings of the values
 *   they accept; the others subtract the postings of the values they reject, from the
 *   intersection or, when nothing intersects, from all postings;
 * - a matcher is evaluated once per distinct value of its label, never per series; literal and
 *   literal-alternation regexes (`=~"a|b"`) look their values up directly.
 *
 * Postings lists are `Uint32Array`s; set operations write into caller-provided buffers and
 * intersect by galloping (exponential search) when one side is much shorter than the other.
 */

/** A selector whose every matcher accepts the empty string would select every series. */
export class EmptySelectorError extends Error {
  override readonly name = 'EmptySelectorError';

  constructor(readonly matchers: readonly LabelMatcher[]) {
    super(
      matchers.length === 0
        ? 'a series selector needs at least one matcher'
        : `series selector {${matchers.join(', ')}} must contain at least one matcher that does not match the empty string`,
    );
  }
}

const EMPTY = new Uint32Array(0);

/** Below this size ratio a linear merge beats galloping. */
const GALLOP_RATIO = 16;

/**
 * The first index `i` in `[from, a.length)` with `a[i] >= target` (a.length when none), found by
 * doubling steps from `from` and then bisecting: cheap when the answer is near `from`.
 */
export function gallop(a: Uint32Array, from: number, target: number): number {
  const n = a.length;
  if (from >= n || a[from] >= target) return from;
  let lo = from;
  let step = 1;
  let hi = from + 1;
  while (hi < n && a[hi] < target) {
    lo = hi;
    step <<= 1;
    hi = from + step;
  }
  if (hi > n) hi = n;
  // a[lo] < target, and a[hi] >= target or hi === n
  lo++;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Writes the intersection of sorted `a` and `b` into `out` and returns its length. `out` needs
 * room for min(a.length, b.length) and may be `a` or `b` itself (writes never pass reads).
 */
export function intersectSorted(a: Uint32Array, b: Uint32Array, out: Uint32Array): number {
  let small = a;
  let large = b;
  if (small.length > large.length) {
    small = b;
    large = a;
  }
  const ns = small.length;
  const nl = large.length;
  let k = 0;
  if (ns === 0) return 0;
  if (nl >= ns * GALLOP_RATIO) {
    let j = 0;
    for (let i = 0; i < ns; i++) {
      const x = small[i];
      j = gallop(large, j, x);
      if (j >= nl) break;
      if (large[j] === x) out[k++] = x;
    }
    return k;
  }
  let i = 0;
  let j = 0;
  while (i < ns && j < nl) {
    const x = small[i];
    const y = large[j];
    if (x < y) i++;
    else if (x > y) j++;
    else {
      out[k++] = x;
      i++;
      j++;
    }
  }
  return k;
}

/** Whether sorted `a` and `b` share an element. */
export function intersects(a: Uint32Array, b: Uint32Array): boolean {
  let small = a;
  let large = b;
  if (small.length > large.length) {
    small = b;
    large = a;
  }
  const ns = small.length;
  const nl = large.length;
  if (ns === 0 || small[0] > large[nl - 1] || large[0] > small[ns - 1]) return false;
  let j = 0;
  for (let i = 0; i < ns; i++) {
    const x = small[i];
    j = gallop(large, j, x);
    if (j >= nl) return false;
    if (large[j] === x) return true;
  }
  return false;
}

/**
 * Writes the elements of sorted `a` that are not in sorted `b` into `out`, returns the count.
 * `out` needs room for a.length and may be `a` itself.
 */
export function subtractSorted(a: Uint32Array, b: Uint32Array, out: Uint32Array): number {
  const na = a.length;
  const nb = b.length;
  let k = 0;
  let j = 0;
  const galloping = nb >= na * GALLOP_RATIO;
  for (let i = 0; i < na; i++) {
    const x = a[i];
    if (galloping) j = gallop(b, j, x);
    else while (j < nb && b[j] < x) j++;
    if (j < nb && b[j] === x) continue;
    out[k++] = x;
  }
  return k;
}

/**
 * Writes the union of sorted `a` and `b` (duplicates once) into `out`, returns the count. `out`
 * needs room for a.length + b.length and must not alias either input.
 */
export function unionSorted(a: Uint32Array, b: Uint32Array, out: Uint32Array): number {
  const na = a.length;
  const nb = b.length;
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < na && j < nb) {
    const x = a[i];
    const y = b[j];
    if (x < y) {
      out[k++] = x;
      i++;
    } else if (x > y) {
      out[k++] = y;
      j++;
    } else {
      out[k++] = x;
      i++;
      j++;
    }
  }
  while (i < na) out[k++] = a[i++];
  while (j < nb) out[k++] = b[j++];
  return k;
}

/** Intersection of several sorted lists, smallest first; a fresh array, the inputs untouched. */
export function intersectMany(lists: readonly Uint32Array[]): Uint32Array {
  if (lists.length === 0) return EMPTY;
  const sorted = [...lists].sort((x, y) => x.length - y.length);
  let acc = sorted[0].slice();
  for (let i = 1; i < sorted.length && acc.length > 0; i++) {
    acc = acc.subarray(0, intersectSorted(acc, sorted[i], acc));
  }
  return acc;
}

/**
 * Union of several sorted lists. When the lists are known to be disjoint (the values of one label
 * name never share a series) they are concatenated and sorted; otherwise merged pairwise.
 */
export function unionMany(lists: readonly Uint32Array[], disjoint: boolean): Uint32Array {
  if (lists.length === 0) return EMPTY;
  if (lists.length === 1) return lists[0];
  let total = 0;
  for (const l of lists) total += l.length;
  if (disjoint) {
    const out = new Uint32Array(total);
    let k = 0;
    for (const l of lists) {
      out.set(l, k);
      k += l.length;
    }
    return out.sort();
  }
  // Merge pairwise between two buffers of the total size.
  let acc = new Uint32Array(total);
  let spare = new Uint32Array(total);
  acc.set(lists[0]);
  let n = lists[0].length;
  for (let i = 1; i < lists.length; i++) {
    const m = unionSorted(acc.subarray(0, n), lists[i], spare);
    const t = acc;
    acc = spare;
    spare = t;
    n = m;
  }
  return acc.subarray(0, n);
}

/** A growable sorted list of ids. */
class PostingList {
  ids: Uint32Array;
  length = 0;

  constructor(capacity = 4) {
    this.ids = new Uint32Array(capacity);
  }

  /** A list over already sorted, distinct ids (taken over, not copied). */
  static of(sorted: Uint32Array): PostingList {
    const list = new PostingList(0);
    list.ids = sorted;
    list.length = sorted.length;
    return list;
  }

  /** Adds `id` at its sorted place (the end, for ids handed out in increasing order). */
  add(id: number): void {
    if (this.length === this.ids.length) {
      const grown = new Uint32Array(this.ids.length * 2);
      grown.set(this.ids);
      this.ids = grown;
    }
    let at = this.length;
    if (at > 0 && this.ids[at - 1] >= id) {
      at = gallop(this.view(), 0, id);
      if (this.ids[at] === id) return;
      this.ids.copyWithin(at + 1, at, this.length);
    }
    this.ids[at] = id;
    this.length++;
  }

  /** Removes every id of sorted `removed`. */
  subtract(removed: Uint32Array): void {
    this.length = subtractSorted(this.view(), removed, this.ids);
    if (this.length < this.ids.length >>> 2 && this.ids.length > 16) this.ids = this.ids.slice(0, Math.max(4, this.length * 2));
  }

  /** The live part; a view that later adds may invalidate. */
  view(): Uint32Array {
    return this.ids.subarray(0, this.length);
  }
}

class NameEntry {
  readonly values = new Map<string, PostingList>();
  sortedValues: string[] | null = null;
}

export interface PostingsStats {
  /** Distinct label names. */
  readonly names: number;
  /** Distinct name/value pairs. */
  readonly pairs: number;
  /** Total postings entries over all pairs. */
  readonly entries: number;
  /** Approximate bytes held: postings arrays plus a per-pair overhead estimate. */
  readonly bytes: number;
}

/** Approximate per-pair cost: the map entry, the list object, the typed array header. */
const PAIR_OVERHEAD_BYTES = 160;

export class PostingsIndex {
  private readonly names = new Map<string, NameEntry>();
  private sortedNames: string[] | null = null;
  private readonly allList = new PostingList(64);

  /**
   * An index over ids 0 .. seriesCount-1 from postings read off disk (a block's index), without
   * re-adding every series: each list must be sorted and hold only ids below `seriesCount`.
   */
  static fromPostings(postings: ReadonlyMap<string, ReadonlyMap<string, Uint32Array>>, seriesCount: number): PostingsIndex {
    const index = new PostingsIndex();
    for (const [name, byValue] of postings) {
      const entry = new NameEntry();
      for (const [value, ids] of byValue) entry.values.set(value, PostingList.of(ids));
      index.names.set(name, entry);
    }
    const all = new Uint32Array(seriesCount);
    for (let i = 0; i < seriesCount; i++) all[i] = i;
    index.allList.ids = all;
    index.allList.length = seriesCount;
    return index;
  }

  /** Number of series indexed. */
  get seriesCount(): number {
    return this.allList.length;
  }

  /** Indexes series `id` under each of its label pairs. */
  add(id: number, labels: Labels): void {
    this.allList.add(id);
    for (let i = 0; i < labels.length; i += 2) {
      const name = labels[i];
      let entry = this.names.get(name);
      if (entry === undefined) {
        entry = new NameEntry();
        this.names.set(name, entry);
        this.sortedNames = null;
      }
      let list = entry.values.get(labels[i + 1]);
      if (list === undefined) {
        list = new PostingList();
        entry.values.set(labels[i + 1], list);
        entry.sortedValues = null;
      }
      list.add(id);
    }
  }

  /**
   * Removes the series of sorted `ids`; `labelsOf` gives each one's labels (the index does not
   * keep them). Each touched list is rewritten once, whatever the number of ids.
   */
  remove(ids: Uint32Array, labelsOf: (id: number) => Labels): void {
    if (ids.length === 0) return;
    const touched = new Set<PostingList>();
    for (let k = 0; k < ids.length; k++) {
      const labels = labelsOf(ids[k]);
      for (let i = 0; i < labels.length; i += 2) {
        const list = this.names.get(labels[i])?.values.get(labels[i + 1]);
        if (list !== undefined) touched.add(list);
      }
    }
    for (const list of touched) list.subtract(ids);
    this.allList.subtract(ids);
    for (let k = 0; k < ids.length; k++) {
      const labels = labelsOf(ids[k]);
      for (let i = 0; i < labels.length; i += 2) {
        const entry = this.names.get(labels[i]);
        if (entry === undefined) continue;
        const list = entry.values.get(labels[i + 1]);
        if (list !== undefined && list.length === 0) {
          entry.values.delete(labels[i + 1]);
          entry.sortedValues = null;
          if (entry.values.size === 0) {
            this.names.delete(labels[i]);
            this.sortedNames = null;
          }
        }
      }
    }
  }

  /** The postings of one pair: a read-only view, valid until the index changes. */
  postings(name: string, value: string): Uint32Array {
    return this.names.get(name)?.values.get(value)?.view() ?? EMPTY;
  }

  /** Every indexed id: a read-only view, valid until the index changes. */
  allPostings(): Uint32Array {
    return this.allList.view();
  }

  /**
   * Sorted ids of the series matching every matcher. Throws `EmptySelectorError` unless some
   * matcher rejects the empty string (PromQL's rule: a selector may not select everything).
   * The result is a fresh array the caller owns.
   */
  select(matchers: readonly LabelMatcher[]): Uint32Array {
    let anyNonEmpty = false;
    for (const m of matchers) if (!m.matchesEmpty) anyNonEmpty = true;
    if (!anyNonEmpty) throw new EmptySelectorError(matchers);
    return this.postingsForMatchers(matchers);
  }

  /**
   * Sorted ids of the series matching every matcher, without `select`'s non-empty rule: matchers
   * that all accept "" start from all postings; no matchers select every series. A fresh array.
   */
  postingsForMatchers(matchers: readonly LabelMatcher[]): Uint32Array {
    if (matchers.length === 0) return this.allList.view().slice();
    // Names some matcher requires to be present (it rejects the empty value).
    const mustBeSet = new Set<string>();
    for (const m of matchers) if (!m.matchesEmpty) mustBeSet.add(m.name);

    const intersect: Uint32Array[] = [];
    const subtract: Uint32Array[] = [];
    for (const m of matchers) {
      if (m.op === '=~' && m.value === '.*') continue; // accepts every value and absence
      if (m.op === '!~' && m.value === '.*') return EMPTY.slice();
      const negative = m.op === '!=' || m.op === '!~';
      if (mustBeSet.has(m.name) && !(negative && m.matchesEmpty)) {
        // The label must be present with an accepted value: intersect.
        const p = this.valuesWhere(m, true);
        if (p.length === 0) return EMPTY.slice();
        intersect.push(p);
      } else {
        // Accepts absence (or another matcher already demands presence): remove the series
        // whose value the matcher rejects.
        const p = this.valuesWhere(m, false);
        if (p.length > 0) subtract.push(p);
      }
    }
    let result = intersect.length > 0 ? intersectMany(intersect) : this.allList.view().slice();
    for (const p of subtract) {
      if (result.length === 0) break;
      result = result.subarray(0, subtractSorted(result, p, result));
    }
    return result;
  }

  /**
   * The union of the postings of the values of `m.name` (the present ones, never "") for which
   * `m.matchesValue(value) === want`. Each distinct value is tested once; equality and literal
   * sets are looked up.
   */
  private valuesWhere(m: LabelMatcher, want: boolean): Uint32Array {
    const entry = this.names.get(m.name);
    if (entry === undefined) return EMPTY;
    const values = entry.values;
    const lookup = (m.op === '=' && want) || (m.op === '!=' && !want);
    if (lookup) return values.get(m.value)?.view() ?? EMPTY;
    const literals = m.regex?.literals ?? null;
    const lists: Uint32Array[] = [];
    if (literals !== null && ((m.op === '=~' && want) || (m.op === '!~' && !want))) {
      for (const v of literals) {
        const l = values.get(v);
        if (l !== undefined) lists.push(l.view());
      }
    } else {
      for (const [v, l] of values) if (m.matchesValue(v) === want) lists.push(l.view());
    }
    return unionMany(lists, true);
  }

  /** Sorted label names of the series matching `matchers` (every name for none). */
  labelNames(matchers: readonly LabelMatcher[] = []): string[] {
    if (matchers.length === 0) return [...this.allNamesSorted()];
    return this.labelNamesFor(this.postingsForMatchers(matchers));
  }

  /** Sorted label names carried by at least one of the series of sorted `ids`. */
  labelNamesFor(ids: Uint32Array): string[] {
    const out: string[] = [];
    if (ids.length === 0) return out;
    for (const name of this.allNamesSorted()) {
      for (const list of this.names.get(name)!.values.values()) {
        if (intersects(list.view(), ids)) {
          out.push(name);
          break;
        }
      }
    }
    return out;
  }

  /** Sorted values of `name` among the series matching `matchers` (all its values for none). */
  labelValues(name: string, matchers: readonly LabelMatcher[] = []): string[] {
    if (matchers.length === 0) return [...this.valuesSorted(name)];
    return this.labelValuesFor(name, this.postingsForMatchers(matchers));
  }

  /** Sorted values of `name` carried by at least one of the series of sorted `ids`. */
  labelValuesFor(name: string, ids: Uint32Array): string[] {
    const entry = this.names.get(name);
    const out: string[] = [];
    if (entry === undefined || ids.length === 0) return out;
    for (const v of this.valuesSorted(name)) if (intersects(entry.values.get(v)!.view(), ids)) out.push(v);
    return out;
  }

  stats(): PostingsStats {
    let pairs = 0;
    let entries = 0;
    let bytes = this.allList.ids.byteLength;
    for (const entry of this.names.values()) {
      for (const [v, list] of entry.values) {
        pairs++;
        entries += list.length;
        bytes += list.ids.byteLength + PAIR_OVERHEAD_BYTES + 2 * v.length;
      }
    }
    return { names: this.names.size, pairs, entries, bytes };
  }

  private allNamesSorted(): readonly string[] {
    if (this.sortedNames === null) this.sortedNames = [...this.names.keys()].sort(compareStrings);
    return this.sortedNames;
  }

  private valuesSorted(name: string): readonly string[] {
    const entry = this.names.get(name);
    if (entry === undefined) return [];
    if (entry.sortedValues === null) entry.sortedValues = [...entry.values.keys()].sort(compareStrings);
    return entry.sortedValues;
  }
}
