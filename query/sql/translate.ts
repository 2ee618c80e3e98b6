import type { AggregateExpr, BinaryExpr, Call, Expr, MatrixSelector, SubqueryExpr, VectorMatching, VectorSelector } from '../promql/ast.ts';
import { UNSUPPORTED_PREFIX, UnsupportedQueryError } from './errors.ts';
import { QueryError } from '../promql/engine/types.ts';
import { floatLiteral, Params } from './params.ts';
import { formatOpenMetricsFloat } from '../../model/exposition/parse-float.ts';
import { matchersWhere } from './matchers.ts';
import { chooseResolution, type Resolution, type ResolutionOptions } from './resolution.ts';
import { rollupRangeValue, rollupWindows, type RollupAggregate, type RollupSource } from './rollup-source.ts';
import { absentLabels } from '../promql/engine/functions-eval.ts';
import { calendarSql, DATE_FUNCTIONS } from './calendar.ts';
import { labelJoin, labelReplace } from './label-functions.ts';
import { aggregationVarianceOf, extremeOf, letIn, madOf, meanOf, overTimeVarianceOf, quantileOf, regression } from './array-numerics.ts';
import { literalIsQuiet, type AnnotationCheck, type CheckKind } from './annotation-checks.ts';
import { heapOutputOrder, heapSelect } from './heap-select.ts';
import { bucketLabelRows, histogramQuantileRows, histogramQuantilesRows } from './histogram-quantile.ts';
import { histogramFractionRows } from './histogram-fraction.ts';
import { naturalKey, naturalKeyless } from './natural-sort.ts';
import { formatFloatPlainSql } from './float-format.ts';
import { isValidUtf8LabelName } from '../promql/engine/labels-functions.ts';
import { validateDoubleExponentialSmoothing } from '../promql/engine/kernels/range-kernels.ts';
import { SORT_IN_RANGE_QUERY_WARNING } from '../promql/engine/annotations.ts';
import { LabelMatcher } from '../../model/matchers.ts';

/**
 * PromQL (the typed AST) -> ONE ClickHouse SELECT over the raw samples table.
 *
 * Every subexpression evaluates on the query's grid of N evaluation times `t_i = start + i*step`
 * (an instant query is the grid of one point) and is compiled to a SELECT in "long form": one row
 * per present sample, columns `labels Map(String, String)` (sorted, `__name__` included), `i` (the
 * grid index, Int64), `v` (Float64). Absent points are absent rows, so staleness, filtering and
 * set operators need no NULL handling. Scalars are SQL expressions of the grid index.
 *
 * Windows (range selectors and the lookback of instant selectors) are computed by assigning each
 * raw sample to every grid point whose left-open window `(t_i - offset - range, t_i - offset]`
 * contains it (an arrayJoin over a computed index range), then grouping by (series, i) into sorted
 * arrays; the PromQL functions are array expressions that mirror the engine's kernels
 * (query/promql/engine/kernels/range-kernels.ts) step for step. ClickHouse's timeSeries*ToGrid
 * functions were measured and are not used: they work in whole seconds (a 30.5s window is a type
 * error, grid starts lose their milliseconds), `timeSeriesDerivToGrid` returns per-millisecond
 * slopes on DateTime64(3), and `timeSeriesRateToGrid` returns no value for a window that holds a
 * stale marker where PromQL drops the marker and computes the rate (README.md beside this file).
 *
 * User input (matcher values, regexes, label names) only appears as query parameters (`Params`).
 * Anything not expressed with PromQL's exact semantics throws UnsupportedQueryError.
 */

export interface SqlTables {
  /** Fully qualified, e.g. `sluice.sluice_series`; from configuration, never from a query. */
  readonly series: string;
  readonly samples: string;
}

/** `resolution` and the raw retention pick the table read (resolution.ts). */
export interface TranslateOptions extends ResolutionOptions {
  readonly tables: SqlTables;
  /** Default 5m. */
  readonly lookbackDeltaMs?: number;
  /** Restricts every selector to one tenant's series. */
  readonly tenant?: string;
}

export interface TranslatedQuery {
  readonly sql: string;
  readonly params: Record<string, string | number | readonly string[]>;
  /** The grid the rows' `i` indexes: `t_i = startMs + i * stepMs`, i < points. */
  readonly startMs: number;
  readonly stepMs: number;
  readonly points: number;
  /**
   * What the statement returns: rows (labels, i, b) of a vector/matrix, or (i, b) of a scalar; `b`
   * is the value's IEEE bits as a decimal string; a string result is one row (s). A vector's rows
   * come in the order of an instant query's result (sort*, topk, bottomk order them). An instant
   * query of a range selector returns a matrix: rows (labels, ts, b), each sample at its own time.
   */
  readonly resultType: 'vector' | 'scalar' | 'string' | 'matrix';
  /** Statements the executor runs first for the query's annotations and parameter errors (annotation-checks.ts). */
  readonly checks: readonly AnnotationCheck[];
  /** Warnings known from the query text alone. */
  readonly warnings: readonly string[];
  /** The table read: raw samples or a rollup resolution (resolution.ts), and why. */
  readonly resolution: Resolution;
  readonly resolutionReason: string;
}

const STALE_BITS = '9218868437227405314'; // 0x7ff0000000000002, Prometheus's stale NaN

type Scalar = (iCol: string) => string;
interface Vec {
  /** Columns labels, i, v; and o when `ordered`. */
  readonly sql: string;
  /** The rows carry `o`, the engine's order of an instant result within a grid point (sort*, topk, bottomk). */
  readonly ordered?: boolean;
  /** What became of the rows' `__name__` (NameState). */
  readonly name: NameState;
}

/**
 * PromQL 3 removes `__name__` only at the end of the query (the engine's per-series dropName flag,
 * engine.ts finish()), so until then the name still takes part in grouping, matching, label
 * functions and duplicate checks. Here the flag is known per vector, not per row:
 * - 'kept': no removal is due;
 * - 'pending': every row still carries its name and loses it, with `__type__` and `__unit__`, at
 *   the end of the statement, before the final duplicate check (as finish() then merges);
 * - 'mixed': flags differ from series to series (`or` of marked and unmarked rows, label_replace
 *   writing `__name__` where its regex matches): the rows carry a column `d` (UInt8), the flag of
 *   their series (in a range query that of the series' first sample, as the engine's rangeEval).
 *   Functions and operators that mark every series, aggregations, `or`, comparisons with a scalar,
 *   label functions and the end of the statement read it; any other consumer settles it first;
 * - 'removed': the rows lost it already (settle): the final result is the same, but a later
 *   reference to `__name__`, which the engine would still see, is refused (nameRef).
 */
type NameState = 'kept' | 'pending' | 'mixed' | 'removed';
type Compiled = { type: 'scalar'; expr: Scalar } | ({ type: 'vector' } & Vec);

interface Ctx {
  readonly p: Params;
  readonly o: TranslateOptions;
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
  readonly n: number;
  readonly lookbackMs: number;
  /** The rollup table every selector reads; null: the raw samples. */
  readonly rollup: RollupSource | null;
  /** The query's own times, which start(), end(), range() and step() report (an instant query's step is 0). */
  readonly query: { readonly startMs: number; readonly endMs: number; readonly stepMs: number };
  /** Collected while compiling: the statements of the query's annotations and parameter errors. */
  readonly checks: AnnotationCheck[];
  readonly warnings: Set<string>;
}

export function translateInstantQuery(expr: Expr, timeMs: number, options: TranslateOptions): TranslatedQuery {
  return translate(expr, timeMs, timeMs, 1, options, true);
}

export function translateRangeQuery(expr: Expr, startMs: number, endMs: number, stepMs: number, options: TranslateOptions): TranslatedQuery {
  if (!(stepMs > 0)) throw new UnsupportedQueryError('a range query without a positive step');
  return translate(expr, startMs, endMs, stepMs, options);
}

function translate(expr: Expr, startMs: number, endMs: number, stepMs: number, o: TranslateOptions, instant = false): TranslatedQuery {
  for (const v of [startMs, endMs, stepMs]) if (!Number.isSafeInteger(v)) throw new UnsupportedQueryError('times that are not whole milliseconds');
  const n = Math.floor((endMs - startMs) / stepMs) + 1;
  const res = chooseResolution(expr, { startMs, endMs, stepMs, instant: startMs === endMs }, o, o.tables.samples);
  const lookbackMs = o.lookbackDeltaMs ?? 300_000;
  // Over rollups a series has one point per window: the lookback widens to the resolution (Thanos's dynamic lookback).
  const ctx: Ctx = { p: new Params(), o, startMs, endMs, stepMs, n, lookbackMs: res.rollup ? Math.max(lookbackMs, res.rollup.resolutionMs) : lookbackMs, rollup: res.rollup, query: { startMs, endMs, stepMs: instant ? 0 : stepMs }, checks: [], warnings: new Set() };
  const top = unwrap(expr);
  const done = (sql: string, resultType: TranslatedQuery['resultType']): TranslatedQuery => ({
    sql, params: ctx.p.values, startMs, stepMs, points: n, resultType, resolution: res.resolution, resolutionReason: res.reason, checks: ctx.checks, warnings: [...ctx.warnings],
  });
  if (top.kind === 'StringLiteral') return done(`SELECT ${ctx.p.string(top.value)} AS s`, 'string');
  if (top.kind === 'MatrixSelector' || top.kind === 'SubqueryExpr') {
    if (!instant) throw new QueryError('bad_data', 'invalid expression type "range vector" for range query, must be Scalar or instant Vector');
    if (top.kind === 'MatrixSelector') return done(rangeVectorResult(top, ctx), 'matrix');
  }
  const c = compile(top, ctx);
  const nParam = ctx.p.int(n);
  let sql: string;
  if (c.type === 'scalar') {
    sql = `SELECT i, toString(reinterpretAsUInt64(toFloat64(${c.expr('i')}))) AS b FROM (SELECT toInt64(number) AS i FROM numbers(${nParam})) ORDER BY i`;
  } else {
    // The delayed name removal (engine.ts finish()); two series that end up with one label set are
    // then an error at a step both have a value. Only an instant result has an order (a range result
    // is sorted by labels).
    const ordered = c.ordered === true && instant;
    const labels = c.name === 'pending' ? dropMetadata('labels') : c.name === 'mixed' ? `if(d = 1, ${dropMetadata('labels')}, labels)` : 'labels';
    const rows = `(SELECT ${labels} AS _l, i AS _i, v AS _x${ordered ? ', o AS _o' : ''} FROM (${c.sql}))`;
    sql = `SELECT _l AS labels, _i AS i, toString(reinterpretAsUInt64(_x)) AS b FROM (
SELECT ${ordered ? '_o, ' : ''}_l, _i, _x, count() OVER (PARTITION BY _l, _i) AS _dup FROM ${rows}
) WHERE throwIf(_dup > 1, 'vector cannot contain metrics with the same labelset') = 0 ORDER BY _i${ordered ? ', _o' : ''}`;
  }
  return done(sql, c.type);
}

/**
 * An instant query of a range selector: rows (labels, ts, b), every sample of each selected series
 * in the window (t - offset - range, t - offset], at its own timestamp, stale markers left out, as
 * the engine returns a matrix. Over rollups there are no samples to return.
 */
