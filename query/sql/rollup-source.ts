import type { Params } from './params.ts';

/**
 * Reading a selector's samples from a rollup table (sluice_rollup_5m / sluice_rollup_1h) instead
 * of the raw table, with Thanos's downsampled-data semantics: every (series, window) row stands
 * for ONE sample at the window's last raw sample time (`last_ts`), whose value is the aggregate
 * the function needs (counter for rate-like functions, sum / count / min / max for `*_over_time`,
 * the last raw value for selectors and gauge functions). translate.ts then applies its ordinary
 * window kernels to those samples, so a query over rollups answers exactly what the engine
 * answers over a series made of the aggregate points.
 *
 * The rows have the raw path's shape: (series_id, i, T, V, E) per series and grid point, the
 * window's points as sorted arrays of ms times T and values V and the window's end E; for
 * avg_over_time also C, the points' raw sample counts.
 */

export type RollupResolution = '5m' | '1h';

/** Finest first. */
export const ROLLUP_RESOLUTIONS: readonly RollupResolution[] = ['5m', '1h'];

export const RESOLUTION_MS: Readonly<Record<RollupResolution, number>> = { '5m': 300_000, '1h': 3_600_000 };

/** Which rollup column a read takes its point values from. */
export type RollupAggregate = 'counter' | 'sum' | 'count' | 'min' | 'max' | 'last' | 'sum/count';

/** The chosen rollup table of one translation. */
export interface RollupSource {
  readonly resolution: RollupResolution;
  readonly resolutionMs: number;
  /** Fully qualified table name, from configuration. */
  readonly table: string;
}

/** How a range function is answered from rollups. */
export interface RollupFunction {
  readonly aggregate: RollupAggregate;
  /** The raw path's kernel (translate.ts's RANGE_FUNCTIONS) applied to the aggregate points. */
  readonly kernel: string;
  /** avg_over_time: the kernel's Σsum divided by the points' Σcount (array C). */
  readonly perCount?: true;
  /**
   * Points a range needs to hold for a meaningful answer: 2 for functions of a difference.
   * The resolution choice keeps every such range at least this many rollup windows long.
   */
  readonly minPoints: 1 | 2;
}

/**
 * Range functions answerable from rollups. As Thanos's querier does, rate/increase/irate read the
 * counter aggregate, in which every reset since the series began is already folded, so no reset
 * inside a window is lost and none is invented between windows. Unlike Thanos:
 * - count_over_time adds the windows' counts and avg_over_time divides Σsum by Σcount (Thanos
 *   counts the aggregate points and averages the windows' averages, which weighs a sparse window
 *   as much as a full one);
 * - delta, idelta and deriv read each window's last raw sample (Thanos: the window's average):
 *   they are gauge functions, where the counter aggregate would turn a fall into a reset, and the
 *   last sample is a true sample of the series at its true time, where an average placed at the
 *   window's end is shifted by half a window.
 * Anything else (changes, resets, quantile/stddev/stdvar/mad/first_over_time, predict_linear, ...)
 * needs the individual samples, which a rollup no longer has.
 */
export const ROLLUP_FUNCTIONS: Readonly<Record<string, RollupFunction>> = {
  rate: { aggregate: 'counter', kernel: 'rate', minPoints: 2 },
  increase: { aggregate: 'counter', kernel: 'increase', minPoints: 2 },
  irate: { aggregate: 'counter', kernel: 'irate', minPoints: 2 },
  delta: { aggregate: 'last', kernel: 'delta', minPoints: 2 },
  idelta: { aggregate: 'last', kernel: 'idelta', minPoints: 2 },
  deriv: { aggregate: 'last', kernel: 'deriv', minPoints: 2 },
  sum_over_time: { aggregate: 'sum', kernel: 'sum_over_time', minPoints: 1 },
  count_over_time: { aggregate: 'count', kernel: 'sum_over_time', minPoints: 1 },
  avg_over_time: { aggregate: 'sum/count', kernel: 'sum_over_time', perCount: true, minPoints: 1 },
  min_over_time: { aggregate: 'min', kernel: 'min_over_time', minPoints: 1 },
  max_over_time: { aggregate: 'max', kernel: 'max_over_time', minPoints: 1 },
  last_over_time: { aggregate: 'last', kernel: 'last_over_time', minPoints: 1 },
  present_over_time: { aggregate: 'count', kernel: 'present_over_time', minPoints: 1 },
  // translate.ts answers it from the windows' presence, whatever the column
  absent_over_time: { aggregate: 'count', kernel: 'present_over_time', minPoints: 1 },
};

/**
 * The value expression (over T, V, E, C) of range function `func` over rollups, from the raw
 * path's kernel expression (`kernelValue(name)`, translate.ts) applied to the aggregate points.
 * Throws a plain Error when `func` cannot be answered from rollups: the resolution choice refuses
 * such queries first, so reaching here is a bug.
 */
export function rollupRangeValue(func: string, resolution: RollupResolution, kernelValue: (kernel: string) => string): { aggregate: RollupAggregate; value: string } {
  const f = Object.hasOwn(ROLLUP_FUNCTIONS, func) ? ROLLUP_FUNCTIONS[func] : undefined;
  if (f === undefined) throw new Error(`bug: ${func}() reached the ${resolution} rollup read though the resolution check refuses it`);
  const kernel = kernelValue(f.kernel);
  return { aggregate: f.aggregate, value: f.perCount ? `((${kernel}) / arraySum(C))` : kernel };
}

