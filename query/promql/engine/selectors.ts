import type { SampleCursor } from '../../../sinks/chunks/storage.ts';
import type { Labels } from '../../../model/labels.ts';
import { isStaleNaN } from '../../../model/stale-nan.ts';
import type { Querier } from '../../../sinks/chunks/storage.ts';
import type { VectorSelector } from '../ast.ts';
import type { Annotations } from './annotations.ts';
import type { QueryLimits } from './limits.ts';
import type { SelectorRange } from './preprocess.ts';
import { QueryError } from './types.ts';

/**
 * Selector data: every selector's series are read from storage once, for the whole query
 * (`fetchSelectors`), into one pair of typed arrays per series. Instant selection and range
 * windows then binary-search those arrays at each step; nothing is allocated per sample.
 */

/** One stored series, its samples in [mint, maxt] of its selector, stale markers included. */
export interface FetchedSeries {
  readonly labels: Labels;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
}

/** Series with time-ordered points and no stale markers: what a range window reads. */
export interface PointSeries {
  readonly labels: Labels;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
  /** A subquery's series whose name is already due to be dropped (delayed name removal). */
  readonly dropName?: boolean;
}

export type SelectorData = Map<VectorSelector, FetchedSeries[]>;

export async function fetchSelectors(
  querier: Querier,
  ranges: ReadonlyMap<VectorSelector, SelectorRange>,
  maxSeries: number,
  limits: QueryLimits,
  annotations: Annotations,
): Promise<SelectorData> {
  const data: SelectorData = new Map();
  for (const [selector, range] of ranges) {
    limits.checkNow();
    let set: Awaited<ReturnType<Querier['select']>>;
    try {
      set = await querier.select(selector.matchers, range.mint, range.maxt);
    } catch (error) {
      throw new QueryError('execution', `expanding series: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    for (const w of set.warnings) annotations.warn(w);
    if (set.series.length > maxSeries) {
      throw new QueryError(
        'execution',
        `query would select ${set.series.length} series for selector ${selectorText(selector)}, over the limit of ${maxSeries} series per selector`,
      );
    }
    const series: FetchedSeries[] = [];
    for (const stored of set.series) {
      limits.check();
      series.push(readAll(stored.labels, stored.cursor()));
    }
    data.set(selector, series);
  }
  return data;
}

function readAll(labels: Labels, cursor: SampleCursor): FetchedSeries {
  if (cursor.drain) return { labels, ...cursor.drain() };
  let ts = new Float64Array(0);
  let values = new Float64Array(0);
  let length = 0;
  while (cursor.next()) {
    const n = cursor.length;
    if (n === 0) continue;
    if (length + n > ts.length) {
      const cap = Math.max(length + n, ts.length * 2);
      const nts = new Float64Array(cap);
      const nvs = new Float64Array(cap);
      nts.set(ts.subarray(0, length));
      nvs.set(values.subarray(0, length));
      ts = nts;
      values = nvs;
    }
    ts.set(cursor.ts.subarray(0, n), length);
    values.set(cursor.values.subarray(0, n), length);
    length += n;
  }
  return { labels, ts, values, length };
}

function selectorText(selector: VectorSelector): string {
  return `{${selector.matchers.map((m) => m.toString()).join(', ')}}`;
}

/** The series without their stale markers (shared arrays when a series has none). */
export function withoutStale(series: readonly PointSeries[]): PointSeries[] {
  return series.map((s) => {
    let stale = 0;
    for (let i = 0; i < s.length; i++) if (isStaleNaN(s.values[i])) stale++;
    if (stale === 0) return s;
    const n = s.length - stale;
    const ts = new Float64Array(n);
    const values = new Float64Array(n);
    let j = 0;
    for (let i = 0; i < s.length; i++) {
      if (isStaleNaN(s.values[i])) continue;
      ts[j] = s.ts[i];
      values[j] = s.values[i];
      j++;
    }
    return { labels: s.labels, ts, values, length: n, dropName: s.dropName };
  });
}

/** Index of the first point with a timestamp > t, searching [from, length). */
export function upperBound(ts: Float64Array, length: number, t: number, from = 0): number {
  let lo = from;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The index of the sample an instant selector picks at `refTime`: the latest one in
 * (refTime - lookback, refTime], or -1 when there is none or it is a stale marker.
 */
export function pickInstant(s: FetchedSeries, refTime: number, lookbackMs: number): number {
  const i = upperBound(s.ts, s.length, refTime) - 1;
  if (i < 0 || s.ts[i] <= refTime - lookbackMs) return -1;
  if (isStaleNaN(s.values[i])) return -1;
  return i;
}