function rangeVectorResult(ms: MatrixSelector, ctx: Ctx): string {
  const vs = ms.vector;
  if (ctx.rollup !== null) throw new UnsupportedQueryError(`a range vector as the query result over ${ctx.rollup.resolution} rollups`);
  if (!Number.isSafeInteger(vs.offsetMs) || !Number.isSafeInteger(ms.rangeMs)) throw new UnsupportedQueryError('durations that are not whole milliseconds');
  const end = (vs.at === null ? ctx.startMs : atMs(vs.at, ctx)) - vs.offsetMs;
  return `SELECT s.labels AS labels, d.t AS ts, toString(reinterpretAsUInt64(d.v)) AS b FROM (
  SELECT series_id, toUnixTimestamp64Milli(ts) AS t, value AS v FROM ${ctx.o.tables.samples} FINAL
  WHERE series_id IN (${selectedSeriesIds(vs, ctx)})
    AND ts > fromUnixTimestamp64Milli(${ctx.p.int(end - ms.rangeMs)}) AND ts <= fromUnixTimestamp64Milli(${ctx.p.int(end)}) AND reinterpretAsUInt64(value) != ${STALE_BITS}
) AS d INNER JOIN (${seriesLabels(vs, ctx)}) AS s USING (series_id) ORDER BY ts`;
}

function unwrap(e: Expr): Expr {
  return e.kind === 'ParenExpr' ? unwrap(e.expr) : e;
}

/** A child's rows renamed to `_l, _i, _x`, so a parent's output aliases never shadow its inputs. */
function from(sql: string, prefix = '_'): string {
  return `(SELECT labels AS ${prefix}l, i AS ${prefix}i, v AS ${prefix}x FROM (${sql}))`;
}

function compile(e: Expr, ctx: Ctx): Compiled {
  switch (e.kind) {
    case 'NumberLiteral':
      return { type: 'scalar', expr: () => floatLiteral(e.value) };
    case 'ParenExpr':
      return compile(e.expr, ctx);
    case 'StringLiteral':
      throw new UnsupportedQueryError('a string literal inside an expression');
    case 'VectorSelector':
      return { type: 'vector', ...vectorSelector(e, ctx) };
    case 'MatrixSelector':
      throw new UnsupportedQueryError('a range vector as the query result');
    case 'SubqueryExpr':
      throw new UnsupportedQueryError('a range vector (subquery) as the query result');
    case 'UnaryExpr': {
      const c = compile(e.expr, ctx);
      if (e.op === '+') return c;
      if (c.type === 'scalar') return { type: 'scalar', expr: (i) => `(-(${c.expr(i)}))` };
      return { type: 'vector', sql: `SELECT ${markedLabels(c, '_l')} AS labels, _i AS i, -_x AS v FROM ${from(c.sql)}`, name: marked(c) };
    }
    case 'Call':
      return call(e, ctx);
    case 'AggregateExpr':
      return { type: 'vector', ...aggregate(e, ctx) };
    case 'BinaryExpr':
      return binary(e, ctx);
  }
}

/** `col` without `__name__`, `__type__` and `__unit__`, which the engine's delayed name removal drops together. */
function dropMetadata(col: string): string {
  return `mapFilter((k, x) -> k != '__name__' AND k != '__type__' AND k != '__unit__', ${col})`;
}

/** The name state of a function's or operator's result that removes the metric name (the engine sets dropName on every series). */
function marked(c: Vec): NameState {
  return c.name === 'removed' ? 'removed' : 'pending';
}

/** A vector's rows with their series' flags, as `${prefix}l, ${prefix}i, ${prefix}x, ${prefix}d` (not for 'removed', which has none). */
function fromFlagged(c: Vec, prefix = '_'): string {
  if (c.name === 'removed') throw new Error('bug: the flags of rows whose names were removed');
  const d = c.name === 'mixed' ? 'd' : `toUInt8(${c.name === 'pending' ? 1 : 0})`;
  return `(SELECT labels AS ${prefix}l, i AS ${prefix}i, v AS ${prefix}x, ${d} AS ${prefix}d FROM (${c.sql}))`;
}

/** A 'mixed' vector as 'removed': the marked rows drop their names now. */
function settle(c: Vec): Vec {
  if (c.name !== 'mixed') return c;
  return { sql: `SELECT if(d = 1, ${dropMetadata('labels')}, labels) AS labels, i, v${c.ordered === true ? ', o' : ''} FROM (${c.sql})`, name: 'removed', ...(c.ordered === true ? { ordered: true } : {}) };
}

/**
 * `rows` (columns labels, i, v, d) as a 'mixed' vector whose flags are per series, as the engine's
 * (rangeEval makes a series' flag that of its first sample).
 */
function mixedSeries(rows: string): Vec {
  return { sql: `SELECT labels, i, v, argMin(d, i) OVER (PARTITION BY labels) AS d FROM (${rows})`, name: 'mixed' };
}

/** The labels of such a result: unchanged until the end of the query, or, where names are removed at once, without them. */
function markedLabels(c: Vec, col: string): string {
  return c.name === 'removed' ? dropMetadata(col) : col;
}

// ---------------------------------------------------------------------------------------------
// Selectors and windows

function seriesWhere(vs: VectorSelector, ctx: Ctx): string {
  return matchersWhere(vs.matchers, ctx.p, ctx.o.tenant);
}

/** The grid a selector's windows end on: the query's, or one point for `@`. */
interface SelGrid {
  readonly start: number;
  readonly step: number;
  readonly n: number;
  readonly pinned: boolean;
}

function selectorGrid(vs: VectorSelector, ctx: Ctx): SelGrid {
  if (vs.at === null) return { start: ctx.startMs, step: ctx.stepMs, n: ctx.n, pinned: false };
  return { start: atMs(vs.at, ctx), step: 1, n: 1, pinned: true };
}

/** The pieces of a raw-table read of a selector's windows on grid `g` (windows, seriesWithTwoSamplesInAWindow). */
interface RawWindowRead {
  /** The grid points whose window holds a sample at ms time t: first(t) .. last(t), none when first > last. */
  readonly first: (t: string) => string;
  readonly last: (t: string) => string;
  /** FROM ... WHERE over the raw samples of the selected series that could fall in a window; columns as the table's. */
  readonly from: string;
  readonly S: string;
  readonly D: string;
  readonly O: string;
}

function rawWindowRead(vs: VectorSelector, rangeMs: number, dropStale: boolean, ctx: Ctx, g: SelGrid, seriesIds = selectedSeriesIds(vs, ctx)): RawWindowRead {
  const p = ctx.p;
  const S = p.int(g.start);
  const D = p.int(g.step);
  const N = p.int(g.n);
  const O = p.int(vs.offsetMs);
  const W = p.int(rangeMs);
  const lo = p.int(g.start - vs.offsetMs - rangeMs);
  const hi = p.int(g.start + (g.n - 1) * g.step - vs.offsetMs);
  const stale = dropStale ? ` AND reinterpretAsUInt64(value) != ${STALE_BITS}` : '';
  const first = (t: string) => `greatest(toInt64(0), toInt64(ceil((${t} + ${O} - ${S}) / ${D})))`;
  const last = (t: string) => `least(${N} - 1, toInt64(ceil((${t} + ${O} + ${W} - ${S}) / ${D})) - 1)`;
  // With a step longer than the range most samples are in no window (11 of 12 for rate(m[5m]) at a
  // 1h step). The PREWHERE drops them before FINAL merges overlapping parts, which was the largest
  // cost (README.md beside this file); a WHERE runs after that merge, as ClickHouse moves no
  // condition of a FINAL query to PREWHERE. It reads only ts, a sorting-key column, so every copy
  // of a (series_id, ts) is kept or dropped together and the merge still sees all copies it keeps.
  // Otherwise the windows cover the whole time range read and the PREWHERE would only cost time.
  const ms = 'toUnixTimestamp64Milli(ts)';
  const gaps = g.n > 1 && g.step > rangeMs ? `\n  PREWHERE ${first(ms)} <= ${last(ms)}` : '';
  const from = `${ctx.o.tables.samples} FINAL${gaps}
  WHERE series_id IN (${seriesIds})
    AND ts > fromUnixTimestamp64Milli(${lo}) AND ts <= fromUnixTimestamp64Milli(${hi})${stale}`;
  return { first, last, from, S, D, O };
}

function selectedSeriesIds(vs: VectorSelector, ctx: Ctx): string {
  return `SELECT series_id FROM ${ctx.o.tables.series} WHERE ${seriesWhere(vs, ctx)}`;
}

/**
 * Rows (series_id, i, T, V, E): per series and grid point, the window's samples as sorted arrays
 * of ms timestamps T and values V, and the window's (inclusive) end E.
 */
function windows(vs: VectorSelector, rangeMs: number, dropStale: boolean, ctx: Ctx, g: SelGrid, aggregate: RollupAggregate): string {
  if (!Number.isSafeInteger(vs.offsetMs) || !Number.isSafeInteger(rangeMs)) throw new UnsupportedQueryError('durations that are not whole milliseconds');
  if (ctx.rollup !== null) {
    // Rollups hold no stale markers (the downsample operator skips them), so dropStale has nothing to drop.
    return rollupWindows({ source: ctx.rollup, seriesWhere: seriesWhere(vs, ctx), seriesTable: ctx.o.tables.series, p: ctx.p, grid: g, offsetMs: vs.offsetMs, rangeMs, aggregate });
  }
  const r = rawWindowRead(vs, rangeMs, dropStale, ctx, g);
  return `SELECT series_id, _wi AS i, arraySort(groupArray(_t)) AS T, arraySort((x, y) -> y, groupArray(_v), groupArray(_t)) AS V, ${r.S} + _wi * ${r.D} - ${r.O} AS E
FROM (
  SELECT series_id, toUnixTimestamp64Milli(ts) AS _t, value AS _v, arrayJoin(range(${r.first('_t')}, ${r.last('_t')} + 1)) AS _wi
  FROM ${r.from}
)
GROUP BY series_id, _wi`;
}

/**
 * Rows (series_id) of the raw series `seriesIds` (a statement) with two samples, stale markers
 * dropped, in one window of `vs` somewhere on the grid: the series a rate or increase has a value
 * for. Two samples a < b share the window ending at grid point j when b <= E_j < a + range, so a
 * series qualifies when two consecutive samples have first(b) <= last(a). One sort of timestamps
 * per series, instead of a window's arrays per grid point.
 */
function seriesWithTwoSamplesInAWindow(vs: VectorSelector, rangeMs: number, ctx: Ctx, seriesIds: string): string {
  const r = rawWindowRead(vs, rangeMs, true, ctx, selectorGrid(vs, ctx), seriesIds);
  return `SELECT series_id FROM (
  SELECT series_id, arraySort(groupArray(toUnixTimestamp64Milli(ts))) AS T
  FROM ${r.from}
  GROUP BY series_id
) WHERE arrayExists((a, b) -> b > a AND ${r.first('b')} <= ${r.last('a')}, arrayPopBack(T), arrayPopFront(T))`;
}

/** The label maps of the selected series, sorted, with `__name__` from the metric column. */
function seriesLabels(vs: VectorSelector, ctx: Ctx): string {
  return `SELECT series_id, mapSort(if(metric = '', CAST(labels, 'Map(String, String)'), mapUpdate(CAST(labels, 'Map(String, String)'), map('__name__', toString(metric))))) AS labels
FROM ${ctx.o.tables.series} FINAL WHERE ${seriesWhere(vs, ctx)}`;
}

