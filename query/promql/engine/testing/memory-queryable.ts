import { compareLabels, labelsFromRecord, type Labels } from '../../../../model/labels.ts';
import { matchesAll, type LabelMatcher } from '../../../../model/matchers.ts';
import type { Querier, SampleCursor, SeriesSet, StoredSeries } from '../../../../sinks/chunks/storage.ts';
import type { Queryable } from '../types.ts';

/**
 * An in-memory `Queryable` for tests and conformance runs: series given as a label set plus
 * parallel arrays of timestamps (ms, ascending) and values. It behaves as the chunk store's
 * querier does: `select` returns the series matching every matcher that have at least one sample
 * in the inclusive [mint, maxt], sorted by labels, and each cursor yields only the samples in
 * that range (in runs of at most `runLength` samples, so callers exercise multi-run reads).
 * Values are copied into typed arrays, so NaN payloads (the stale marker) survive bit-exactly;
 * give values that hold stale markers as a Float64Array (a plain number[] of doubles may already
 * have canonicalised the NaN payload before it gets here).
 */
export interface MemorySeriesInput {
  readonly labels: Labels | Readonly<Record<string, string>>;
  readonly ts: ArrayLike<number>;
  readonly values: ArrayLike<number>;
}

interface StoredMemorySeries {
  readonly labels: Labels;
  readonly ts: Float64Array;
  readonly values: Float64Array;
}

export class MemoryQueryable implements Queryable {
  private readonly series: StoredMemorySeries[];
  /** Warnings every select reports (to test that the engine passes them on). */
  warnings: string[] = [];
  /** Selects served so far, for tests that check each selector is fetched once. */
  selectCount = 0;

  constructor(
    series: readonly MemorySeriesInput[] = [],
    private readonly runLength = 64,
  ) {
    this.series = [];
    for (const s of series) this.add(s);
  }

  /** Adds a series; a series with the same labels is replaced. */
  add(input: MemorySeriesInput): void {
    const labels = Array.isArray(input.labels) ? (input.labels as Labels) : labelsFromRecord(input.labels as Record<string, string>);
    if (input.ts.length !== input.values.length) throw new Error('MemoryQueryable: ts and values differ in length');
    const ts = Float64Array.from(input.ts);
    const values = new Float64Array(input.values.length);
    for (let i = 0; i < values.length; i++) values[i] = input.values[i];
    for (let i = 1; i < ts.length; i++) {
      if (!(ts[i] > ts[i - 1])) throw new Error('MemoryQueryable: timestamps must be strictly ascending');
    }
    const at = this.series.findIndex((s) => compareLabels(s.labels, labels) === 0);
    const stored = { labels, ts, values };
    if (at >= 0) this.series[at] = stored;
    else this.series.push(stored);
    this.series.sort((a, b) => compareLabels(a.labels, b.labels));
  }

  clear(): void {
    this.series.length = 0;
  }

  querier(_mint: number, _maxt: number): Querier {
    return new MemoryQuerier(this);
  }

  /** @internal */
  selectSync(matchers: readonly LabelMatcher[], mint: number, maxt: number): SeriesSet {
    this.selectCount++;
    const out: StoredSeries[] = [];
    for (const s of this.series) {
      if (!matchesAll(matchers, s.labels)) continue;
      const lo = lowerBound(s.ts, mint);
      const hi = lowerBound(s.ts, maxt + 1);
      if (hi <= lo) continue;
      out.push(new MemoryStoredSeries(s, lo, hi, this.runLength));
    }
    return { series: out, warnings: [...this.warnings] };
  }

  /** @internal */
  matching(matchers: readonly LabelMatcher[], mint: number, maxt: number): StoredMemorySeries[] {
    return this.series.filter((s) => {
      if (!matchesAll(matchers, s.labels)) return false;
      return lowerBound(s.ts, maxt + 1) > lowerBound(s.ts, mint);
    });
  }
}

class MemoryQuerier implements Querier {
  constructor(private readonly store: MemoryQueryable) {}

  async select(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<SeriesSet> {
    return this.store.selectSync(matchers, mint, maxt);
  }

  async labelNames(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]> {
    const names = new Set<string>();
    for (const s of this.store.matching(matchers, mint, maxt)) for (let i = 0; i < s.labels.length; i += 2) names.add(s.labels[i]);
    return [...names].sort();
  }

  async labelValues(name: string, matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]> {
    const values = new Set<string>();
    for (const s of this.store.matching(matchers, mint, maxt)) {
      for (let i = 0; i < s.labels.length; i += 2) if (s.labels[i] === name) values.add(s.labels[i + 1]);
    }
    return [...values].sort();
  }

  close(): void {}
}

class MemoryStoredSeries implements StoredSeries {
  constructor(
    private readonly s: StoredMemorySeries,
    private readonly lo: number,
    private readonly hi: number,
    private readonly runLength: number,
  ) {}

  get labels(): Labels {
    return this.s.labels;
  }

  cursor(): SampleCursor {
    const { s, lo, hi, runLength } = this;
    let pos = lo;
    const cursor = {
      ts: new Float64Array(0) as Float64Array<ArrayBufferLike>,
      values: new Float64Array(0) as Float64Array<ArrayBufferLike>,
      length: 0,
      next(): boolean {
        if (pos >= hi) return false;
        const end = Math.min(hi, pos + runLength);
        cursor.ts = s.ts.subarray(pos, end);
        cursor.values = s.values.subarray(pos, end);
        cursor.length = end - pos;
        pos = end;
        return true;
      },
    };
    return cursor;
  }
}

/** First index whose timestamp is >= t. */
function lowerBound(ts: Float64Array, t: number): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
