import { attachTargetLabels, type Labels } from '../labels.ts';
import type { SeriesRegistry } from '../series-registry.ts';

interface Entry {
  readonly key: Uint8Array;
  readonly ref: number;
  /** The next entry with the same hash. */
  chain: Entry | undefined;
  /** The entry that followed this one in the last payload that had both. */
  successor: Entry | undefined;
}

/**
 * Maps the raw text of a series as an exposition payload spells it (`name{a="1",b="2"}`) to its
 * ref, so a payload seen before (every scrape after the first) skips label parsing, sorting and
 * interning: one hash pass over the bytes and one comparison per sample.
 *
 * Payloads from one target repeat their series in the same order, so the cache also remembers
 * which key followed which: `matchExpected` compares the bytes at the parser's position with the
 * key predicted to come next, which needs no scan for the key's end and no hash at all. Parsers
 * call `beginPayload` first, then `matchExpected` before falling back to `get`.
 *
 * The same label set spelled differently (label order, spacing) just gets a second entry that
 * points at the same ref; the registry stays the single source of identity. One cache serves one
 * set of target labels (they are part of what a key resolves to). It is cleared when it holds
 * `maxEntries` keys so series churn cannot grow it without bound.
 */
export class SeriesKeyCache {
  private readonly table = new Map<number, Entry>();
  private readonly strings = new Map<string, number>();
  private entries = 0;
  private lastHash = 0;
  /** The entry matched last in the current payload, and the one predicted to follow it. */
  private previous: Entry | undefined;
  private expected: Entry | undefined;
  private first: Entry | undefined;
  /** Where the key `matchExpected` matched ends (exclusive). */
  matchedEnd = 0;

  constructor(
    readonly registry: SeriesRegistry,
    readonly targetLabels: Labels = [],
    private readonly maxEntries = 1 << 20,
  ) {}

  /** Starts a payload: the first key expected is the one the previous payload started with. */
  beginPayload(): void {
    this.previous = undefined;
    this.expected = this.first;
  }

  /**
   * The ref of the predicted next key if `buf` holds exactly that key at `pos`, followed by a
   * space or tab, else -1. On a match `matchedEnd` is where the key ends.
   */
  matchExpected(buf: Uint8Array, pos: number, len: number): number {
    const e = this.expected;
    if (e === undefined) return -1;
    const key = e.key;
    const n = key.length;
    const end = pos + n;
    if (end >= len) return -1;
    const after = buf[end];
    if (after !== 0x20 && after !== 0x09) return -1;
    for (let j = 0; j < n; j++) if (key[j] !== buf[pos + j]) return -1;
    this.matchedEnd = end;
    this.follow(e);
    return e.ref;
  }

  /** The ref for `buf[start, end)`, or -1. Remembers the hash for a following `add`. */
  get(buf: Uint8Array, start: number, end: number): number {
    // Hot path (once per sample): hash and compare four bytes per step. Keys are series
    // spellings of 20-200 bytes, so the word loop carries nearly all of the work.
    const len = end - start;
    const words = end - ((len & 3) as number);
    let h = 0x811c9dc5 ^ len;
    let i = start;
    for (; i < words; i += 4) {
      h = Math.imul(h ^ (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)), 0x01000193);
      h ^= h >>> 15;
    }
    for (; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    h >>>= 0;
    this.lastHash = h;
    for (let e = this.table.get(h); e !== undefined; e = e.chain) {
      const key = e.key;
      if (key.length !== len) continue;
      let j = 0;
      while (j < len && key[j] === buf[start + j]) j++;
      if (j === len) {
        this.follow(e);
        return e.ref;
      }
    }
    return -1;
  }

  /** Records `e` as matched: it follows the previous match, and its successor is expected next. */
  private follow(e: Entry): void {
    const previous = this.previous;
    if (previous === undefined) this.first = e;
    else if (previous !== e) previous.successor = e; // a line re-read after a failed fast path repeats e
    this.previous = e;
    this.expected = e.successor;
  }

  /**
   * Interns `exposed` (sorted, see labels.ts) with the target labels attached and remembers it
   * under `buf[start, end)`. Must follow a `get` of the same range that returned -1.
   */
  add(buf: Uint8Array, start: number, end: number, exposed: Labels): number {
    const ref = this.registry.intern(attachTargetLabels(exposed, this.targetLabels));
    if (this.entries >= this.maxEntries) this.clear();
    const h = this.lastHash;
    const entry: Entry = { key: buf.slice(start, end), ref, chain: this.table.get(h), successor: undefined };
    this.table.set(h, entry);
    this.entries++;
    this.follow(entry);
    return ref;
  }

  /** String-keyed variant for formats whose parsers already hold the key as a string (JSON). */
  getString(key: string): number {
    return this.strings.get(key) ?? -1;
  }

  addString(key: string, exposed: Labels): number {
    const ref = this.registry.intern(attachTargetLabels(exposed, this.targetLabels));
    if (this.entries >= this.maxEntries) this.clear();
    this.strings.set(key, ref);
    this.entries++;
    return ref;
  }

  clear(): void {
    this.previous = this.expected = this.first = undefined;
    this.table.clear();
    this.strings.clear();
    this.entries = 0;
  }
}