/** Windows -> long-form rows, `value` an expression over T, V, E (NULL: no sample at that point); `aggregate`: the rollup column read over rollups. */
function windowed(vs: VectorSelector, rangeMs: number, dropStale: boolean, value: string, ctx: Ctx, aggregate: RollupAggregate = 'last', perStep = false): string {
  const g = selectorGrid(vs, ctx);
  if (g.pinned && perStep) {
    // `@` and a value that depends on the evaluation time (`_j`, the query's grid index): the one window, evaluated at every grid point.
    return `SELECT s.labels AS labels, w._j AS i, assumeNotNull(w._r) AS v FROM (
SELECT series_id, _j, ${value} AS _r FROM (${windows(vs, rangeMs, dropStale, ctx, g, aggregate)}) ARRAY JOIN arrayMap(x -> toInt64(x), range(${ctx.p.int(ctx.n)})) AS _j
) AS w INNER JOIN (${seriesLabels(vs, ctx)}) AS s USING (series_id) WHERE w._r IS NOT NULL`;
  }
  const rows = `SELECT s.labels AS labels, w.i AS i, assumeNotNull(w._r) AS v FROM (
SELECT series_id, i, ${value} AS _r FROM (${windows(vs, rangeMs, dropStale, ctx, g, aggregate)})
) AS w INNER JOIN (${seriesLabels(vs, ctx)}) AS s USING (series_id) WHERE w._r IS NOT NULL`;
  if (!g.pinned) return rows;
  // `@`: one evaluation, the same at every point of the query's grid.
  return `SELECT _l AS labels, toInt64(arrayJoin(range(${ctx.p.int(ctx.n)}))) AS i, _x AS v FROM ${from(rows)}`;
}

function vectorSelector(vs: VectorSelector, ctx: Ctx): Vec {
  const last = `V[length(V)]`;
  return { sql: windowed(vs, ctx.lookbackMs, false, `if(reinterpretAsUInt64(${last}) = ${STALE_BITS}, NULL, ${last})`, ctx), name: 'kept' };
}

// ---------------------------------------------------------------------------------------------
// Functions

/** Kahan-Neumaier sum of an array, as the engine's kahanInc (an infinite partial sum drops the compensation). */
function neumaierSum(arr: string): string {
  const step = `(acc, x) -> (acc.1 + x, if(isInfinite(acc.1 + x), 0, acc.2 + if(abs(acc.1) >= abs(x), (acc.1 - (acc.1 + x)) + x, (x - (acc.1 + x)) + acc.1)))`;
  return `tupleElement(arrayFold(${step}, ${arr}, (toFloat64(0), toFloat64(0))) AS _ks, 1) + if(isInfinite(tupleElement(_ks, 1)), 0, tupleElement(_ks, 2))`;
}

function nanAwareExtreme(arr: string, fn: 'arrayMin' | 'arrayMax'): string {
  return `if(arrayAll(x -> isNaN(x), ${arr}), nan, ${fn}(arrayFilter(x -> NOT isNaN(x), ${arr})))`;
}

/** extrapolatedRate of range-kernels.ts. */
function extrapolated(isCounter: boolean, isRate: boolean): string {
  const n = 'length(V)';
  const resets = isCounter ? ` + arraySum(arrayMap((c, q) -> if(c < q, q, 0), arrayPopFront(V), arrayPopBack(V)))` : '';
  const res = `(V[${n}] - V[1]${resets})`;
  const si = `((T[${n}] - T[1]) / 1000)`;
  const avg = `(${si} / (${n} - 1))`;
  const toStart0 = `if((T[1] - (E - _W)) / 1000 >= ${avg} * 1.1, ${avg} / 2, (T[1] - (E - _W)) / 1000)`;
  const toStart = isCounter
    ? `if(${res} > 0 AND V[1] >= 0 AND ${si} * (V[1] / ${res}) < ${toStart0}, ${si} * (V[1] / ${res}), ${toStart0})`
    : toStart0;
  const toEnd = `if((E - T[${n}]) / 1000 >= ${avg} * 1.1, ${avg} / 2, (E - T[${n}]) / 1000)`;
  const factor = `((${si} + ${toStart} + ${toEnd}) / ${si})${isRate ? ' / (_W / 1000)' : ''}`;
  // factor in parentheses: the engine multiplies by the divided factor, and (res * f) / w rounds differently.
  return `if(${n} < 2, NULL, ${res} * (${factor}))`;
}

/** instantValue of range-kernels.ts (irate / idelta). */
function instant(isRate: boolean): string {
  const c = 'V[length(V)]';
  const q = 'V[length(V) - 1]';
  const dt = '(T[length(V)] - T[length(V) - 1])';
  const value = isRate ? `if(${c} < ${q}, ${c}, ${c} - ${q}) / (${dt} / 1000)` : `${c} - ${q}`;
  return `if(length(V) < 2 OR ${dt} = 0, NULL, ${value})`;
}

/** What a range function's value may use besides T, V, E and _W: its scalar arguments (SQL over the window row's grid index `i`) and the evaluation time (ms). */
interface RangeFnArgs {
  readonly scalars: readonly string[];
  readonly evalMs: string;
}
type RangeFn = string | ((a: RangeFnArgs) => string);

const RANGE_FUNCTIONS: Record<string, RangeFn> = {
  rate: extrapolated(true, true),
  increase: extrapolated(true, false),
  delta: extrapolated(false, false),
  irate: instant(true),
  idelta: instant(false),
  deriv: `if(length(V) < 2, NULL, ${regression('T', 'V', 'T[1]')}.1)`,
  sum_over_time: neumaierSum('V'),
  count_over_time: 'toFloat64(length(V))',
  min_over_time: nanAwareExtreme('V', 'arrayMin'),
  max_over_time: nanAwareExtreme('V', 'arrayMax'),
  last_over_time: 'V[length(V)]',
  present_over_time: 'toFloat64(1)',
  changes: `toFloat64(arraySum(arrayMap((c, q) -> if(c != q AND NOT (isNaN(c) AND isNaN(q)), 1, 0), arrayPopFront(V), arrayPopBack(V))))`,
  resets: `toFloat64(arraySum(arrayMap((c, q) -> if(c < q, 1, 0), arrayPopFront(V), arrayPopBack(V))))`,
  avg_over_time: meanOf('V'),
  stdvar_over_time: overTimeVarianceOf('V'),
  stddev_over_time: `sqrt(${overTimeVarianceOf('V')})`,
  mad_over_time: madOf('V'),
  first_over_time: 'V[1]',
  ts_of_first_over_time: 'T[1] / 1000',
  ts_of_last_over_time: 'T[length(T)] / 1000',
  ts_of_max_over_time: extremeOf('T', 'V', '>=', true),
  ts_of_min_over_time: extremeOf('T', 'V', '<=', true),
  quantile_over_time: (a) => quantileOf(`toFloat64(${a.scalars[0]})`, 'V'),
  double_exponential_smoothing: (a) => doubleExponentialSmoothingOf('V', `toFloat64(${a.scalars[0]})`, `toFloat64(${a.scalars[1]})`),
  predict_linear: (a) => `if(length(V) < 2, NULL, ${letIn(regression('T', 'V', a.evalMs), '_pl', `_pl.1 * toFloat64(${a.scalars[0]}) + _pl.2`)})`,
};
/**
 * Holt's linear smoothing as the engine's kernel: level from the first value, trend from the first
 * difference, then per later value trend' = tf * (level - previous level) + (1 - tf) * trend (the
 * first round keeps the initial trend) and level' = sf * x + (1 - sf) * (level + trend').
 * Accumulator: (previous level, level, trend, first round 1/0). Needs two samples.
 */
function doubleExponentialSmoothingOf(arr: string, sf: string, tf: string): string {
  const trend = `if(_hw.4 = 1, _hw.3, ${tf} * (_hw.2 - _hw.1) + (1 - ${tf}) * _hw.3)`;
  const round = `(_hw, _hx) -> (_hw.2, ${sf} * _hx + (1 - ${sf}) * (_hw.2 + ${trend}), ${trend}, toUInt8(0))`;
  return `if(length(${arr}) < 2, NULL, tupleElement(arrayFold(${round}, arrayPopFront(${arr}), (toFloat64(0), ${arr}[1], ${arr}[2] - ${arr}[1], toUInt8(1))), 2))`;
}

/**
 * double_exponential_smoothing's factors must be number literals here: the engine fails the query
 * when a factor is outside (0, 1) and some window holds samples, which an 'error' check over the
 * windows (`rows`) reproduces with the engine's own message.
 */
function smoothingCheck(e: Call, ctx: Ctx, rows: () => string): void {
  const [sf, tf] = [unwrap(e.args[1]), unwrap(e.args[2])];
  if (sf.kind !== 'NumberLiteral' || tf.kind !== 'NumberLiteral') throw new UnsupportedQueryError('double_exponential_smoothing with factors that are not number literals');
  const message = validateDoubleExponentialSmoothing(sf.value, tf.value);
  if (message !== null) ctx.checks.push({ kind: 'error', sql: `SELECT '0' AS b FROM (${rows()}) LIMIT 1`, values: [], message });
}

/** Range functions whose result keeps `__name__` (PromQL: last_over_time, first_over_time). */
const KEEPS_NAME = new Set(['last_over_time', 'first_over_time']);
/** Range functions whose value depends on the evaluation time itself, not only on the window. */
const EVAL_TIME_DEPENDENT = new Set(['predict_linear']);

/** The value expression of range function `f` whose range argument (at `mi`) selects with `vs`. */
function rangeFunctionValue(f: string, e: Call, mi: number, vs: Pick<VectorSelector | SubqueryExpr, 'at' | 'offsetMs' | 'kind'>, ctx: Ctx): string {
  const fn = RANGE_FUNCTIONS[f];
  if (typeof fn === 'string') return fn;
  const pinned = vs.at !== null;
  // A range selector with `@` evaluates its one window at every grid point (windowed's perStep); a subquery does not yet.
  if (pinned && EVAL_TIME_DEPENDENT.has(f) && vs.kind !== 'VectorSelector') throw new UnsupportedQueryError(`${f} over a subquery with @`);
  const scalars = e.args.flatMap((a, k) => {
    if (k === mi) return [];
    const s = scalarArg(a, ctx, `${f}() with an argument`);
    // With `@` the window is evaluated once and repeated, so only an argument that is the same at every step fits.
    if (pinned && s('i') !== s('_j')) throw new UnsupportedQueryError(`${f} over a range with @ and an argument that varies by step`);
    return [s('i')];
  });
  const evalMs = pinned ? `(${ctx.p.int(ctx.startMs)} + _j * ${ctx.p.int(ctx.stepMs)})` : `(E + ${ctx.p.int(vs.offsetMs)})`;
  return fn({ scalars, evalMs });
}

/**
 * The engine's info "metric might not be a counter" for rate/increase over a range selector: the
 * names, not ending in _total/_sum/_count/_bucket, of the series that have a value somewhere. The
 * check's statement selects only such series (two more matchers), so over counters named as
 * counters it reads nothing. Over rollups it evaluates the function itself (`rows`). Over raw
 * samples a value exists where a window holds two samples (seriesWithTwoSamplesInAWindow), and
 * one series of a name having a value settles that name: each name is first tried on one probe,
 * the series registered last (the likeliest to be written still), and only the series of names
 * whose probe has no value are read whole. (Over a subquery the engine also reports it; not done
 * here.)
 */
