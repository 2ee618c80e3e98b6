import type { Params } from './params.ts';
import { bucketGroups, COALESCED, nanBoundGuard } from './histogram-quantile.ts';

/**
 * histogram_fraction(lower, upper, v) over classic `le` buckets in SQL, as the engine's
 * evalHistogramFraction (query/promql/engine/histogram.ts) and its kernel bucketFraction
 * (kernels/histogram-kernels.ts). Grouping, `le` parsing, sorting and coalescing as for
 * histogram_quantile (histogram-quantile.ts); counts are not made monotonic here.
 * - no +Inf bucket, zero observations, or a NaN bound -> NaN; lower >= upper -> 0;
 * - the lowest bucket spans (0, le] when le > 0, else (-Inf, le]; the engine's walk over the
 *   buckets (an arrayFold whose state is (rank, lowerRank, upperRank, lowerSet, upperSet)) places
 *   each bound: at a bucket's lower bound it takes the rank below, inside the bucket it interpolates
 *   (a bucket from -Inf counts as wholly below);
 * - a rank that stayed unset or exceeds the total is the total; the result (upper - lower) / total.
 *
 * Rows (_g labels, _i, _v). `lower` and `upper` are SQL over `_i`.
 */
export function histogramFractionRows(lower: string, upper: string, rows: string, nameDropped: boolean, p: Params): string {
  const grouped = bucketGroups(rows, nameDropped, p, `toFloat64(${lower}) AS _lo, toFloat64(${upper}) AS _hi`);
  const lb = 'e.1';
  const ub = 'e.2';
  const bc = 'e.3';
  const interpolate = (x: string) => `if(${lb} = -inf, ${bc}, s.1 + ((${bc} - s.1) * (${x} - ${lb})) / (${ub} - ${lb}))`;
  // First a bound at the bucket's lower bound takes the rank below; then one inside the bucket is interpolated.
  const lowerAt = `(NOT s.4 AND ${lb} >= _lo)`;
  const upperAt = `(NOT s.5 AND ${lb} >= _hi)`;
  const lowerIn = `(NOT (s.4 OR ${lb} >= _lo) AND ${lb} < _lo AND ${ub} > _lo)`;
  const upperIn = `(NOT (s.5 OR ${lb} >= _hi) AND ${lb} < _hi AND ${ub} > _hi)`;
  const step = `(s, e) -> (${bc}, if(${lowerIn}, ${interpolate('_lo')}, if(${lowerAt}, s.1, s.2)), if(${upperIn}, ${interpolate('_hi')}, if(${upperAt}, s.1, s.3)), toUInt8(s.4 OR ${lb} >= _lo OR ${lowerIn}), toUInt8(s.5 OR ${lb} >= _hi OR ${upperIn}))`;
  const lowerBounds = `arrayMap(k -> if(k = 1, if(_u[1] <= 0, -inf, toFloat64(0)), _u[k - 1]), arrayEnumerate(_u))`;
  const walk = `arrayFold(${step}, arrayZip(${lowerBounds}, _u, _c), (toFloat64(0), toFloat64(0), toFloat64(0), toUInt8(0), toUInt8(0)))`;
  const rank = (r: string, set: string) => `if(NOT ${set} OR ${r} > _t, _t, ${r})`;
  const value = `multiIf(_bs[length(_bs)].1 != inf, nan, _t = 0 OR isNaN(_lo) OR isNaN(_hi), nan, _lo >= _hi, toFloat64(0), (${rank('_w.3', '_w.5')} - ${rank('_w.2', '_w.4')}) / _t)`;
  return `SELECT _g, _i, ${value} AS _v FROM (
SELECT _g, _i, _lo, _hi, _bs, ${COALESCED} AS _cc, _cc.1 AS _u, _cc.2 AS _c, _c[length(_c)] AS _t, ${walk} AS _w, ${nanBoundGuard('1', 'histogram_fraction')} AS _nan
FROM (${grouped})
) WHERE _nan = 0`;
}
