import type { AckHandle } from './ack.ts';

/**
 * The aggregates of one series over one event-time window, as the ClickHouse tier stores them
 * (after Thanos's downsampling aggregates): enough to answer `*_over_time` (count, sum, min,
 * max) and, through the reset-corrected counter and the window's first and last raw samples,
 * `rate` / `increase` across windows without the raw data.
 */
export interface Rollup {
  readonly ref: number;
  /** Window start, unix ms (inclusive); the window is [start, start + resolution). */
  readonly start: number;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
  /**
   * The counter's value at the window's last sample with every reset since the series' first
   * sample folded in (a drop in value is a reset: the new value counts from zero).
   */
  readonly counter: number;
  readonly firstT: number;
  readonly firstV: number;
  readonly lastT: number;
  readonly lastV: number;
}

/**
 * What a downsample operator emits: the closed windows of one resolution. One object per
 * (series, window) is fine here: a window holds many raw samples, so rollups are few.
 * `refs` name series in the process's SeriesRegistry, as in a SampleBatch.
 */
export interface RollupBatch {
  readonly kind: 'rollups';
  readonly resolutionMs: number;
  readonly rollups: readonly Rollup[];
  /** `rollups.length`: what self-metrics count for this batch. */
  readonly length: number;
  readonly tenant: string;
  readonly ack: AckHandle;
  /** Event-time watermark in ms as of this batch (see SampleBatch.watermark). */
  readonly watermark: number;
}