function nonCounterCheck(vs: VectorSelector, rangeMs: number, rows: (vs: VectorSelector) => string, ctx: Ctx): void {
  const suspects: VectorSelector = { ...vs, matchers: [...vs.matchers, new LabelMatcher('=~', '__name__', '.+'), new LabelMatcher('!~', '__name__', '.*_(total|sum|count|bucket)')] };
  if (ctx.rollup !== null) {
    ctx.checks.push({ kind: 'non_counter', sql: `SELECT DISTINCT [_l['__name__']] AS t FROM ${from(rows(suspects))}`, values: [] });
    return;
  }
  const series = ctx.o.tables.series;
  const probes = `SELECT argMax(series_id, updated_at) FROM ${series} WHERE ${seriesWhere(suspects, ctx)} GROUP BY metric`;
  const confirmed = () => `SELECT metric FROM ${series} WHERE series_id IN (${seriesWithTwoSamplesInAWindow(suspects, rangeMs, ctx, probes)})`;
  const rest = `${selectedSeriesIds(suspects, ctx)} AND metric NOT IN (${confirmed()})`;
  const sql = `SELECT DISTINCT [toString(metric)] AS t FROM ${series}
WHERE ${seriesWhere(suspects, ctx)} AND (metric IN (${confirmed()}) OR series_id IN (${seriesWithTwoSamplesInAWindow(suspects, rangeMs, ctx, rest)}))`;
  ctx.checks.push({ kind: 'non_counter', sql, values: [] });
}

/** Elementwise functions of one float: ClickHouse's IEEE functions give Go's results, NaN and ±Inf included. */
const ELEMENTWISE: Record<string, (x: string) => string> = {
  abs: (x) => `abs(${x})`,
  ceil: (x) => `ceil(${x})`,
  floor: (x) => `floor(${x})`,
  exp: (x) => `exp(${x})`,
  sqrt: (x) => `sqrt(${x})`,
  ln: (x) => `log(${x})`,
  log2: (x) => `log2(${x})`,
  log10: (x) => `log10(${x})`,
  sgn: (x) => `if(isNaN(${x}), ${x}, toFloat64(sign(${x})))`,
  sin: (x) => `sin(${x})`,
  cos: (x) => `cos(${x})`,
  tan: (x) => `tan(${x})`,
  asin: (x) => `asin(${x})`,
  acos: (x) => `acos(${x})`,
  atan: (x) => `atan(${x})`,
  sinh: (x) => `sinh(${x})`,
  cosh: (x) => `cosh(${x})`,
  tanh: (x) => `tanh(${x})`,
  asinh: (x) => `asinh(${x})`,
  acosh: (x) => `acosh(${x})`,
  atanh: (x) => `atanh(${x})`,
  deg: (x) => `(${x} * 180 / pi())`,
  rad: (x) => `(${x} * pi() / 180)`,
};

function scalarArg(e: Expr, ctx: Ctx, what: string): Scalar {
  const c = compile(unwrap(e), ctx);
  if (c.type !== 'scalar') throw new UnsupportedQueryError(`${what} that is not a scalar`);
  return c.expr;
}

/** A vector argument; `mixed`: the caller reads the flags of a 'mixed' one (NameState), which is settled otherwise. */
function vectorArg(e: Expr, ctx: Ctx, mixed = false): Vec {
  const c = compile(unwrap(e), ctx);
  if (c.type !== 'vector') throw new Error('bug: the parser let a scalar through as a vector argument');
  return mixed ? c : settle(c);
}

function call(e: Call, ctx: Ctx): Compiled {
  const f = e.func;
  if (f in RANGE_FUNCTIONS) {
    const mi = e.args.findIndex((a) => unwrap(a).kind === 'MatrixSelector' || unwrap(a).kind === 'SubqueryExpr');
    const arg = unwrap(e.args[mi]);
    if (arg.kind === 'SubqueryExpr') return subqueryRangeFunction(f, e, mi, arg, ctx);
    if (arg.kind !== 'MatrixSelector') throw new Error(`bug: ${f}() without a range argument`);
    const ms = arg as MatrixSelector;
    // Over rollups: the kernel of rollup-source.ts's ROLLUP_FUNCTIONS over the aggregate it names.
    const rollup = ctx.rollup === null ? null : rollupRangeValue(f, ctx.rollup.resolution, (k) => rangeFunctionValue(k, e, mi, ms.vector, ctx));
    const value = (rollup?.value ?? rangeFunctionValue(f, e, mi, ms.vector, ctx)).replaceAll('_W', `toFloat64(${ctx.p.int(ms.rangeMs)})`);
    const sql = windowed(ms.vector, ms.rangeMs, true, value, ctx, rollup?.aggregate, EVAL_TIME_DEPENDENT.has(f));
    if (f === 'rate' || f === 'increase') nonCounterCheck(ms.vector, ms.rangeMs, (vs) => windowed(vs, ms.rangeMs, true, value, ctx, rollup?.aggregate), ctx);
    // φ is judged where a window holds samples, as the engine warns only there.
    if (f === 'quantile_over_time') paramCheck(ctx, f, e.args[0], (s) => `SELECT v FROM (${windowed(ms.vector, ms.rangeMs, true, `toFloat64(${s})`, ctx)})`);
    if (f === 'double_exponential_smoothing') smoothingCheck(e, ctx, () => windowed(ms.vector, ms.rangeMs, true, 'toFloat64(1)', ctx));
    return { type: 'vector', sql, name: KEEPS_NAME.has(f) ? 'kept' : 'pending' };
  }
  if (f in ELEMENTWISE) {
    const c = vectorArg(e.args[0], ctx, true);
    return { type: 'vector', sql: `SELECT ${markedLabels(c, '_l')} AS labels, _i AS i, ${ELEMENTWISE[f]('_x')} AS v FROM ${from(c.sql)}`, name: marked(c) };
  }
  if (DATE_FUNCTIONS.has(f)) {
    if (e.args.length === 0) return { type: 'vector', sql: constantVector(calendarSql(f, `trunc(${gridTime('i', ctx)} / 1000)`), ctx), name: 'kept' };
    const c = vectorArg(e.args[0], ctx, true);
    return { type: 'vector', sql: `SELECT ${markedLabels(c, '_l')} AS labels, _i AS i, ${calendarSql(f, '_x')} AS v FROM ${from(c.sql)}`, name: marked(c) };
  }
  switch (f) {
    case 'start':
      return { type: 'scalar', expr: () => floatLiteral(ctx.query.startMs / 1000) };
    case 'end':
      return { type: 'scalar', expr: () => floatLiteral(ctx.query.endMs / 1000) };
    case 'range':
      return { type: 'scalar', expr: () => floatLiteral((ctx.query.endMs - ctx.query.startMs) / 1000) };
    case 'step':
      return { type: 'scalar', expr: () => floatLiteral(ctx.query.stepMs / 1000) };
    case 'min_of':
    case 'max_of': {
      const a = scalarArg(e.args[0], ctx, `${f}() of an argument`);
      const b = scalarArg(e.args[1], ctx, `${f}() of an argument`);
      // Go's math.Min/Max: NaN wins; between -0 and 0 min is -0 (its sign bit makes its bits larger) and max is 0.
      const pick = f === 'min_of' ? '<' : '>';
      const tie = f === 'min_of' ? '>' : '<';
      return {
        type: 'scalar',
        expr: (i) => letIn(`(toFloat64(${a(i)}), toFloat64(${b(i)}))`, '_mm', `if(isNaN(_mm.1) OR isNaN(_mm.2), nan, if(_mm.1 ${pick} _mm.2 OR (_mm.1 = _mm.2 AND reinterpretAsUInt64(_mm.1) ${tie} reinterpretAsUInt64(_mm.2)), _mm.1, _mm.2))`),
      };
    }
    case 'scalar': {
      const c = vectorArg(e.args[0], ctx);
      const N = ctx.p.int(ctx.n);
      // Per grid point: the one sample's value, NaN when there are none or several; computed once as an array over the grid.
      const perPoint = `SELECT n._k AS _k, if(g._c = 1, g._v, nan) AS _sv FROM (SELECT toInt64(number) AS _k FROM numbers(${N})) AS n LEFT JOIN (SELECT _i, count() AS _c, any(_x) AS _v FROM ${from(c.sql)} GROUP BY _i) AS g ON n._k = g._i`;
      const arr = `(SELECT arraySort((x, k) -> k, groupArray(_sv), groupArray(_k)) FROM (${perPoint}))`;
      return { type: 'scalar', expr: (i) => `${arr}[toUInt64(${i}) + 1]` };
    }
    case 'timestamp': {
      const arg = unwrap(e.args[0]);
      if (arg.kind === 'VectorSelector') {
        // The selected sample's own time (a stale marker selects nothing).
        const last = 'V[length(V)]';
        const sql = windowed(arg, ctx.lookbackMs, false, `if(reinterpretAsUInt64(${last}) = ${STALE_BITS}, NULL, T[length(T)] / 1000)`, ctx);
        return { type: 'vector', sql, name: 'pending' };
      }
      const c = vectorArg(arg, ctx, true);
      return { type: 'vector', sql: `SELECT ${markedLabels(c, '_l')} AS labels, _i AS i, ${gridTime('_i', ctx)} / 1000 AS v FROM ${from(c.sql)}`, name: marked(c) };
    }
    case 'label_replace':
    case 'label_join': {
      const c = vectorArg(e.args[0], ctx, true);
      // Parenthesised string literals (`(("dst"))`) are string literals too.
      const plain: Call = { ...e, args: e.args.map((a, k) => (k > 0 && unwrap(a).kind === 'StringLiteral' ? unwrap(a) : a)) };
      const fn = f === 'label_replace' ? labelReplace(plain, ctx.p) : labelJoin(plain, ctx.p);
      nameRef(fn.reads, c.name, `${f}() reading __name__`);
      // Two series the rewrite makes identical must not share a step (the engine's mergeSameLabels). Once
      // names were removed, series differing only by one already look alike here, though the engine
      // still tells them apart; the query's final check covers that case.
      if (c.name === 'removed') return { type: 'vector', sql: `SELECT ${fn.map('_l')} AS labels, _i AS i, _x AS v FROM ${from(c.sql)}`, name: 'removed' };
      // Writing __name__ clears the engine's flag of the series it writes: all of them (label_join), or
      // those whose source label matches the regex (label_replace).
      const writesName = fn.dst === '__name__';
      const d = writesName ? `if(${fn.matches('_l')}, toUInt8(0), _d)` : '_d';
      const rows = `SELECT ${fn.map('_l')} AS labels, _i AS i, _x AS v, ${d} AS d FROM ${fromFlagged(c)}`;
      const checked = `SELECT labels, i, v, d FROM (SELECT labels, i, v, d, count() OVER (PARTITION BY labels, i) AS _dup FROM (${rows})) WHERE throwIf(_dup > 1, 'vector cannot contain metrics with the same labelset') = 0`;
      const name: NameState = !writesName ? c.name : c.name === 'kept' || f === 'label_join' ? 'kept' : 'mixed';
      if (name !== 'mixed') return { type: 'vector', sql: `SELECT labels, i, v FROM (${checked})`, name };
      // Series merged into one label set keep the flag of the first in the engine's order of series, which is not known here.
      const merged = `throwIf(uniqExact(d) OVER (PARTITION BY labels) > 1, '${UNSUPPORTED_PREFIX}${f} merging series of which only some keep __name__')`;
      return { type: 'vector', sql: `SELECT labels, i, v, d FROM (SELECT labels, i, v, d, ${merged} AS _mc FROM (${checked})) WHERE _mc = 0`, name };
    }
    case 'histogram_quantile':
      return { type: 'vector', ...histogramQuantile(e, ctx) };
    case 'histogram_quantiles':
      return { type: 'vector', ...histogramQuantiles(e, ctx) };
    case 'histogram_fraction': {
      const lower = scalarArg(e.args[0], ctx, 'histogram_fraction() with a bound');
      const upper = scalarArg(e.args[1], ctx, 'histogram_fraction() with a bound');
      const c = vectorArg(e.args[2], ctx);
      const rows = from(c.sql);
      const removed = c.name === 'removed';
      ctx.checks.push({ kind: 'bucket_label', sql: bucketLabelRows(rows, removed, ctx.p), values: [] });
      return { type: 'vector', sql: `SELECT ${markedLabels(c, '_g')} AS labels, _i AS i, _v AS v FROM (${histogramFractionRows(lower('_i'), upper('_i'), rows, removed, ctx.p)})`, name: marked(c) };
    }
    case 'sort':
    case 'sort_desc':
    case 'sort_by_label':
    case 'sort_by_label_desc':
      return { type: 'vector', ...sortCall(f, e, ctx) };
    case 'absent': {
      const c = vectorArg(e.args[0], ctx);
      return { type: 'vector', sql: absentRows(unwrap(e.args[0]), `SELECT _i FROM ${from(c.sql)}`, ctx), name: 'kept' };
    }
    case 'absent_over_time': {
      const arg = unwrap(e.args[0]);
      const present = arg.kind === 'SubqueryExpr' ? subqueryWindowed(arg, 'toFloat64(1)', ctx).sql : arg.kind === 'MatrixSelector' ? windowed(arg.vector, arg.rangeMs, true, 'toFloat64(1)', ctx) : null;
      if (present === null) throw new Error('bug: absent_over_time() without a range argument');
      return { type: 'vector', sql: absentRows(arg, `SELECT _i FROM ${from(present)}`, ctx), name: 'kept' };
    }
    case 'time':
      return { type: 'scalar', expr: (i) => `((${ctx.p.int(ctx.startMs)} + ${i} * ${ctx.p.int(ctx.stepMs)}) / 1000)` };
    case 'pi':
      return { type: 'scalar', expr: () => 'pi()' };
    case 'vector': {
      const s = scalarArg(e.args[0], ctx, 'vector() of an argument');
      return {
        type: 'vector',
        sql: `SELECT CAST(map(), 'Map(String, String)') AS labels, toInt64(number) AS i, toFloat64(${s('i')}) AS v FROM numbers(${ctx.p.int(ctx.n)})`,
        name: 'kept',
      };
    }
    case 'round': {
      const c = vectorArg(e.args[0], ctx, true);
      const to = e.args.length > 1 ? scalarArg(e.args[1], ctx, 'round() with a to_nearest') : () => 'toFloat64(1)';
      // Go: math.Floor(f*toNearestInverse+0.5) / toNearestInverse
      const x = `floor(_x * (1 / ${to('_i')}) + 0.5) / (1 / ${to('_i')})`;
      return { type: 'vector', sql: `SELECT ${markedLabels(c, '_l')} AS labels, _i AS i, ${x} AS v FROM ${from(c.sql)}`, name: marked(c) };
    }
    case 'clamp':
    case 'clamp_min':
    case 'clamp_max': {
      const c = vectorArg(e.args[0], ctx, true);
      const lo = f === 'clamp_max' ? null : scalarArg(e.args[1], ctx, `${f}() with a bound`)('_i');
      const hi = f === 'clamp' ? scalarArg(e.args[2], ctx, 'clamp() with a bound')('_i') : f === 'clamp_max' ? scalarArg(e.args[1], ctx, 'clamp_max() with a bound')('_i') : null;
      // Go's math.Max/Min: any NaN operand gives NaN; clamp with max < min returns nothing.
      const nanIn = ['_x', lo, hi].filter((x): x is string => x !== null).map((x) => `isNaN(${x})`).join(' OR ');
      let x = '_x';
      if (hi !== null) x = `if(${x} > ${hi}, ${hi}, ${x})`;
      if (lo !== null) x = `if(${x} < ${lo}, ${lo}, ${x})`;
      const where = f === 'clamp' ? ` WHERE NOT (${hi} < ${lo})` : '';
      return { type: 'vector', sql: `SELECT ${markedLabels(c, '_l')} AS labels, _i AS i, if(${nanIn}, nan, ${x}) AS v FROM ${from(c.sql)}${where}`, name: marked(c) };
    }
  }
  throw new UnsupportedQueryError(`the function ${f}()`);
}

