import { SMALL_DELTA_TOLERANCE } from '../promql/engine/kernels/histogram-kernels.ts';
import { UNSUPPORTED_PREFIX } from './errors.ts';
import { floatLiteral, type Params } from './params.ts';

/**
 * histogram_quantile(φ, v) over classic `le` buckets in SQL, as the engine's evalHistogramQuantile
 * (query/promql/engine/histogram.ts) and its kernel bucketQuantile (kernels/histogram-kernels.ts):
 *
 * - at each grid point the input rows are grouped by their labels without `le` (`__name__` kept
 *   while the rows still carry it, removed from the result), `le` parsed as the engine's
 *   parseGoFloat; a row whose `le` is missing or malformed is left out (bucketLabelRows gives the
 *   engine's warning for it);
 * - φ NaN -> NaN, φ < 0 -> -Inf, φ > 1 -> +Inf; no +Inf bucket -> NaN;
 * - buckets sorted by bound, equal bounds coalesced (counts added in the engine's input order,
 *   which within one group is the order of the `le` spellings), counts made monotonic with the
 *   small-delta tolerance (`_forced`: a count had to be raised, the engine's info annotation);
 * - fewer than two buckets or zero observations -> NaN; the bucket holding the rank is found with
 *   the engine's binary search (which, on NaN counts, is not the linear search's answer) and
 *   interpolated, the +Inf bucket answering the largest finite bound and a first bucket with a
 *   bound <= 0 its bound.
 *
 * Rows (`_g` labels, `_i`, `_v` value, `_forced` UInt8). Every input row is a sample of a series
 * whose value is already computed, so the same SQL is right over raw samples and over rollups.
 */

/** The engine's parseGoFloat: NaN, [+-]Inf(inity) in any case, decimal floats without `_`; NULL when it fails. */
function parseLe(le: string, p: Params): string {
  const lower = `lower(${le})`;
  return `multiIf(${lower} = 'nan', nan, match(${lower}, ${p.string('^[+]?inf(inity)?$')}), inf, match(${lower}, ${p.string('^-inf(inity)?$')}), -inf, match(${le}, ${p.string('^[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?$')}), toFloat64OrNull(${le}), NULL)`;
}

const MIN_NORMAL = 2.2250738585072014e-308;

/** kernels/histogram-kernels.ts almostEqual(a, b, SMALL_DELTA_TOLERANCE). */
function almostEqual(a: string, b: string): string {
  const absSum = `(abs(${a}) + abs(${b}))`;
  const diff = `abs(${a} - ${b})`;
  return `((isNaN(${a}) AND isNaN(${b})) OR ${a} = ${b} OR if(${a} = 0 OR ${b} = 0 OR ${absSum} < ${floatLiteral(MIN_NORMAL)}, ${diff} < ${floatLiteral(SMALL_DELTA_TOLERANCE * MIN_NORMAL)}, ${diff} / least(${absSum}, ${floatLiteral(Number.MAX_VALUE)}) < ${floatLiteral(SMALL_DELTA_TOLERANCE)}))`;
}

/**
 * The input rows (`rows`: columns _l, _i, _x) with their parsed bound `_ub` (NULL: malformed) and
 * `_le` spelling. `nameDropped`: the rows' labels lost `__name__`, which the engine still tells
 * series apart by; two rows that look alike here are then refused (the engine's result would hold
 * the same label set twice, its error).
 */
function parsed(rows: string, nameDropped: boolean, p: Params): string {
  const checked = nameDropped
    ? `SELECT _l, _i, _x FROM (SELECT _l, _i, _x, count() OVER (PARTITION BY _l, _i) AS _dup FROM ${rows}) WHERE throwIf(_dup > 1, 'vector cannot contain metrics with the same labelset') = 0`
    : `SELECT _l, _i, _x FROM ${rows}`;
  return `SELECT _l, _i, _x, _l['le'] AS _le, ${parseLe('_le', p)} AS _ub FROM (${checked})`;
}

/** The engine's warning's inputs for rows whose `le` is missing or malformed: rows `t` = [metric name, le]. */
export function bucketLabelRows(rows: string, nameDropped: boolean, p: Params): string {
  return `SELECT DISTINCT [_l['__name__'], _le] AS t FROM (${parsed(rows, nameDropped, p)}) WHERE _ub IS NULL`;
}

/**
 * The rows (_l, _i, _x) grouped into classic histograms: rows (_g labels without `le`, _i, _bs the
 * buckets (bound, count, le) sorted by bound (-0 as 0, as the engine's comparison), ties in input
 * order (within one group the order of the `le` spellings), plus `columns` (SQL over _i).
 */
export function bucketGroups(rows: string, nameDropped: boolean, p: Params, columns: string): string {
  return `SELECT mapFilter((k, x) -> k != 'le', _l) AS _g, _i, arraySort(b -> (b.1 + 0, b.3), groupArray((assumeNotNull(_ub), _x, _le))) AS _bs, ${columns}
FROM (${parsed(rows, nameDropped, p)}) WHERE _ub IS NOT NULL GROUP BY _g, _i`;
}

/** The sorted buckets `_bs` coalesced: (bounds, counts); a bucket whose bound equals the previous one adds its count to it. */
export const COALESCED = `arrayFold((acc, b) -> if(length(acc.1) > 0 AND acc.1[length(acc.1)] = b.1, (acc.1, arrayPushBack(arrayPopBack(acc.2), acc.2[length(acc.2)] + b.2)), (arrayPushBack(acc.1, b.1), arrayPushBack(acc.2, b.2))), _bs, (CAST([], 'Array(Float64)'), CAST([], 'Array(Float64)')))`;