/** The grid the windows end on (translate.ts's SelGrid). */
export interface RollupGrid {
  readonly start: number;
  readonly step: number;
  readonly n: number;
}

export interface RollupWindowsRequest {
  readonly source: RollupSource;
  /** WHERE clause over the series table selecting the series (parameterised by the caller). */
  readonly seriesWhere: string;
  readonly seriesTable: string;
  readonly p: Params;
  readonly grid: RollupGrid;
  readonly offsetMs: number;
  readonly rangeMs: number;
  readonly aggregate: RollupAggregate;
}

const COLUMN: Record<Exclude<RollupAggregate, 'counter' | 'sum/count'>, string> = {
  sum: 'sum',
  count: 'toFloat64(count)',
  min: 'min',
  max: 'max',
  last: 'last_value',
};

/** Arrays sorted by the points' times `_t` (rows of one group arrive in one order for every groupArray). */
function sortedByTime(col: string): string {
  return `arraySort((x, y) -> y, groupArray(${col}), groupArray(_t))`;
}

/**
 * Counter points stitched across a change of the counter's base. The counter column is
 * cumulative from the first window a downsample operator saw; an operator that lost its state
 * starts again from the raw value, and the next point drops below the previous one. Read as a
 * counter reset, that drop would count the whole new raw value as increase. Instead, at a drop
 * the increase is what the raw samples say: the step from the previous window's last raw value
 * to this window's first (itself a reset when it falls), plus the counter's rise inside this
 * window. Points are shifted by a running offset; with no drop the offset is 0 and the points are
 * the stored counters bit for bit.
 */
const STITCHED_COUNTER = `arrayMap((c, o) -> c + o, _C, arrayCumSum(arrayPushFront(arrayMap(
    (c, q, f, l) -> if(c < q, q + if(f >= l, f - l, f) - f, toFloat64(0)),
    arrayPopFront(_C), arrayPopBack(_C), arrayPopFront(_F), arrayPopBack(_L)), toFloat64(0))))`;

export function rollupWindows(r: RollupWindowsRequest): string {
  if (!Number.isSafeInteger(r.offsetMs) || !Number.isSafeInteger(r.rangeMs)) throw new Error('bug: rollupWindows with durations that are not whole milliseconds');
  const { p, grid: g } = r;
  const S = p.int(g.start);
  const D = p.int(g.step);
  const N = p.int(g.n);
  const O = p.int(r.offsetMs);
  const W = p.int(r.rangeMs);
  const loMs = g.start - r.offsetMs - r.rangeMs;
  const hiMs = g.start + (g.n - 1) * g.step - r.offsetMs;
  const lo = p.int(loMs);
  const hi = p.int(hiMs);
  // window_start (whole seconds) bounds for the primary key: a point at last_ts in (lo, hi] comes
  // from a window starting in (lo - resolution, hi].
  const wsLo = p.int(Math.max(0, Math.floor((loMs - r.source.resolutionMs) / 1000)));
  const wsHi = p.int(Math.max(0, Math.floor(hiMs / 1000)));
  let value: string;
  let columns: string;
  let arrays: string;
  switch (r.aggregate) {
    case 'counter':
      columns = 'counter AS _c, first_value AS _f, last_value AS _l';
      arrays = `${sortedByTime('_c')} AS _C, ${sortedByTime('_f')} AS _F, ${sortedByTime('_l')} AS _L`;
      value = `${STITCHED_COUNTER} AS V`;
      break;
    case 'sum/count':
      columns = 'sum AS _v, toFloat64(count) AS _n';
      arrays = `${sortedByTime('_v')} AS V, ${sortedByTime('_n')} AS C`;
      value = 'V, C';
      break;
    default:
      columns = `${COLUMN[r.aggregate]} AS _v`;
      arrays = `${sortedByTime('_v')} AS V`;
      value = 'V';
  }
  return `SELECT series_id, i, T, ${value}, E FROM (
SELECT series_id, _wi AS i, arraySort(groupArray(_t)) AS T, ${arrays}, ${S} + _wi * ${D} - ${O} AS E
FROM (
  SELECT series_id, toUnixTimestamp64Milli(last_ts) AS _t, ${columns},
    arrayJoin(range(greatest(toInt64(0), toInt64(ceil((_t + ${O} - ${S}) / ${D}))), least(${N} - 1, toInt64(ceil((_t + ${O} + ${W} - ${S}) / ${D})) - 1) + 1)) AS _wi
  FROM ${r.source.table} FINAL
  WHERE series_id IN (SELECT series_id FROM ${r.seriesTable} WHERE ${r.seriesWhere})
    AND window_start >= toDateTime(${wsLo}) AND window_start <= toDateTime(${wsHi})
    AND last_ts > fromUnixTimestamp64Milli(${lo}) AND last_ts <= fromUnixTimestamp64Milli(${hi}) AND count > 0
)
GROUP BY series_id, _wi
)`;
}