/**
 * histogram_quantile over classic buckets (histogram-quantile.ts), with the engine's annotations:
 * φ outside [0, 1] at any step, a missing or malformed `le`, counts made monotonic (these two
 * name the metric only while the rows still carry `__name__`).
 */
function histogramQuantile(e: Call, ctx: Ctx): Vec {
  const phi = scalarArg(e.args[0], ctx, 'histogram_quantile() with a φ');
  gridParamCheck(ctx, 'histogram_quantile', e.args[0]);
  const c = vectorArg(e.args[1], ctx);
  const rows = from(c.sql);
  const q = histogramQuantileRows(phi('_i'), rows, c.name === 'removed', ctx.p);
  bucketChecks(rows, q, c.name === 'removed', ctx);
  return { sql: `SELECT ${markedLabels(c, '_g')} AS labels, _i AS i, _v AS v FROM (${q})`, name: marked(c) };
}

/** The annotations of a quantile over the bucket rows `rows`: missing or malformed `le`, and counts made monotonic in the kernel rows `q`. */
function bucketChecks(rows: string, q: string, nameRemoved: boolean, ctx: Ctx): void {
  ctx.checks.push({ kind: 'bucket_label', sql: bucketLabelRows(rows, nameRemoved, ctx.p), values: [] });
  ctx.checks.push({ kind: 'monotonicity', sql: `SELECT DISTINCT [_g['__name__']] AS t FROM (${q}) WHERE _forced`, values: [] });
}

/**
 * histogram_quantiles(v, "label", φ...): histogram_quantile for each φ, each result series
 * labelled `label` = φ as the engine formats it (formatOpenMetricsFloat: `0.0`, `0.25`, `1.0`),
 * overwriting a label of that name; outputs that then collide fail the query's final check, as in
 * the engine. Annotations as histogram_quantile's. The label values are made here, so each φ must
 * be a number literal. Several φ in [0, 1] over buckets whose bounds repeat are refused
 * (histogram-quantile.ts quantileRows says why).
 */
function histogramQuantiles(e: Call, ctx: Ctx): Vec {
  const label = unwrap(e.args[1]);
  if (label.kind !== 'StringLiteral') throw new UnsupportedQueryError('histogram_quantiles() with a label name that is not a string literal');
  if (!isValidUtf8LabelName(label.value)) ctx.checks.push({ kind: 'error', sql: null, values: [0], message: `invalid label name ${JSON.stringify(label.value)}` });
  let inUnitRange = 0;
  const phis = e.args.slice(2).map((a) => {
    const phi = unwrap(a);
    if (phi.kind !== 'NumberLiteral') throw new UnsupportedQueryError('histogram_quantiles() with a φ that is not a number literal');
    gridParamCheck(ctx, 'histogram_quantile', a);
    if (phi.value >= 0 && phi.value <= 1) inUnitRange++;
    return [floatLiteral(phi.value), ctx.p.string(formatOpenMetricsFloat(phi.value))] as const;
  });
  const c = vectorArg(e.args[0], ctx);
  // The engine sets the label and marks the series, so a φ written into __name__ goes at the end;
  // over rows whose names were already removed it would stay.
  if (label.value === '__name__' && c.name === 'removed') throw new UnsupportedQueryError('histogram_quantiles() labelling φ as __name__ where names were removed early');
  const rows = from(c.sql);
  const q = histogramQuantilesRows(phis, rows, c.name === 'removed', ctx.p, inUnitRange > 1);
  bucketChecks(rows, q, c.name === 'removed', ctx);
  const labelled = `mapUpdate(${markedLabels(c, '_g')}, map(${ctx.p.string(label.value)}, _qn))`;
  return { sql: `SELECT ${labelled} AS labels, _i AS i, _v AS v FROM (${q})`, name: marked(c) };
}

/**
 * sort, sort_desc, sort_by_label(_desc): the rows unchanged, with `o` their rank at each grid point
 * in the engine's order. sort's order is stable over the engine's input order, which is known for a
 * selector (by label set); over another argument a tie in value is refused when the order is asked
 * for. sort_by_label compares the named labels' values in natural order, then whole label sets, so
 * the input order never matters; refused are the values it cannot key (natural-sort.ts) and, once a
 * function dropped `__name__`, a tie the engine would break on the name SQL no longer has.
 */
function sortCall(f: string, e: Call, ctx: Ctx): Vec {
  // The engine's warning: a range result is sorted by labels whatever sort did.
  if (ctx.startMs !== ctx.endMs) ctx.warnings.add(SORT_IN_RANGE_QUERY_WARNING);
  const c = vectorArg(e.args[0], ctx);
  const exact = unwrap(e.args[0]).kind === 'VectorSelector';
  const refuse = (what: string) => `'${UNSUPPORTED_PREFIX}${f} ${what}'`;
  let order: string;
  let guard: string;
  if (f === 'sort' || f === 'sort_desc') {
    // `+ 0` makes -0 a 0 (they are equal to the engine's comparison, not to ClickHouse's grouping).
    const x = `if(isNaN(_x), toFloat64(0), _x + 0)`;
    order = `isNaN(_x), ${f === 'sort_desc' ? `-${x}` : x}, ${labelOrderKey('_l')}`;
    guard = exact ? '0' : `throwIf(count() OVER (PARTITION BY _i, isNaN(_x), ${x}) > 1, ${refuse('over an expression other than a selector, where tied values decide the order of an instant result')})`;
  } else {
    const names = e.args.slice(1).map((a) => {
      const s = unwrap(a);
      if (s.kind !== 'StringLiteral') throw new UnsupportedQueryError(`${f}() with a label name that is not a string literal`);
      return ctx.p.string(s.value);
    });
    const values = names.map((n) => `_l[${n}]`);
    const keys = values.map(naturalKey);
    const tied = `PARTITION BY _i${keys.map((k) => `, ${k}`).join('')}`;
    order = `(${[...keys, labelOrderKey('_l')].join(', ')})${f === 'sort_by_label_desc' ? ' DESC' : ''}`;
    const guards = [
      `throwIf(${values.length === 0 ? '0' : values.map(naturalKeyless).join(' OR ')}, ${refuse('over label values with runs of 16 digits or more')})`,
      `throwIf(uniqExact((${values.join(', ')}, 0)) OVER (${tied}) > 1, ${refuse('over label values that differ only in leading zeros')})`,
    ];
    // The engine's natural order ranks an empty value neither below nor above another (its comparator answers "after" both ways round).
    values.forEach((v, j) => {
      const before = `PARTITION BY _i${values.slice(0, j).map((w) => `, ${w}`).join('')}`;
      guards.push(`throwIf(countIf(${v} = '') OVER (${before}) > 0 AND countIf(${v} != '') OVER (${before}) > 0, ${refuse('where a series lacks a label another one has')})`);
    });
    if (c.name === 'removed') guards.push(`throwIf(count() OVER (${tied}) > 1, ${refuse('where the removed __name__ would break a tie')})`);
    guard = guards.join(' + ');
  }
  return {
    sql: `SELECT _l AS labels, _i AS i, _x AS v, ${guard} + row_number() OVER (PARTITION BY _i ORDER BY ${order}) AS o FROM ${from(c.sql)}`,
    name: c.name,
    ordered: true,
  };
}

