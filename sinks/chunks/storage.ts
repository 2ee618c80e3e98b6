import type { Labels } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';

/**
 * The read interface of the chunk store, the one the PromQL engine uses. The store's querier
 * presents the head and every block as one: series merged by labels, samples merged in time
 * order. Time bounds are inclusive unix ms.
 */

/** Samples of one series, a run (usually one chunk) at a time, in timestamp order. */
export interface SampleCursor {
  /** Moves to the next run; false when there is none. The previous run's arrays may be reused. */
  next(): boolean;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  /** Valid entries of `ts` / `values` in the current run. */
  readonly length: number;
  /**
   * Optional: every remaining sample as one run, in arrays the caller may keep (a reader that
   * wants a whole series at once saves the copies of gathering runs).
   */
  drain?(): { ts: Float64Array; values: Float64Array; length: number };
}

export interface StoredSeries {
  readonly labels: Labels;
  /** A fresh cursor over the series' samples within the select's [mint, maxt]. */
  cursor(): SampleCursor;
}

/** What a select found, and what it could not read (a damaged block) said as warnings. */
export interface SeriesSet {
  /** Sorted by labels (compareLabels). */
  readonly series: readonly StoredSeries[];
  readonly warnings: readonly string[];
}

export interface Querier {
  /**
   * Series matching every matcher (no matchers: every series) that have samples in [mint, maxt].
   * Chunk data is loaded before the promise resolves, so cursors decode synchronously.
   */
  select(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<SeriesSet>;
  /** Sorted label names of the series matching `matchers`. */
  labelNames(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]>;
  /** Sorted distinct values of `name` among the series matching `matchers`. */
  labelValues(name: string, matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]>;
  /** Releases what the querier holds (block read references). */
  close(): void;
}
