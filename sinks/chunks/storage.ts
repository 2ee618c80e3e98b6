import type { Labels } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';

/**
 * The read interface of the chunk store, the one the PromQL engine uses. Head and blocks each
 * implement `Querier`; a merging querier presents them as one. Time bounds are inclusive unix ms.
 */

/** Samples of one series, a run (usually one chunk) at a time, in timestamp order. */
export interface SampleCursor {
  /** Moves to the next run; false when there is none. The previous run's arrays may be reused. */
  next(): boolean;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  /** Valid entries of `ts` / `values` in the current run. */
  readonly length: number;
}

export interface StoredSeries {
  readonly labels: Labels;
  /** A fresh cursor over the series' samples within the querier's [mint, maxt]. */
  cursor(): SampleCursor;
}

export interface Querier {
  /** Series matching every matcher that have samples in [mint, maxt], sorted by labels (compareLabels). */
  select(matchers: readonly LabelMatcher[], mint: number, maxt: number): StoredSeries[];
  /** Sorted label names of the series matching `matchers` (all series for none). */
  labelNames(matchers: readonly LabelMatcher[], mint: number, maxt: number): string[];
  /** Sorted distinct values of `name` among the series matching `matchers`. */
  labelValues(name: string, matchers: readonly LabelMatcher[], mint: number, maxt: number): string[];
  /** Releases what the querier holds (block read references). */
  close(): void;
}