/** The grid time (ms) of grid index `i`. */
function gridTime(i: string, ctx: Ctx): string {
  return `(${ctx.p.int(ctx.startMs)} + ${i} * ${ctx.p.int(ctx.stepMs)})`;
}

/** One series without labels holding `value` (SQL over the grid index `i`) at every grid point. */
function constantVector(value: string, ctx: Ctx): string {
  return `SELECT CAST(map(), 'Map(String, String)') AS labels, toInt64(number) AS i, toFloat64(${value}) AS v FROM numbers(${ctx.p.int(ctx.n)})`;
}

/** absent() / absent_over_time(): 1, labelled from `arg`'s equality matchers, at every grid point that `presentAt` (a SELECT of `_i`) lacks. */
function absentRows(arg: Expr, presentAt: string, ctx: Ctx): string {
  const labels = absentLabels(arg);
  const pairs: string[] = [];
  for (let k = 0; k < labels.length; k += 2) pairs.push(`${ctx.p.string(labels[k])}, ${ctx.p.string(labels[k + 1])}`);
  const map = pairs.length === 0 ? `CAST(map(), 'Map(String, String)')` : `map(${pairs.join(', ')})`;
  return `SELECT ${map} AS labels, toInt64(number) AS i, toFloat64(1) AS v FROM numbers(${ctx.p.int(ctx.n)}) WHERE toInt64(number) NOT IN (${presentAt})`;
}

// ---------------------------------------------------------------------------------------------
// Subqueries

/** The inner step of a subquery written without one (`x[5m:]`): the engine's default, 1m. */
const DEFAULT_SUBQUERY_STEP_MS = 60_000;

/** The absolute time (ms) of an `@` modifier; `@ start()` / `@ end()` are the query's own start and end, also inside a subquery. */
function atMs(at: NonNullable<VectorSelector['at']>, ctx: Ctx): number {
  const ms = at.kind === 'timestamp' ? at.ms : at.kind === 'start' ? ctx.query.startMs : ctx.query.endMs;
  if (!Number.isSafeInteger(ms)) throw new UnsupportedQueryError('an @ timestamp that is not a whole millisecond');
  return ms;
}

/** A range function over a subquery: the subquery's windows, then the function's value as over a range selector. */
function subqueryRangeFunction(f: string, e: Call, mi: number, sq: SubqueryExpr, ctx: Ctx): Compiled {
  const value = rangeFunctionValue(f, e, mi, sq, ctx).replaceAll('_W', `toFloat64(${ctx.p.int(sq.rangeMs)})`);
  const rows = subqueryWindowed(sq, value, ctx);
  if (f === 'quantile_over_time') paramCheck(ctx, f, e.args[0], (s) => `SELECT v FROM (${subqueryWindowed(sq, `toFloat64(${s})`, ctx).sql})`);
  if (f === 'double_exponential_smoothing') smoothingCheck(e, ctx, () => subqueryWindowed(sq, 'toFloat64(1)', ctx).sql);
  // last_over_time and first_over_time keep the name, and the inner expression's pending removal with it.
  if (KEEPS_NAME.has(f)) return { type: 'vector', sql: rows.sql, name: rows.name };
  return { type: 'vector', sql: `SELECT ${markedLabels(rows, '_l')} AS labels, _i AS i, _x AS v FROM ${from(rows.sql)}`, name: marked(rows) };
}

/**
 * A subquery evaluated as the engine does (evaluator.ts evalSubquery): the inner expression on a grid
 * of its own, every `step` aligned to multiples of the step in absolute time, from just after the
 * first window's start to the last window's end; then each outer grid point's left-open window
 * `(t - offset - range, t - offset]` over those points (stale markers dropped), as rows (labels, i, T,
 * V, E) from which `value` (an expression over T, V, E, i) computes the point; NULL: no point.
 */
function subqueryWindowed(sq: SubqueryExpr, value: string, ctx: Ctx): Vec {
  const pinned = sq.at !== null;
  const g = pinned ? { start: atMs(sq.at!, ctx), step: 1, n: 1 } : { start: ctx.startMs, step: ctx.stepMs, n: ctx.n };
  const interval = sq.stepMs > 0 ? sq.stepMs : DEFAULT_SUBQUERY_STEP_MS;
  for (const v of [sq.rangeMs, sq.offsetMs, interval]) if (!Number.isSafeInteger(v)) throw new UnsupportedQueryError('durations that are not whole milliseconds');
  const refStart = g.start - sq.offsetMs - sq.rangeMs;
  const innerEnd = g.start + (g.n - 1) * g.step - sq.offsetMs;
  let innerStart = interval * Math.trunc(refStart / interval);
  if (innerStart <= refStart) innerStart += interval;
  const innerN = Math.floor((innerEnd - innerStart) / interval) + 1;
  const empty = `SELECT CAST(map(), 'Map(String, String)') AS labels, toInt64(0) AS i, toFloat64(0) AS v WHERE 0`;
  if (innerN <= 0) return { sql: empty, name: 'kept' };
  const innerCtx: Ctx = { ...ctx, startMs: innerStart, endMs: innerEnd, stepMs: interval, n: innerN };
  const compiled = compile(unwrap(sq.expr), innerCtx);
  if (compiled.type !== 'vector') throw new Error('bug: the parser let a subquery of a scalar through');
  const inner = settle(compiled);
  const p = ctx.p;
  const S = p.int(g.start);
  const D = p.int(g.step);
  const N = p.int(g.n);
  const O = p.int(sq.offsetMs);
  const W = p.int(sq.rangeMs);
  const windows = `SELECT _l AS labels, _wi AS i, arraySort(groupArray(_t)) AS T, arraySort((x, y) -> y, groupArray(_x), groupArray(_t)) AS V, ${S} + _wi * ${D} - ${O} AS E
FROM (
  SELECT _l, _x, ${p.int(innerStart)} + _i * ${p.int(interval)} AS _t,
    arrayJoin(range(greatest(toInt64(0), toInt64(ceil((_t + ${O} - ${S}) / ${D}))), least(${N} - 1, toInt64(ceil((_t + ${O} + ${W} - ${S}) / ${D})) - 1) + 1)) AS _wi
  FROM ${from(inner.sql)} WHERE reinterpretAsUInt64(_x) != ${STALE_BITS}
)
GROUP BY _l, _wi`;
  const rows = `SELECT labels, i, assumeNotNull(_r) AS v FROM (SELECT labels, i, ${value} AS _r FROM (${windows})) WHERE _r IS NOT NULL`;
  if (!pinned) return { sql: rows, name: inner.name };
  // `@`: one evaluation, the same at every point of the query's grid.
  return { sql: `SELECT _l AS labels, toInt64(arrayJoin(range(${p.int(ctx.n)}))) AS i, _x AS v FROM ${from(rows)}`, name: inner.name };
}

// ---------------------------------------------------------------------------------------------
// Aggregations

/** The sorted map of the given labels that are present (non-empty) in `col`. */
function keepLabels(col: string, names: readonly string[], p: Params): string {
  const sorted = [...new Set(names)].sort();
  if (sorted.length === 0) return `CAST(map(), 'Map(String, String)')`;
  const pairs = sorted.map((n) => {
    const k = p.string(n);
    return `${k}, ${col}[${k}]`;
  });
  return `mapFilter((k, x) -> x != '', map(${pairs.join(', ')}))`;
}

function withoutLabels(col: string, names: readonly string[], p: Params): string {
  return `mapFilter((k, x) -> NOT has(${p.strings([...names, '__name__'])}, k), ${col})`;
}

/** A key that orders label maps as the engine orders label sets: the sorted (name, value) pairs, flattened, compared as arrays. */
function labelOrderKey(col: string): string {
  return `arrayFlatten(arrayMap((k, x) -> [k, x], mapKeys(mapSort(${col})), mapValues(mapSort(${col}))))`;
}

/** A reference to `__name__` where the rows lost it early (NameState 'removed'), which the engine would still see. */
function nameRef(names: readonly string[], name: NameState, what: string): void {
  if (name === 'removed' && names.includes('__name__')) {
    throw new UnsupportedQueryError(`${what} referring to __name__ where rows with and without a pending removal of it were combined (PromQL 3's delayed name removal)`);
  }
}

/**
 * Registers the annotation check (annotation-checks.ts) of parameter `param`: none for a literal
 * the engine says nothing about, the literal itself when it depends on no data, else a statement
 * over `values`, a SELECT of column `v` given the parameter's SQL (over the rows' grid index `i`).
 */
function paramCheck(ctx: Ctx, kind: CheckKind, param: Expr, values: (s: string) => string): void {
  const p = unwrap(param);
  if (p.kind === 'NumberLiteral' && literalIsQuiet(kind, p.value)) return;
  if (p.kind === 'NumberLiteral' && kind !== 'quantile_over_time') {
    ctx.checks.push({ kind, sql: null, values: [p.value] });
    return;
  }
  const s = scalarArg(param, ctx, `the parameter of ${kind}`);
  ctx.checks.push({ kind, sql: `SELECT DISTINCT toString(reinterpretAsUInt64(toFloat64(v))) AS b FROM (${values(s('i'))})`, values: [] });
}

/** An aggregation's parameter at every point of the grid (the engine evaluates it at every step). */
function gridParamCheck(ctx: Ctx, kind: CheckKind, param: Expr): void {
  paramCheck(ctx, kind, param, (s) => `SELECT ${s} AS v FROM (SELECT toInt64(number) AS i FROM numbers(${ctx.p.int(ctx.n)}))`);
}

function aggregate(e: AggregateExpr, ctx: Ctx): Vec {
  // topk, bottomk, limitk and limit_ratio pass their input's series on: a 'mixed' input is settled for them.
  const passesSeries = e.op === 'topk' || e.op === 'bottomk' || e.op === 'limitk' || e.op === 'limit_ratio';
  const arg = vectorArg(e.expr, ctx, true);
  const c = passesSeries ? settle(arg) : arg;
  if (!e.without) nameRef(e.grouping, c.name, `${e.op} by (...)`);
  const key = e.without ? withoutLabels('_l', e.grouping, ctx.p) : keepLabels('_l', e.grouping, ctx.p);
  if (e.op === 'topk' || e.op === 'bottomk') return heapAggregate(e, c, key, ctx);
  // count_values' output is never marked (the engine's flag false), whatever its input's were.
  if (e.op === 'count_values') return countValues(e, c, ctx);
  if (e.op === 'limitk') return limitK(e, c, key, ctx);
  if (e.op === 'limit_ratio') return limitRatio(e, c, ctx);
  const out = groupAggregate(e, c, key, ctx);
  if (c.name !== 'mixed') return { sql: out, name: c.name };
  // A group's output is marked if any of its series was, at any step.
  const markedGroups = `SELECT mapKeys(_fg), mapValues(_fg) FROM (SELECT ${key} AS _fg FROM ${fromFlagged(c)} WHERE _d = 1)`;
  return { sql: `SELECT labels, i, v, toUInt8((mapKeys(labels), mapValues(labels)) IN (${markedGroups})) AS d FROM (${out})`, name: 'mixed' };
}

