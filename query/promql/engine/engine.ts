import type { Expr, ValueType } from '../ast.ts';
import { lookupFunction } from '../functions.ts';
import { Annotations } from './annotations.ts';
import { Evaluator, type EvalContext } from './evaluator.ts';
import { exprType as valueType } from '../parser/types.ts';
import { EXPERIMENTAL_RANGE_FUNCTIONS } from './kernels/range-kernels.ts';
import { mergeSameLabels } from './labels-functions.ts';
import { QueryLimits } from './limits.ts';
import { findStepInvariant, selectorRanges, type QueryTimes } from './preprocess.ts';
import { fetchSelectors } from './selectors.ts';
import { QueryError, type EngineOptions, type QueryResult, type QueryValue, type Queryable, type Sample, type Series } from './types.ts';
import { compareLabels } from '../../../model/labels.ts';
import { isString, withoutMetadata, type EvalMatrix, type EvalValue } from './values.ts';

/**
 * The PromQL engine: evaluates a parsed expression over a `Queryable`, with Prometheus 3.x
 * semantics (left-open lookback and range windows, delayed `__name__` removal, `@` and offset,
 * subqueries aligned to absolute time).
 *
 * A query runs in three phases: work out every selector's time range and the step-invariant
 * subtrees (preprocess.ts); fetch each selector's series once for the whole query
 * (selectors.ts); evaluate (evaluator.ts), then drop the names marked for dropping and shape the
 * result. A failing query rejects with a `QueryError`, and only with one.
 */

/** Prometheus's default of --query.max-samples. */
export const DEFAULT_MAX_SAMPLES = 50_000_000;

const DEFAULTS = {
  lookbackDeltaMs: 5 * 60_000,
  maxSamples: DEFAULT_MAX_SAMPLES,
  timeoutMs: 2 * 60_000,
  maxSeries: Infinity,
  noStepSubqueryIntervalMs: 60_000,
  experimentalFunctions: true,
} as const;

export class Engine {
  private readonly options: Required<EngineOptions>;

  constructor(options: EngineOptions = {}) {
    const o = { ...DEFAULTS } as { -readonly [K in keyof Required<EngineOptions>]: Required<EngineOptions>[K] };
    for (const [k, v] of Object.entries(options)) if (v !== undefined) (o as Record<string, unknown>)[k] = v;
    this.options = o;
  }

  /** Evaluates `expr` at one time: a vector, scalar, string, or (for a range vector expression) a matrix. */
  instantQuery(queryable: Queryable, expr: Expr, timeMs: number, signal?: AbortSignal): Promise<QueryResult> {
    return this.run(queryable, expr, timeMs, timeMs, 0, signal);
  }

  /** Evaluates `expr` at every step from `startMs` to `endMs`: always a matrix sorted by labels. */
  rangeQuery(queryable: Queryable, expr: Expr, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal): Promise<QueryResult> {
    return this.run(queryable, expr, startMs, endMs, stepMs, signal);
  }

  private async run(queryable: Queryable, expr: Expr, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal): Promise<QueryResult> {
    const limits = new QueryLimits(this.options.maxSamples, Date.now() + this.options.timeoutMs, signal);
    const annotations = new Annotations();
    try {
      const instant = stepMs === 0;
      this.validate(expr, startMs, endMs, stepMs, instant);
      limits.checkNow();
      const times: QueryTimes = { startMs, endMs, lookbackMs: this.options.lookbackDeltaMs };
      const ranges = selectorRanges(expr, times);
      let mint = Infinity;
      let maxt = -Infinity;
      for (const r of ranges.values()) {
        mint = Math.min(mint, r.mint);
        maxt = Math.max(maxt, r.maxt);
      }
      if (ranges.size === 0) mint = maxt = 0;
      const querier = queryable.querier(mint, maxt);
      try {
        const data = await fetchSelectors(querier, ranges, this.options.maxSeries, limits, annotations);
        const ctx: EvalContext = {
          times: { ...times, stepMs },
          lookbackMs: this.options.lookbackDeltaMs,
          noStepSubqueryIntervalMs: this.options.noStepSubqueryIntervalMs,
          data,
          invariant: findStepInvariant(expr),
          limits,
          annotations,
          experimentalFunctions: this.options.experimentalFunctions,
        };
        const evaluator = new Evaluator(ctx, startMs, endMs, instant ? 1 : stepMs);
        const value = finish(evaluator.eval(expr));
        limits.checkNow();
        return {
          value: shape(value, valueType(expr), instant, startMs),
          warnings: [...annotations.warnings],
          infos: [...annotations.infos],
          stats: { samplesLoaded: limits.loaded, peakSamples: limits.peak },
        };
      } finally {
        querier.close();
      }
    } catch (error) {
      throw asQueryError(error);
    }
  }

