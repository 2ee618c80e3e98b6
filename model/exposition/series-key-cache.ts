import { attachTargetLabels, type Labels } from '../labels.ts';
import type { SeriesRegistry } from '../series-registry.ts';

interface Entry {
  readonly key: Uint8Array;
  readonly ref: number;
  next: Entry | undefined;
}

/**
 * Maps the raw text of a series as an exposition payload spells it (`name{a="1",b="2"}`) to its
 * ref, so a payload seen before (every scrape after the first) skips label parsing, sorting and
 * interning: one FNV-1a pass over the bytes and one byte comparison per sample.
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

  constructor(
    readonly registry: SeriesRegistry,
    readonly targetLabels: Labels = [],
    private readonly maxEntries = 1 << 20,
  ) {}

  /** The ref for `buf[start, end)`, or -1. Remembers the hash for a following `add`. */
  get(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) {
      h ^= buf[i];
      h = Math.imul(h, 0x01000193);
    }
    h >>>= 0;
    this.lastHash = h;
    const len = end - start;
    for (let e = this.table.get(h); e !== undefined; e = e.next) {
      const key = e.key;
      if (key.length !== len) continue;
      let j = 0;
      while (j < len && key[j] === buf[start + j]) j++;
      if (j === len) return e.ref;
    }
    return -1;
  }

  /**
   * Interns `exposed` (sorted, see labels.ts) with the target labels attached and remembers it
   * under `buf[start, end)`. Must follow a `get` of the same range that returned -1.
   */
  add(buf: Uint8Array, start: number, end: number, exposed: Labels): number {
    const ref = this.registry.intern(attachTargetLabels(exposed, this.targetLabels));
    if (this.entries >= this.maxEntries) this.clear();
    const h = this.lastHash;
    this.table.set(h, { key: buf.slice(start, end), ref, next: this.table.get(h) });
    this.entries++;
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
    this.table.clear();
    this.strings.clear();
    this.entries = 0;
  }
}