/** sum, count, avg, stddev, stdvar, group, min, max, quantile: rows (labels, i, v). */
function groupAggregate(e: AggregateExpr, c: Vec, key: string, ctx: Ctx): string {
  let agg: string;
  // The group's values in the engine's order of input series (by label set), for the algorithms
  // whose rounding depends on it. Over a grid of several points, sorted by `_r`, the series' rank
  // (seriesRanked below); at one point every row is a series of its own, and ranking first would
  // only add steps, so the rows are sorted by the key itself.
  const perSeries = ctx.n > 1;
  const inSeriesOrder = perSeries ? 'arraySort((x, r) -> r, groupArray(_x), groupArray(_r))' : `arrayMap(p -> p.2, arraySort(p -> p.1, groupArray((${labelOrderKey('_l')}, _x))))`;
  let needsOrder = false;
  switch (e.op) {
    case 'sum':
      agg = neumaierSum(inSeriesOrder);
      needsOrder = true;
      break;
    case 'count':
      agg = 'toFloat64(count())';
      break;
    case 'avg':
      agg = meanOf(inSeriesOrder);
      needsOrder = true;
      break;
    case 'stdvar':
      agg = aggregationVarianceOf(inSeriesOrder);
      needsOrder = true;
      break;
    case 'stddev':
      agg = `sqrt(${aggregationVarianceOf(inSeriesOrder)})`;
      needsOrder = true;
      break;
    case 'group':
      agg = 'toFloat64(1)';
      break;
    case 'min':
      agg = nanAwareExtreme('groupArray(_x)', 'arrayMin');
      break;
    case 'max':
      agg = nanAwareExtreme('groupArray(_x)', 'arrayMax');
      break;
    case 'quantile': {
      gridParamCheck(ctx, 'quantile', e.param!);
      // φ per grid point; outside [0, 1] the answer is ±Inf (NaN for a NaN φ), with the check's warning.
      agg = quantileOf(`toFloat64(${scalarArg(e.param!, ctx, 'quantile() with a parameter')('_i')})`, 'groupArray(_x)');
      break;
    }
    default:
      throw new UnsupportedQueryError(`the aggregation ${e.op}`);
  }
  if (needsOrder && perSeries) return `SELECT _g AS labels, _i AS i, ${agg} AS v FROM (${seriesRanked(c, key)}) GROUP BY _g, _i`;
  return `SELECT ${key} AS labels, _i AS i, ${agg} AS v FROM ${from(c.sql)} GROUP BY labels, _i`;
}

/**
 * The rows of `c` as (_g, _r, _i, _x): `_g` the group's labels (`key` over `_l`), `_r` the rank of
 * the row's label set among all of c's label sets (by labelOrderKey). The rows are grouped by label
 * set, ranked once per series, and unfolded again, so each group sorts its values by a number.
 * Collecting labelOrderKey per row into groupArray instead (arrays of Strings, which groupArray
 * stores and merges element by element) took twice the CPU time for `sum by (job)` over 7.2M rows
 * (README.md beside this file).
 */
function seriesRanked(c: Vec, key: string): string {
  return `SELECT _g, _r, _i, _x FROM (
SELECT ${key} AS _g, row_number() OVER (ORDER BY ${labelOrderKey('_l')}) AS _r, _is, _xs
FROM (SELECT _l, groupArray(_i) AS _is, groupArray(_x) AS _xs FROM ${from(c.sql)} GROUP BY _l)
) ARRAY JOIN _is AS _i, _xs AS _x`;
}

/**
 * limitk: per group and grid point, the first k samples in the engine's input order, which is
 * known for a selector (by label set). Over another argument which k are first is unknown, so a
 * group with more than k samples is refused at run time.
 */
function limitK(e: AggregateExpr, c: Vec, key: string, ctx: Ctx): Vec {
  gridParamCheck(ctx, 'k', e.param!);
  const k = scalarArg(e.param!, ctx, 'limitk() with a k')('_i');
  const exact = unwrap(e.expr).kind === 'VectorSelector';
  const guard = exact ? '' : ` AND throwIf(_n > _k, '${UNSUPPORTED_PREFIX}limitk over an expression other than a selector, where a group has more than k series') = 0`;
  const ranked = `SELECT _l, _i, _x, row_number() OVER (PARTITION BY _g, _i ORDER BY _ok) AS _r, count() OVER (PARTITION BY _g, _i) AS _n, min(_ok) OVER (PARTITION BY _g, _i) AS _gk, toInt64(trunc(toFloat64(${k}))) AS _k
FROM (SELECT _l, _i, _x, ${key} AS _g, ${labelOrderKey('_l')} AS _ok FROM ${from(c.sql)})`;
  // An instant result lists each group's samples together, groups in order of their first series.
  return {
    sql: `SELECT _l AS labels, _i AS i, _x AS v, (_gk, _r) AS o FROM (${ranked}) WHERE _k >= 1 AND _r <= _k${guard}`,
    name: c.name,
    ...(exact ? { ordered: true } : {}),
  };
}

/** A series' labels as the engine's hashLabelsXX serialises them: each name and value as uvarint(byte length) + bytes, in label order. */
function hashedLabels(col: string): string {
  const n = 'length(_hs)';
  const byte = (shift: number, last: boolean) => (last ? `bitShiftRight(${n}, ${shift})` : `bitOr(bitAnd(bitShiftRight(${n}, ${shift}), 127), 128)`);
  const uvarint = `multiIf(${n} < 128, char(${n}), ${n} < 16384, char(${byte(0, false)}, ${byte(7, true)}), ${n} < 2097152, char(${byte(0, false)}, ${byte(7, false)}, ${byte(14, true)}), char(${byte(0, false)}, ${byte(7, false)}, ${byte(14, false)}, ${byte(21, true)}))`;
  return `xxHash64(arrayStringConcat(arrayMap(_hs -> concat(${uvarint}, _hs), ${labelOrderKey(col)})))`;
}

/**
 * limit_ratio: a series is kept when its sampling offset (the xxHash64 of its labels over 2^64, as
 * the engine's ratioSampleOffset) is below the ratio (or, for a negative ratio, at or above 1 +
 * ratio); the choice is per series, so the input order does not matter. The engine hashes the
 * labels it still holds, `__name__` included, so after a function dropped the name (which the
 * SQL rows no longer carry) the query is refused.
 */
function limitRatio(e: AggregateExpr, c: Vec, ctx: Ctx): Vec {
  if (c.name === 'removed') throw new UnsupportedQueryError('limit_ratio over an expression whose __name__ was removed early (the engine samples by the labels before that removal)');
  gridParamCheck(ctx, 'ratio', e.param!);
  const param = `toFloat64(${scalarArg(e.param!, ctx, 'limit_ratio() with a ratio')('_i')})`;
  const ratio = `greatest(toFloat64(-1), least(toFloat64(1), ${param}))`;
  const offset = `(toFloat64(${hashedLabels('_l')}) / 18446744073709551616)`;
  return {
    sql: `SELECT _l AS labels, _i AS i, _x AS v FROM ${from(c.sql)} WHERE ${param} != 0 AND ((${ratio} >= 0 AND ${offset} < ${ratio}) OR (${ratio} < 0 AND ${offset} >= 1 + ${ratio}))`,
    name: c.name,
  };
}

/**
 * count_values: each sample labelled with its value (formatted as the engine formats it, in SQL:
 * float-format.ts) under the parameter's label name, then counted per group of the grouping
 * labels (`by` keeps the value label as well).
 */
function countValues(e: AggregateExpr, c: Vec, ctx: Ctx): Vec {
  const param = unwrap(e.param!);
  if (param.kind !== 'StringLiteral') throw new UnsupportedQueryError('count_values with a parameter that is not a string literal');
  if (!isValidUtf8LabelName(param.value)) ctx.checks.push({ kind: 'error', sql: null, values: [0], message: `invalid label name ${JSON.stringify(param.value)}` });
  const labelled = `mapSort(mapUpdate(_l, map(${ctx.p.string(param.value)}, ${formatFloatPlainSql('_x')})))`;
  const key = e.without ? withoutLabels('_cl', e.grouping, ctx.p) : keepLabels('_cl', [...e.grouping, param.value], ctx.p);
  return {
    sql: `SELECT ${key} AS labels, _i AS i, toFloat64(count()) AS v FROM (SELECT ${labelled} AS _cl, _i FROM ${from(c.sql)}) GROUP BY labels, _i`,
    name: 'kept',
  };
}

/** Equal for the engine's sorts and heaps, which treat every NaN alike. */
function tie(a: string, b: string): string {
  return `(${a} = ${b} OR (isNaN(${a}) AND isNaN(${b})))`;
}

/**
 * topk / bottomk: per group and grid point, the group's samples in the engine's input order go
 * through a replay of its heap (heap-select.ts), so ties resolve as in the engine; the output
 * keeps the input series' labels, and `o` orders an instant result as the engine does (groups by
 * their first input series, then by value, ties in heap order).
 *
 * The engine's input order is known here for a selector argument (series sorted by label set). For
 * any other argument it depends on how the engine built the argument's series, so there the
 * answer is only given where ties cannot change which series are kept, and a tie that would is
 * refused at run time; the order of an instant result is then by value, ties and groups by label
 * set (an instant vector's order is part of the answer only for sort*).
 */
function heapAggregate(e: AggregateExpr, c: Vec, key: string, ctx: Ctx): Vec {
  const op = e.op;
  const bottom = op === 'bottomk';
  gridParamCheck(ctx, 'k', e.param!);
  const k = scalarArg(e.param!, ctx, `${op}() with a k`)('_i');
  const exact = unwrap(e.expr).kind === 'VectorSelector';
  const grouped = `SELECT _i, arraySort(p -> p.1, groupArray((${labelOrderKey('_l')}, _x, _l))) AS _in, arrayMap(p -> p.2, _in) AS _vs, toInt64(trunc(toFloat64(${k}))) AS _k
FROM (SELECT _l, _i, _x, ${key} AS _g FROM ${from(c.sql)}) GROUP BY _g, _i HAVING _k >= 1`;
  const sorted = `arraySort(x -> (isNaN(x), if(isNaN(x), toFloat64(0), ${bottom ? 'x' : '-x'})), _vs)`;
  const refuse = (what: string) => `'${UNSUPPORTED_PREFIX}${op} over an expression other than a selector, ${what}'`;
  // Which samples are kept is ambiguous only when the k-th and the next are tied. (Their order among
  // themselves is not part of the answer: only sort*'s order is; here tied kept samples follow label order.)
  const setGuard = exact ? '' : ` AND throwIf(_k < length(_vs) AND ${tie('_ss[_k]', '_ss[_k + 1]')}, ${refuse('where tied values decide which series are kept')}) = 0`;
  // Without any tie (NaNs count as tied) the heap keeps the k first of the by-value order whatever
  // the input order: the replay, which costs a lambda call per sample, is needed only with ties.
  const distinct = `length(arrayDistinct(arrayMap(x -> if(isNaN(x), toUInt64(0), reinterpretAsUInt64(x + 0)), _vs))) = length(_vs)`;
  const selection = `if(${distinct}, arraySlice(${heapOutputOrder('_vs', 'arrayEnumerate(_vs)', bottom)}, 1, _k), ${heapOutputOrder('_vs', heapSelect('_vs', '_k', bottom), bottom)})`;
  const selected = `SELECT _i, _in, _vs, ${sorted} AS _ss, _k, ${selection} AS _sel FROM (${grouped})`;
  return {
    sql: `SELECT _in[_p.1].3 AS labels, _i AS i, _in[_p.1].2 AS v, (_in[1].1, _p.2) AS o
FROM (SELECT _i, _in, _ss, _k, arrayJoin(arrayZip(_sel, arrayEnumerate(_sel))) AS _p FROM (${selected}) WHERE 1${setGuard})`,
    name: c.name,
    ordered: true,
  };
}

