import { hashLabels, labelsEqual, type Labels } from './labels.ts';

/**
 * Interns label sets: each distinct set gets a dense numeric ref once, for the life of the
 * process. Operators work on refs and cache per-ref decisions (relabel results, limiter
 * admission, aggregation keys) in arrays indexed by ref.
 *
 * The table is keyed by `hashLabels`; a hash shared by several sets keeps a short chain that is
 * resolved by comparing the sets, so no joined key string is built per lookup.
 */
export class SeriesRegistry {
  private readonly byRef: Labels[] = [];
  /** hash -> ref, or hash -> refs when sets collide. */
  private readonly byHash = new Map<number, number | number[]>();

  /** Number of interned series; refs are 0 .. size-1. */
  get size(): number {
    return this.byRef.length;
  }

  /** The ref of `labels`, interning the set on first sight. `labels` must be sorted (see labels.ts). */
  intern(labels: Labels): number {
    const hash = hashLabels(labels);
    const slot = this.byHash.get(hash);
    if (slot === undefined) {
      const ref = this.push(labels);
      this.byHash.set(hash, ref);
      return ref;
    }
    if (typeof slot === 'number') {
      if (labelsEqual(this.byRef[slot], labels)) return slot;
      const ref = this.push(labels);
      this.byHash.set(hash, [slot, ref]);
      return ref;
    }
    for (const ref of slot) if (labelsEqual(this.byRef[ref], labels)) return ref;
    const ref = this.push(labels);
    slot.push(ref);
    return ref;
  }

  /** The ref of `labels` if interned, else -1. */
  lookup(labels: Labels): number {
    const slot = this.byHash.get(hashLabels(labels));
    if (slot === undefined) return -1;
    if (typeof slot === 'number') return labelsEqual(this.byRef[slot], labels) ? slot : -1;
    for (const ref of slot) if (labelsEqual(this.byRef[ref], labels)) return ref;
    return -1;
  }

  labels(ref: number): Labels {
    const labels = this.byRef[ref];
    if (labels === undefined) throw new RangeError(`bug: series ref ${ref} was never interned`);
    return labels;
  }

  private push(labels: Labels): number {
    const ref = this.byRef.length;
    this.byRef.push(Object.isFrozen(labels) ? labels : Object.freeze([...labels]));
    return ref;
  }
}
