import type { Logger } from 'pino';
import type { MetricMetadata } from '../../model/metadata.ts';
import type { Expr } from '../promql/ast.ts';
import type { Queryable, QueryResult } from '../promql/engine/types.ts';
import type { Form } from './form.ts';
import type { ResolutionChoice } from '../sql/resolution.ts';

/** What the API needs of a PromQL engine (query/promql/engine/engine.ts's Engine has this shape). */
export interface QueryEngine {
  instantQuery(queryable: Queryable, expr: Expr, timeMs: number, signal?: AbortSignal): Promise<QueryResult> | QueryResult;
  rangeQuery(
    queryable: Queryable,
    expr: Expr,
    startMs: number,
    endMs: number,
    stepMs: number,
    signal?: AbortSignal,
  ): Promise<QueryResult> | QueryResult;
}

/** `/api/v1/status/buildinfo`, with Prometheus's field names. */
export interface BuildInfo {
  readonly version: string;
  readonly revision: string;
  readonly branch: string;
  readonly buildUser: string;
  readonly buildDate: string;
  /** Prometheus reports its Go version; sluice reports the Node.js version here. */
  readonly goVersion: string;
}

/** What a request may ask of the engine beyond the server's defaults. */
export interface EngineRequestOptions {
  readonly lookbackDeltaMs?: number;
  readonly timeoutMs?: number;
  /** The ClickHouse tier's table (`resolution` parameter): raw, a rollup resolution, or auto. */
  readonly resolution?: ResolutionChoice;
}

export interface ApiDeps {
  readonly engine: QueryEngine;
  readonly queryable: Queryable;
  /** Metadata of one metric family, or of every family. */
  readonly metadata: (metric?: string) => readonly MetricMetadata[];
  readonly buildInfo: BuildInfo;
  /** The lookback delta `engine` was built with (default 5m); a query's `lookback_delta` that differs needs `engineFor`. */
  readonly lookbackDeltaMs?: number;
  /**
   * An engine like `engine` but with a request's `lookback_delta` and/or `timeout` (the engine's
   * timeout should stay the smaller of the two). Without it `lookback_delta` is refused and a
   * `timeout` is enforced through the abort signal only.
   */
  readonly engineFor?: (options: EngineRequestOptions) => QueryEngine;
  readonly logger: Logger;
  /** Origins allowed by CORS; default any (`*`), as Prometheus's `--web.cors.origin=.*`. */
  readonly corsOrigin?: RegExp;
  /** The clock for a query without `time`; default Date.now. */
  readonly now?: () => number;
}

/** One API request, its parameters read. */
export interface ApiRequest {
  readonly form: Form;
  /** Path parameters (`name` of /label/<name>/values), URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/** What an endpoint answers: data with annotations, or nothing (HTTP 204). Errors are thrown as ApiError. */
export type ApiReply = { readonly data: unknown; readonly warnings?: readonly string[]; readonly infos?: readonly string[] } | null;

export type Endpoint = (req: ApiRequest, deps: ApiDeps) => Promise<ApiReply>;
