import { compareLabels, compareStrings, getLabel, type Labels } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';
import type { Chunk, ChunkDecoder } from './chunk.ts';
import { lowerBound, mergeSamples, type Head } from './head.ts';
import type { SampleCursor, StoredSeries } from './storage.ts';

/**
 * Reads of the head, synchronous (everything is in memory); the store's querier merges them
 * with the blocks' into a `Querier`. `select` takes a snapshot of each matching series when it is
 * called: the sealed chunks overlapping the range (immutable), a sealed copy of the open chunk
 * and a copy of the out-of-order samples in range. Appends that happen afterwards are not seen,
 * and a cursor never observes a half-written chunk.
 *
 * Cursors decode one chunk per run, merge the out-of-order samples that fall before the next
 * chunk, and trim to [mint, maxt]. A series is returned only if it has a sample in the range:
 * a chunk's first or last sample in range settles it without decoding; a range that falls
 * strictly inside one chunk (an instant query's lookback) decodes that chunk once at `select`
 * and the cursor serves the decoded samples.
 */
export class HeadQuerier {
  constructor(private readonly head: Head) {}

  select(matchers: readonly LabelMatcher[], mint: number, maxt: number): StoredSeries[] {
    const head = this.head;
    const ids = head.index.postingsForMatchers(matchers);
    const out: HeadSeries[] = [];
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      if (head.seriesMaxTime(id) < mint || head.seriesMinTime(id) > maxt) continue;
      const chunks = head.chunksInRange(id, mint, maxt);
      let { ts, values } = head.outOfOrderInRange(id, mint, maxt);
      if (chunks.length === 0 && ts.length === 0) continue;
      if (chunks.length === 1 && chunks[0].minT < mint && chunks[0].maxT > maxt) {
        // The range lies inside one chunk: decode it now to learn whether a sample falls in it.
        const c = chunks[0];
        const cts = new Float64Array(c.numSamples);
        const cvs = new Float64Array(c.numSamples);
        const n = head.decoderFor(c.encoding)(c.data, c.numSamples, cts, cvs, 0);
        const from = lowerBound(cts, n, mint);
        const to = upperBound(cts, n, maxt);
        if (to > from || ts.length > 0) {
          const mts = new Float64Array(to - from + ts.length);
          const mvs = new Float64Array(to - from + ts.length);
          const len = mergeSamples(cts.subarray(from, to), cvs.subarray(from, to), to - from, ts, values, ts.length, mts, mvs);
          ts = mts.subarray(0, len);
          values = mvs.subarray(0, len);
        }
        if (ts.length === 0) continue;
        out.push(new HeadSeries(head.labelsOf(id), [], ts, values, mint, maxt, head.decoderFor));
        continue;
      }
      out.push(new HeadSeries(head.labelsOf(id), chunks, ts, values, mint, maxt, head.decoderFor));
    }
    out.sort((a, b) => compareLabels(a.labels, b.labels));
    return out;
  }

  labelNames(matchers: readonly LabelMatcher[], mint: number, maxt: number): string[] {
    const { ids, all } = this.idsInRange(matchers, mint, maxt);
    if (all && matchers.length === 0) return this.head.index.labelNames();
    const names = new Set<string>();
    for (let k = 0; k < ids.length; k++) {
      const labels = this.head.labelsOf(ids[k]);
      for (let i = 0; i < labels.length; i += 2) names.add(labels[i]);
    }
    return [...names].sort(compareStrings);
  }

  labelValues(name: string, matchers: readonly LabelMatcher[], mint: number, maxt: number): string[] {
    const { ids, all } = this.idsInRange(matchers, mint, maxt);
    if (all && matchers.length === 0) return this.head.index.labelValues(name);
    if (all) return this.head.index.labelValuesFor(name, ids);
    const values = new Set<string>();
    for (let k = 0; k < ids.length; k++) {
      const v = getLabel(this.head.labelsOf(ids[k]), name);
      if (v !== '') values.add(v);
    }
    return [...values].sort(compareStrings);
  }

  close(): void {}

  /**
   * Ids of the series matching `matchers` (all for none; no non-empty rule for listings) whose
   * time span overlaps [mint, maxt]; `all` when the time filter removed none.
   */
  private idsInRange(matchers: readonly LabelMatcher[], mint: number, maxt: number): { ids: Uint32Array; all: boolean } {
    const head = this.head;
    const ids = head.index.postingsForMatchers(matchers);
    let n = 0;
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k];
      if (head.seriesMaxTime(id) >= mint && head.seriesMinTime(id) <= maxt) ids[n++] = id;
    }
    return { ids: ids.subarray(0, n), all: n === ids.length };
  }
}

