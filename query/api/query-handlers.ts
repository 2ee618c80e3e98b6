import type { Expr } from '../promql/ast.ts';
import { QueryError, type QueryResult } from '../promql/engine/types.ts';
import { parseExpr, printExpr, PromQLParseError, type QueryDurations } from '../promql/parser/index.ts';
import { durationParam, goQuote, invalidParam, rangeParams, timeParam } from './params.ts';
import { ApiError, RawJson, queryValueJson } from './responses.ts';
import type { ApiDeps, ApiReply, ApiRequest, EngineRequestOptions, QueryEngine } from './types.ts';
import type { ResolutionChoice } from '../sql/resolution.ts';

/** Values of the `resolution` parameter: the ClickHouse tier's table for the part of a query it answers. */
const RESOLUTIONS = ['auto', 'raw', '5m', '1h'] as const;

/**
 * `/api/v1/query`, `/api/v1/query_range` and `/api/v1/format_query`. Parameters are checked in
 * Prometheus's order (times, step, timeout, lookback_delta, then the query), so the first
 * problem reported is the one Prometheus would report.
 */

export async function queryHandler(req: ApiRequest, deps: ApiDeps): Promise<ApiReply> {
  const { form } = req;
  const timeMs = timeParam('time', form.get('time'), Math.floor((deps.now ?? Date.now)()));
  const timeoutMs = timeoutParam(form.get('timeout'));
  const engine = engineFor(form.get('lookback_delta'), timeoutMs, form.get('resolution'), deps);
  const expr = parseQuery(form.get('query'), { stepMs: 0, rangeMs: 0 });
  const started = performance.now();
  const result = await execute(req.signal, timeoutMs, (signal) => engine.instantQuery(deps.queryable, expr, timeMs, signal));
  return queryReply(result, form.get('stats'), performance.now() - started);
}

export async function queryRangeHandler(req: ApiRequest, deps: ApiDeps): Promise<ApiReply> {
  const { form } = req;
  const { startMs, endMs, stepMs } = rangeParams(form.get('start'), form.get('end'), form.get('step'));
  const timeoutMs = timeoutParam(form.get('timeout'));
  const engine = engineFor(form.get('lookback_delta'), timeoutMs, form.get('resolution'), deps);
  const expr = parseQuery(form.get('query'), { stepMs, rangeMs: endMs - startMs });
  // The engine steps in whole milliseconds; a step under 1ms (accepted above, as Prometheus does) becomes 1ms.
  const step = Math.max(1, Math.floor(stepMs));
  const started = performance.now();
  const result = await execute(req.signal, timeoutMs, (signal) =>
    engine.rangeQuery(deps.queryable, expr, startMs, endMs, step, signal),
  );
  return queryReply(result, form.get('stats'), performance.now() - started);
}

/** `/api/v1/format_query`: the query as the printer writes it. */
export async function formatQueryHandler(req: ApiRequest): Promise<ApiReply> {
  return { data: printExpr(parseQuery(req.form.get('query'))) };
}

/** `durations`: the query's step and range, which step() and range() in duration expressions stand for (an instant query's are 0). */
function parseQuery(text: string, durations?: QueryDurations): Expr {
  try {
    return parseExpr(text, durations ? { queryDurations: durations } : {});
  } catch (error) {
    if (error instanceof PromQLParseError) throw invalidParam('query', error);
    throw error;
  }
}

function timeoutParam(text: string): number | undefined {
  return text === '' ? undefined : durationParam('timeout', text);
}

/**
 * The engine for a request: the shared one, or one built for its `lookback_delta` or `timeout`
 * (so that the engine's own deadline checks enforce the timeout even inside a long synchronous
 * stretch of evaluation; the signal covers the rest).
 */
function engineFor(lookback: string, timeoutMs: number | undefined, resolution: string, deps: ApiDeps): QueryEngine {
  const options: { -readonly [K in keyof EngineRequestOptions]: EngineRequestOptions[K] } = {};
  if (resolution !== '') {
    if (!(RESOLUTIONS as readonly string[]).includes(resolution)) {
      throw new ApiError('bad_data', `invalid parameter "resolution": ${goQuote(resolution)} is not one of ${RESOLUTIONS.join(', ')}`);
    }
    if (!deps.engineFor) throw new ApiError('bad_data', 'the resolution parameter is not supported by this server');
    options.resolution = resolution as ResolutionChoice;
  }
  if (lookback !== '') {
    let ms: number;
    try {
      ms = durationParam('lookback_delta', lookback);
    } catch (error) {
      const cause = (error as ApiError).cause as Error;
      throw new ApiError('bad_data', `error parsing lookback delta duration: ${cause.message}`, { cause });
    }
    // Prometheus: zero or less means the engine's default.
    if (ms > 0 && ms !== (deps.lookbackDeltaMs ?? 300_000)) {
      if (!deps.engineFor) throw new ApiError('bad_data', 'the lookback_delta parameter is not supported by this server');
      options.lookbackDeltaMs = ms;
    }
  }
  if (timeoutMs !== undefined && timeoutMs > 0 && deps.engineFor) options.timeoutMs = timeoutMs;
  if (options.lookbackDeltaMs === undefined && options.timeoutMs === undefined && options.resolution === undefined) return deps.engine;
  return deps.engineFor!(options);
}

const TIMED_OUT = 'query timed out in expression evaluation';

/**
 * Runs a query under the client's signal and the request's `timeout`. The answer comes as soon
 * as either fires even if the engine has not looked at its signal yet; the engine stops at its
 * next check.
 */
async function execute(
  clientSignal: AbortSignal,
  timeoutMs: number | undefined,
  run: (signal: AbortSignal) => Promise<QueryResult> | QueryResult,
): Promise<QueryResult> {
  const controller = new AbortController();
  let timedOut = false;
  const onClientAbort = () => controller.abort(new QueryError('canceled', 'query was canceled in expression evaluation'));
  clientSignal.addEventListener('abort', onClientAbort);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          controller.abort(new QueryError('timeout', TIMED_OUT));
        }, Math.max(0, timeoutMs));
  const aborted = new Promise<never>((_, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error));
  });
  aborted.catch(() => {});
  try {
    const running = Promise.resolve().then(() => run(controller.signal));
    running.catch(() => {});
    return await Promise.race([running, aborted]);
  } catch (error) {
    // The engine reports an abort as canceled; the abort was the request's timeout.
    if (timedOut) throw new QueryError('timeout', TIMED_OUT, { cause: error });
    throw error;
  } finally {
    if (timer) clearTimeout(timer);
    clientSignal.removeEventListener('abort', onClientAbort);
  }
}

function queryReply(result: QueryResult, stats: string, elapsedMs: number): ApiReply {
  const data: Record<string, unknown> = {
    resultType: result.value.type,
    result: new RawJson(queryValueJson(result.value)),
  };
  if (stats !== '') {
    const seconds = elapsedMs / 1000;
    // Prometheus's stats shape; sluice times the whole evaluation only.
    data.stats = {
      timings: {
        evalTotalTime: seconds,
        resultSortTime: 0,
        queryPreparationTime: 0,
        innerEvalTime: seconds,
        execQueueTime: 0,
        execTotalTime: seconds,
      },
      samples: { totalQueryableSamples: result.stats.samplesLoaded, peakSamples: result.stats.peakSamples },
    };
  }
  return { data, warnings: result.warnings, infos: result.infos };
}