/** NaN bounds leave the engine's sort order to its comparator's inconsistency: refused where `reached` (SQL) says they reach the sort. */
export function nanBoundGuard(reached: string, fn: string): string {
  return `throwIf(${reached} AND arrayExists(b -> isNaN(b.1), _bs), '${UNSUPPORTED_PREFIX}${fn} over buckets whose le is NaN')`;
}

/** φ (`phi`, SQL over `_i`) of the rows `rows` (_l, _i, _x) -> rows (_g, _i, _qn, _v, _forced); `_qn` is empty. */
export function histogramQuantileRows(phi: string, rows: string, nameDropped: boolean, p: Params): string {
  return quantileRows(`toFloat64(${phi}) AS _q, '' AS _qn`, rows, nameDropped, p);
}

/**
 * Several φ of each histogram at once (histogram_quantiles): `phis` are pairs of SQL (φ, the
 * label value naming it) -> rows (_g, _i, _qn the label value, _v, _forced), one per φ. The
 * buckets are grouped once and each group then read once per φ.
 */
export function histogramQuantilesRows(phis: ReadonlyArray<readonly [string, string]>, rows: string, nameDropped: boolean, p: Params, refuseRepeatedBounds: boolean): string {
  const pairs = `arrayJoin([${phis.map(([q, name]) => `(toFloat64(${q}), ${name})`).join(', ')}])`;
  return quantileRows(`${pairs} AS _qq, _qq.1 AS _q, _qq.2 AS _qn`, rows, nameDropped, p, refuseRepeatedBounds);
}

/**
 * The quantile kernel over the bucket groups; `phiColumns` defines `_q` and `_qn` (SQL over _i).
 * `refuseRepeatedBounds`: the engine (as Prometheus) sorts and merges a histogram's buckets in
 * place, so when one call computes several φ in [0, 1] each after the first meets buckets already
 * merged, and repeated bounds are then counted again; a group with repeated bounds and a +Inf
 * bucket (where the merge happens) is refused rather than answered differently.
 */
function quantileRows(phiColumns: string, rows: string, nameDropped: boolean, p: Params, refuseRepeatedBounds = false): string {
  const grouped = bucketGroups(rows, nameDropped, p, phiColumns);
  // ensureMonotonic: state (reference count, forced, counts).
  const step = `(s, x) -> if(x = s.1, (s.1, s.2, arrayPushBack(s.3, x)), if(${almostEqual('s.1', 'x')}, (s.1, s.2, arrayPushBack(s.3, s.1)), if(x < s.1, (s.1, toUInt8(1), arrayPushBack(s.3, s.1)), (x, s.2, arrayPushBack(s.3, x)))))`;
  const monotonic = `arrayFold(${step}, arrayPopFront(_cc.2), (_cc.2[1], toUInt8(0), [_cc.2[1]]))`;
  // The standard lower-bound search over all but the +Inf bucket for the first count >= rank; state (lo, hi), 0-based.
  const mid = 'intDiv(s.1 + s.2, 2)';
  const search = `arrayFold((s, _k) -> if(s.1 < s.2, if(NOT (_m[${mid} + 1] >= _rank), (${mid} + 1, s.2), (s.1, ${mid})), s), range(toUInt64(ceil(log2(_n))) + 1), (toUInt64(0), toUInt64(_n - 1))).1`;
  const interpolated = `if(_b = 0, 0, _u[_b]) + (_u[_b + 1] - if(_b = 0, 0, _u[_b])) * ((_rank - if(_b = 0, 0, _m[_b])) / (_m[_b + 1] - if(_b = 0, 0, _m[_b])))`;
  const value = `multiIf(isNaN(_q), nan, _q < 0, -inf, _q > 1, inf, _bs[length(_bs)].1 != inf, nan, _n < 2, nan, _m[_n] = 0, nan, _b = _n - 1, _u[_n - 1], _b = 0 AND _u[1] <= 0, _u[1], ${interpolated})`;
  // The engine's kernel reaches ensureMonotonic only for φ in [0, 1] and with a +Inf bucket.
  const reached = `(NOT isNaN(_q) AND _q >= 0 AND _q <= 1 AND _bs[length(_bs)].1 = inf)`;
  const repeated = refuseRepeatedBounds
    ? ` OR throwIf(_bs[length(_bs)].1 = inf AND length(_u) < length(_bs), '${UNSUPPORTED_PREFIX}histogram_quantiles with several φ in [0, 1] over buckets whose le bounds repeat (the engine answers each φ after the one before has merged them)')`
    : '';
  const nanGuard = `${nanBoundGuard('(NOT isNaN(_q) AND _q >= 0 AND _q <= 1)', 'histogram_quantile')}${repeated}`;
  return `SELECT _g, _i, _qn, ${value} AS _v, ${reached} AND _mono.2 = 1 AS _forced FROM (
SELECT _g, _i, _q, _qn, _bs, ${COALESCED} AS _cc, _cc.1 AS _u, ${monotonic} AS _mono, _mono.3 AS _m, toUInt64(length(_u)) AS _n, _q * _m[_n] AS _rank,
  if(_n < 2, toUInt64(0), ${search}) AS _b, ${nanGuard} AS _nan
FROM (${grouped})
) WHERE _nan = 0`;
}
