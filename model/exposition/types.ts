import type { Labels } from '../labels.ts';
import type { MetricMetadata } from '../metadata.ts';
import type { BatchBuilder } from '../sample-batch.ts';
import type { SeriesKeyCache } from './series-key-cache.ts';

/** The payload formats sluice ingests; also the `<format>` segment of `metrics.<tenant>.<format>`. */
export const EXPOSITION_FORMATS = ['prom', 'openmetrics', 'json', 'influx'] as const;
export type ExpositionFormat = (typeof EXPOSITION_FORMATS)[number];

/** One malformed line: where, why (a stable reason for the self-metric label) and a message. */
export interface ParseError {
  /** 1-based line number within the payload. */
  readonly line: number;
  /** 1-based column (byte offset within the line + 1) where the problem was found. */
  readonly column: number;
  readonly reason: string;
  readonly message: string;
}

export interface Exemplar {
  readonly seriesRef: number;
  readonly labels: Labels;
  readonly value: number;
  /** ms, or undefined when the exemplar carried no timestamp. */
  readonly timestampMs: number | undefined;
}

export interface ParseOptions {
  /** Event time (unix ms) for samples that carry no timestamp of their own. */
  readonly defaultTimestampMs: number;
  /** OpenMetrics exemplars: parsed and returned, or skipped. */
  readonly exemplars: 'keep' | 'drop';
  /** Detailed errors kept per payload (all are counted). Default `DEFAULT_MAX_ERROR_DETAILS` (100). */
  readonly maxErrorDetails?: number;
}

/** Where a parser writes: samples into `builder`, series resolved through `series`. */
export interface ParseTarget {
  readonly builder: BatchBuilder;
  readonly series: SeriesKeyCache;
}

export interface ParseResult {
  /** Samples appended to the builder by this call. */
  readonly samples: number;
  /** Malformed lines, at most `maxErrorDetails` of them. */
  readonly errors: ParseError[];
  /** All malformed lines, including those beyond `maxErrorDetails`. */
  readonly errorCount: number;
  readonly metadata: MetricMetadata[];
  readonly exemplars: Exemplar[];
}

/**
 * A parser consumes one payload. It never throws on bad input: every malformed line becomes a
 * `ParseError` and the rest of the payload is still parsed. A throw is a bug.
 */
export type ExpositionParser = (payload: Uint8Array, options: ParseOptions, target: ParseTarget) => ParseResult;

/** Renders samples of one batch back into a format (the nats sink republishes with these). */
export interface ExpositionWriter {
  readonly contentType: string;
  write(
    samples: { refs: Uint32Array; ts: Float64Array; values: Float64Array; length: number },
    labelsOf: (ref: number) => Labels,
    metadata?: readonly MetricMetadata[],
  ): Uint8Array;
}
