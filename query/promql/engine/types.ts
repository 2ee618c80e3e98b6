import type { Labels } from '../../../model/labels.ts';
import type { Querier } from '../../../sinks/chunks/storage.ts';
import type { Expr } from '../ast.ts';

/** Where the engine reads series: the chunk store, an in-memory store in tests, the ClickHouse tier later. */
export interface Queryable {
  querier(mint: number, maxt: number): Querier;
}

export interface Sample {
  readonly labels: Labels;
  /** ms */
  readonly t: number;
  readonly v: number;
}

export interface Series {
  readonly labels: Labels;
  readonly ts: Float64Array;
  readonly values: Float64Array;
}

export type QueryValue =
  | { readonly type: 'vector'; readonly samples: readonly Sample[] }
  | { readonly type: 'matrix'; readonly series: readonly Series[] }
  | { readonly type: 'scalar'; readonly t: number; readonly v: number }
  | { readonly type: 'string'; readonly t: number; readonly v: string };

export interface QueryResult {
  readonly value: QueryValue;
  /** Annotations, as Prometheus returns them: warnings (e.g. a damaged block left out) and infos. */
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
  readonly stats: { readonly samplesLoaded: number; readonly peakSamples: number };
}

export interface EngineOptions {
  /** Default 5m. */
  readonly lookbackDeltaMs?: number;
  /** Samples a query may hold in memory at once; over it the query fails. Default 50,000,000. */
  readonly maxSamples?: number;
  /** Default 2m. */
  readonly timeoutMs?: number;
  /** Series one selector may select; over it the query fails. Default unlimited. */
  readonly maxSeries?: number;
  /** Step of a subquery without one. Default 1m. */
  readonly noStepSubqueryIntervalMs?: number;
  /** Enables limitk, limit_ratio and other functions Prometheus keeps behind a feature flag. Default true. */
  readonly experimentalFunctions?: boolean;
}

/** A query that failed on the user's account: bad input, a limit, a timeout, a many-to-many match. */
export class QueryError extends Error {
  constructor(
    readonly errorType: 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'QueryError';
  }
}

export interface InstantQuery {
  readonly expr: Expr;
  readonly timeMs: number;
}

export interface RangeQuery {
  readonly expr: Expr;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
}