  private validate(expr: Expr, startMs: number, endMs: number, stepMs: number, instant: boolean): void {
    for (const [name, v] of [['start', startMs], ['end', endMs], ['step', stepMs]] as const) {
      if (!Number.isFinite(v)) throw new QueryError('bad_data', `invalid ${name}: ${v}`);
    }
    if (!instant) {
      if (stepMs <= 0) throw new QueryError('bad_data', 'zero or negative query resolution step widths are not accepted');
      if (endMs < startMs) throw new QueryError('bad_data', 'end timestamp must not be before start time');
      const t = valueType(expr);
      if (t !== 'vector' && t !== 'scalar') {
        const documented = t === 'matrix' ? 'range vector' : t;
        throw new QueryError('bad_data', `invalid expression type "${documented}" for range query, must be Scalar or instant Vector`);
      }
    }
    if (!this.options.experimentalFunctions) rejectExperimental(expr);
  }
}

function rejectExperimental(e: Expr): void {
  switch (e.kind) {
    case 'Call':
      if (lookupFunction(e.func)?.experimental === true || EXPERIMENTAL_RANGE_FUNCTIONS.has(e.func)) {
        throw new QueryError('bad_data', `function "${e.func}" is not enabled`);
      }
      e.args.forEach(rejectExperimental);
      return;
    case 'AggregateExpr':
      if (e.op === 'limitk' || e.op === 'limit_ratio') {
        throw new QueryError('bad_data', 'limitk() and limit_ratio() are experimental and must be enabled with --enable-feature=promql-experimental-functions');
      }
      rejectExperimental(e.expr);
      if (e.param !== null) rejectExperimental(e.param);
      return;
    case 'BinaryExpr':
      rejectExperimental(e.lhs);
      rejectExperimental(e.rhs);
      return;
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'SubqueryExpr':
      rejectExperimental(e.expr);
      return;
    default:
      return;
  }
}

/** Delayed name removal: drop `__name__` (with `__type__` and `__unit__`) where marked, then merge series that now coincide. */
function finish(v: EvalValue): EvalValue {
  if (isString(v)) return v;
  for (const s of v) {
    if (s.dropName) {
      s.labels = withoutMetadata(s.labels);
      s.dropName = false;
    }
  }
  return mergeSameLabels(v);
}

function shape(v: EvalValue, type: ValueType, instant: boolean, timeMs: number): QueryValue {
  if (isString(v)) return { type: 'string', t: v.t, v: v.v };
  if (instant && type === 'vector') {
    const samples: Sample[] = v.map((s) => ({ labels: s.labels, t: timeMs, v: s.values[0] }));
    return { type: 'vector', samples };
  }
  if (instant && type === 'scalar') {
    const s = v[0];
    return { type: 'scalar', t: timeMs, v: s === undefined || s.length === 0 ? NaN : s.values[0] };
  }
  return { type: 'matrix', series: toSeries(v) };
}

function toSeries(m: EvalMatrix): Series[] {
  const out: Series[] = m.map((s) => ({ labels: s.labels, ts: s.ts.slice(0, s.length), values: s.values.slice(0, s.length) }));
  out.sort((a, b) => compareLabels(a.labels, b.labels));
  return out;
}

/** Anything but a QueryError escaping evaluation is a bug in the engine, and says so. */
function asQueryError(error: unknown): QueryError {
  if (error instanceof QueryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new QueryError('internal', `unexpected error in the PromQL engine (a bug): ${message}`, { cause: error });
}