/** First index in sorted `ts[0, len)` with `ts[i] > t`. */
function upperBound(ts: Float64Array, len: number, t: number): number {
  let lo = 0;
  let hi = len;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A series as of `select`: its chunks in range and its out-of-order samples in range. */
class HeadSeries implements StoredSeries {
  constructor(
    readonly labels: Labels,
    private readonly chunks: readonly Chunk[],
    private readonly oooTs: Float64Array,
    private readonly oooVs: Float64Array,
    private readonly mint: number,
    private readonly maxt: number,
    private readonly decoderFor: (encoding: number) => ChunkDecoder,
  ) {}

  cursor(): SampleCursor {
    return new HeadCursor(this.chunks, this.oooTs, this.oooVs, this.mint, this.maxt, this.decoderFor);
  }
}

/**
 * One run per chunk: the chunk decoded, merged with the out-of-order samples older than the next
 * chunk, trimmed to [mint, maxt]. With no chunks, the out-of-order samples form one run.
 */
class HeadCursor implements SampleCursor {
  ts: Float64Array;
  values: Float64Array;
  length = 0;
  private chunk = 0;
  private ooo = 0;
  private scratchTs: Float64Array | null = null;
  private scratchVs: Float64Array | null = null;

  constructor(
    private readonly chunks: readonly Chunk[],
    private readonly oooTs: Float64Array,
    private readonly oooVs: Float64Array,
    private readonly mint: number,
    private readonly maxt: number,
    private readonly decoderFor: (encoding: number) => ChunkDecoder,
  ) {
    let cap = 0;
    for (const c of chunks) if (c.numSamples > cap) cap = c.numSamples;
    cap += oooTs.length;
    this.ts = new Float64Array(cap);
    this.values = new Float64Array(cap);
  }

  next(): boolean {
    const chunks = this.chunks;
    const oooTs = this.oooTs;
    while (this.chunk < chunks.length) {
      const c = chunks[this.chunk++];
      const before = this.chunk < chunks.length ? chunks[this.chunk].minT : Infinity;
      const o0 = this.ooo;
      let o1 = o0;
      while (o1 < oooTs.length && oooTs[o1] < before) o1++;
      this.ooo = o1;
      const decode = this.decoderFor(c.encoding);
      let n: number;
      if (o1 === o0) {
        n = decode(c.data, c.numSamples, this.ts, this.values, 0);
      } else {
        if (this.scratchTs === null || this.scratchTs.length < c.numSamples) {
          this.scratchTs = new Float64Array(c.numSamples);
          this.scratchVs = new Float64Array(c.numSamples);
        }
        const m = decode(c.data, c.numSamples, this.scratchTs, this.scratchVs!, 0);
        n = mergeSamples(this.scratchTs, this.scratchVs!, m, oooTs.subarray(o0, o1), this.oooVs.subarray(o0, o1), o1 - o0, this.ts, this.values);
      }
      n = this.trim(n);
      if (n > 0) {
        this.length = n;
        return true;
      }
    }
    if (this.ooo < oooTs.length) {
      const n = oooTs.length - this.ooo;
      this.ts.set(oooTs.subarray(this.ooo));
      this.values.set(this.oooVs.subarray(this.ooo));
      this.ooo = oooTs.length;
      this.length = this.trim(n);
      if (this.length > 0) return true;
    }
    this.length = 0;
    return false;
  }

  /** Keeps the part of the run in [mint, maxt] at the front of the arrays; returns its length. */
  private trim(n: number): number {
    const ts = this.ts;
    if (n === 0 || (ts[0] >= this.mint && ts[n - 1] <= this.maxt)) return n;
    const from = lowerBound(ts, n, this.mint);
    const to = upperBound(ts, n, this.maxt);
    if (to <= from) return 0;
    if (from > 0) {
      ts.copyWithin(0, from, to);
      this.values.copyWithin(0, from, to);
    }
    return to - from;
  }
}
