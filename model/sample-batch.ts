import { AckHandle } from './ack.ts';
import type { MetricMetadata } from './metadata.ts';

/**
 * The unit that flows through a topology: columns of samples over typed arrays, never an object
 * per sample. `refs[i]` names a series interned in the process's `SeriesRegistry`, `ts[i]` is its
 * event time in unix milliseconds and `values[i]` its value (stale NaN included, bit-exact).
 *
 * Batches are immutable once emitted: an operator that changes samples builds a new batch (and
 * passes the same `ack` on), because fan-out hands one batch to several consumers.
 */
export interface SampleBatch {
  readonly kind: 'samples';
  readonly refs: Uint32Array;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
  readonly tenant: string;
  readonly ack: AckHandle;
  /**
   * Event-time watermark in ms as of this batch: the source promises no sample older than this
   * will follow (max event time seen minus allowed lateness); -Infinity before any data.
   */
  readonly watermark: number;
  /** Metadata announced with these samples (`# TYPE`, `# HELP`, `# UNIT`), if any. */
  readonly metadata?: readonly MetricMetadata[];
}

/**
 * Accumulates samples into growable typed-array columns. `append` is the hot path: no
 * allocation unless a column has to grow (doubling).
 */
export class BatchBuilder {
  refs: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
  length = 0;

  constructor(capacity = 1024) {
    this.refs = new Uint32Array(capacity);
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  append(ref: number, tMs: number, value: number): void {
    if (this.length === this.refs.length) this.grow();
    const i = this.length++;
    this.refs[i] = ref;
    this.ts[i] = tMs;
    this.values[i] = value;
  }

  /** Drops every sample from `length` on (an error path rolling back a partial family). */
  truncate(length: number): void {
    if (length < this.length) this.length = length;
  }

  /** Copies the columns into a right-sized batch and resets the builder for reuse. */
  finish(props: {
    tenant: string;
    ack: AckHandle;
    watermark?: number;
    metadata?: readonly MetricMetadata[];
  }): SampleBatch {
    const n = this.length;
    const batch: SampleBatch = {
      kind: 'samples',
      refs: this.refs.slice(0, n),
      ts: this.ts.slice(0, n),
      values: this.values.slice(0, n),
      length: n,
      tenant: props.tenant,
      ack: props.ack,
      watermark: props.watermark ?? -Infinity,
      ...(props.metadata && props.metadata.length > 0 ? { metadata: props.metadata } : {}),
    };
    this.length = 0;
    return batch;
  }

  private grow(): void {
    const cap = Math.max(16, this.refs.length * 2);
    const refs = new Uint32Array(cap);
    refs.set(this.refs);
    const ts = new Float64Array(cap);
    ts.set(this.ts);
    const values = new Float64Array(cap);
    values.set(this.values);
    this.refs = refs;
    this.ts = ts;
    this.values = values;
  }
}

/** Max event time in a batch, or -Infinity for an empty one. */
export function maxTimestamp(batch: Pick<SampleBatch, 'ts' | 'length'>): number {
  let max = -Infinity;
  for (let i = 0; i < batch.length; i++) if (batch.ts[i] > max) max = batch.ts[i];
  return max;
}