// ---------------------------------------------------------------------------------------------
// Binary operators

const COMPARISON = new Set(['==', '!=', '>', '<', '>=', '<=']);

/** Go's float arithmetic and comparisons (IEEE; `%` is math.Mod). */
function opSql(op: string, a: string, b: string): string {
  switch (op) {
    case '+':
    case '-':
    case '*':
    case '/':
      return `(${a} ${op} ${b})`;
    case '^':
      return `pow(${a}, ${b})`;
    case '%':
      return `if(${b} = 0 OR isNaN(${a}) OR isNaN(${b}) OR isInfinite(${a}), nan, if(isInfinite(${b}), ${a}, ${a} % ${b}))`;
    case 'atan2':
      return `atan2(${a}, ${b})`;
    case '==':
      return `(${a} = ${b})`;
    case '!=':
    case '>':
    case '<':
    case '>=':
    case '<=':
      return `(${a} ${op} ${b})`;
  }
  throw new Error(`bug: opSql(${op})`);
}

function binary(e: BinaryExpr, ctx: Ctx): Compiled {
  const l = compile(unwrap(e.lhs), ctx);
  const r = compile(unwrap(e.rhs), ctx);
  const cmp = COMPARISON.has(e.op);
  if (l.type === 'scalar' && r.type === 'scalar') {
    return { type: 'scalar', expr: (i) => (cmp ? `toFloat64(${opSql(e.op, l.expr(i), r.expr(i))})` : opSql(e.op, l.expr(i), r.expr(i))) };
  }
  if (l.type === 'vector' && r.type === 'vector') return { type: 'vector', ...vectorBinary(e, l, r, ctx) };
  const vec = (l.type === 'vector' ? l : r) as Vec;
  const filter = cmp && !e.returnBool;
  const s = (l.type === 'scalar' ? l.expr : (r as { expr: Scalar }).expr)('_i');
  const a = l.type === 'vector' ? '_x' : s;
  const b = l.type === 'vector' ? s : '_x';
  const result = opSql(e.op, a, b);
  if (filter) {
    // The vector's value is kept, whichever side it is on, and so are its flags.
    if (vec.name === 'mixed') return { type: 'vector', sql: `SELECT labels, i, v, d FROM (SELECT _l AS labels, _i AS i, _x AS v, _d AS d FROM ${fromFlagged(vec)} WHERE ${result})`, name: 'mixed' };
    return { type: 'vector', sql: `SELECT _l AS labels, _i AS i, _x AS v FROM ${from(vec.sql)} WHERE ${result}`, name: vec.name };
  }
  const value = cmp ? `toFloat64(${result})` : result;
  return { type: 'vector', sql: `SELECT ${markedLabels(vec, '_l')} AS labels, _i AS i, ${value} AS v FROM ${from(vec.sql)}`, name: marked(vec) };
}

/**
 * `or`: the lhs, and the rhs where no lhs series matches at that step. Each sample keeps its series'
 * flag, so sides that differ make a 'mixed' result; beside one whose names were removed, the other's
 * marked rows lose theirs too.
 */
function vectorOr(m: VectorMatching, lhs: Vec, rhs: Vec, ctx: Ctx): Vec {
  const p = ctx.p;
  if (m.on) nameRef(m.labels, lhs.name === 'removed' ? lhs.name : rhs.name, 'on (...)');
  const L = `SELECT _l, _i, _x, ${signature('_l', m, p)} AS _s FROM ${from(lhs.sql)}`;
  const R = `SELECT _rl, _ri, _rx, ${signature('_rl', m, p)} AS _rs FROM ${from(rhs.sql, '_r')}`;
  const rhsRows = `WHERE (_rs, _ri) NOT IN (SELECT _s, _i FROM (${L}))`;
  if (lhs.name === rhs.name && lhs.name !== 'mixed') {
    return { sql: `SELECT _l AS labels, _i AS i, _x AS v FROM (${L}) UNION ALL SELECT _rl AS labels, _ri AS i, _rx AS v FROM (${R}) ${rhsRows}`, name: lhs.name };
  }
  if (lhs.name === 'removed' || rhs.name === 'removed') {
    const [l, r] = [settle(lhs), settle(rhs)];
    const side = (c: Vec, col: string) => (c.name === 'pending' ? dropMetadata(col) : col);
    const Ls = `SELECT _l, _i, _x, ${signature('_l', m, p)} AS _s FROM ${from(l.sql)}`;
    const Rs = `SELECT _rl, _ri, _rx, ${signature('_rl', m, p)} AS _rs FROM ${from(r.sql, '_r')}`;
    return {
      sql: `SELECT ${side(l, '_l')} AS labels, _i AS i, _x AS v FROM (${Ls}) UNION ALL SELECT ${side(r, '_rl')} AS labels, _ri AS i, _rx AS v FROM (${Rs}) WHERE (_rs, _ri) NOT IN (SELECT _s, _i FROM (${Ls}))`,
      name: 'removed',
    };
  }
  const Rf = `SELECT _rl, _ri, _rx, _rd, ${signature('_rl', m, p)} AS _rs FROM ${fromFlagged(rhs, '_r')}`;
  return mixedSeries(`SELECT _l AS labels, _i AS i, _x AS v, _d AS d FROM ${fromFlagged(lhs)} UNION ALL SELECT _rl AS labels, _ri AS i, _rx AS v, _rd AS d FROM (${Rf}) ${rhsRows}`);
}

function signature(col: string, m: VectorMatching, p: Params): string {
  return m.on ? keepLabels(col, m.labels, p) : withoutLabels(col, m.labels, p);
}

function vectorBinary(e: BinaryExpr, lhs: Vec, rhs: Vec, ctx: Ctx): Vec {
  const m: VectorMatching = e.matching ?? { card: 'one-to-one', on: false, labels: [], include: [] };
  const p = ctx.p;
  if (e.op === 'or') return vectorOr(m, lhs, rhs, ctx);
  const l = settle(lhs);
  const r = settle(rhs);
  if (m.on) nameRef(m.labels, l.name === 'removed' ? l.name : r.name, 'on (...)');
  const L = `SELECT _l, _i, _x, ${signature('_l', m, p)} AS _s FROM ${from(l.sql)}`;
  const R = `SELECT _rl, _ri, _rx, ${signature('_rl', m, p)} AS _rs FROM ${from(r.sql, '_r')}`;
  switch (e.op) {
    case 'and':
      return { sql: `SELECT _l AS labels, _i AS i, _x AS v FROM (${L}) WHERE (_s, _i) IN (SELECT _rs, _ri FROM (${R}))`, name: l.name };
    case 'unless':
      return { sql: `SELECT _l AS labels, _i AS i, _x AS v FROM (${L}) WHERE (_s, _i) NOT IN (SELECT _rs, _ri FROM (${R}))`, name: l.name };
  }
  const cmp = COMPARISON.has(e.op);
  const many = m.card === 'one-to-many' ? r : l;
  const one = m.card === 'one-to-many' ? l : r;
  // The engine's result keeps the "many" side's labels (the name too, unless the operator is arithmetic)
  // and copies group_x's labels from the "one" side; neither may have lost a name the engine still has.
  if (m.include.includes('__name__') && one.name === 'removed') {
    throw new UnsupportedQueryError('group_left/group_right (__name__) referring to __name__ where rows with and without a pending removal of it were combined');
  }
  if (cmp && !e.returnBool && many.name === 'removed') {
    throw new UnsupportedQueryError('a comparison between vectors keeping the labels of rows whose __name__ was removed early (the engine keeps it there)');
  }
  // The "one" side must be unique per signature at a step where the other side has samples.
  const oneSide = m.card === 'one-to-many' ? { q: L, s: '_s', i: '_i', other: R, oi: '_ri', side: 'left' } : { q: R, s: '_rs', i: '_ri', other: L, oi: '_i', side: 'right' };
  const dupCheck = `throwIf((SELECT count() FROM (SELECT ${oneSide.s}, ${oneSide.i} FROM (${oneSide.q}) GROUP BY ${oneSide.s}, ${oneSide.i} HAVING count() > 1) WHERE ${oneSide.i} IN (SELECT ${oneSide.oi} FROM (${oneSide.other}))) > 0, 'many-to-many matching not allowed: matching labels must be unique on one side') = 0`;
  const value = opSql(e.op, '_x', '_rx');
  // The result's labels come from the "many" side (the lhs unless group_right).
  const manyCol = m.card === 'one-to-many' ? '_rl' : '_l';
  const oneCol = m.card === 'one-to-many' ? '_l' : '_rl';
  // Arithmetic drops the name (with __type__ and __unit__) at once; a comparison keeps it, with bool marked for the end (binary.ts resultMetric).
  let labels = cmp ? manyCol : dropMetadata(manyCol);
  if (m.card === 'one-to-one') {
    labels = m.on ? `mapFilter((k, x) -> has(${p.strings(m.labels)}, k), ${labels})` : `mapFilter((k, x) -> NOT has(${p.strings(m.labels)}, k), ${labels})`;
  }
  if (m.include.length > 0) {
    const inc = p.strings(m.include);
    // group_x (labels): copied from the "one" side; a label it lacks is removed.
    labels = `mapSort(mapUpdate(mapFilter((k, x) -> NOT has(${inc}, k), ${labels}), mapFilter((k, x) -> has(${inc}, k) AND x != '', ${oneCol})))`;
  }
  // A comparison keeps the lhs value where it holds; the match checks below run before that filter, as Prometheus's do.
  const keep = cmp && !e.returnBool ? value : '1';
  const v = cmp ? (e.returnBool ? `toFloat64(${value})` : '_x') : value;
  const joined = `SELECT ${labels} AS _ol, _i AS _oi, ${v} AS _ov, _s AS _os, ${keep} AS _keep FROM (${L}) AS a INNER JOIN (${R}) AS b ON a._s = b._rs AND a._i = b._ri`;
  const matches = m.card === 'one-to-one'
    ? `throwIf(count() OVER (PARTITION BY _os, _oi) > 1, 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)')`
    : `throwIf(count() OVER (PARTITION BY _os, _ol, _oi) > 1, 'multiple matches for labels: grouping labels must ensure unique matches')`;
  return {
    sql: `SELECT _ol AS labels, _oi AS i, _ov AS v FROM (SELECT _ol, _oi, _ov, _keep, ${matches} AS _chk FROM (${joined})) WHERE _chk = 0 AND _keep AND ${dupCheck}`,
    // Only `bool` marks the result (the engine's dropName = returnBool).
    name: e.returnBool ? marked(many) : 'kept',
  };
}
