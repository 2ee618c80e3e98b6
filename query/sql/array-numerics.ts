/**
 * ClickHouse array expressions that reproduce the engine's numeric kernels
 * (query/promql/engine/kernels/numeric.ts and range-kernels.ts) operation for operation, so a
 * translated query rounds as the engine does: the same compensated sums, the same mean and
 * variance algorithms, the same quantile interpolation, in the same order of additions.
 *
 * ClickHouse has no local functions, so each step is spelled out inside an `arrayFold` lambda whose
 * accumulator is a tuple of Float64s. Arguments are SQL fragments; every builder only ever receives
 * fragments the translator wrote (column names, parameters, literals), never user text.
 */

/** `body` with `name` bound to the value of `expr`, which is computed once (a lambda over a one-element array). */
export function letIn(expr: string, name: string, body: string): string {
  return `arrayMap(${name} -> ${body}, [${expr}])[1]`;
}

/** One Kahan-Neumaier addition (engine: kahanInc): [new sum, new compensation] of `s + x` with compensation `c`. */
export function kahanStep(s: string, c: string, x: string): [string, string] {
  const t = `(${s} + ${x})`;
  // An overflowing sum cannot be corrected: the compensation resets to 0.
  const comp = `if(isInfinite(${t}), toFloat64(0), ${c} + if(abs(${s}) >= abs(${x}), (${s} - ${t}) + ${x}, (${x} - ${t}) + ${s}))`;
  return [t, comp];
}

/**
 * The mean of a non-empty array as MeanAccumulator computes it: a compensated direct sum divided by
 * the count, switching for good to a compensated incremental mean at the value whose addition would
 * overflow the sum. Accumulator: (sum, c, count, incremental 0/1).
 */
export function meanOf(arr: string): string {
  const [ds, dc] = kahanStep('acc.1', 'acc.2', 'x');
  // Incremental step from (s, c) with the count already advanced to n.
  const incremental = (s: string, c: string, n: string): string => {
    const q = `((${n} - 1) / ${n})`;
    const [is, ic] = kahanStep(`(${q} * ${s})`, `(${q} * ${c})`, `(x / ${n})`);
    return `(${is}, ${ic}, ${n}, toFloat64(1))`;
  };
  const n = '(acc.3 + 1)';
  const step = `(acc, x) -> if(acc.4 = 1, ${incremental('acc.1', 'acc.2', n)},
    if(isInfinite(${ds}), ${incremental(`(acc.1 / acc.3)`, `(acc.2 / acc.3)`, n)}, (${ds}, ${dc}, ${n}, toFloat64(0))))`;
  const fold = `arrayFold(${step}, arrayPopFront(${arr}), (toFloat64((${arr})[1]), toFloat64(0), toFloat64(1), toFloat64(0)))`;
  return letIn(fold, '_mf', 'if(_mf.4 = 1, _mf.1 + _mf.2, _mf.1 / _mf.3 + _mf.2 / _mf.3)');
}

/**
 * Population variance of a non-empty array as the `stddev` / `stdvar` aggregations compute it
 * (AggregationVariance: Welford without compensation; a non-finite first value makes it NaN).
 * Accumulator: (mean, m2, count).
 */
export function aggregationVarianceOf(arr: string): string {
  const n = '(acc.3 + 1)';
  const mean = `(acc.1 + (x - acc.1) / ${n})`;
  const step = `(acc, x) -> (${mean}, acc.2 + (x - acc.1) * (x - ${mean}), ${n})`;
  const first = `toFloat64((${arr})[1])`;
  const fold = `arrayFold(${step}, arrayPopFront(${arr}), (${first}, if(isFinite(${first}), toFloat64(0), nan), toFloat64(1)))`;
  return letIn(fold, '_vf', '_vf.2 / _vf.3');
}

/**
 * Population variance of a non-empty array as `stdvar_over_time` computes it (overTimeVariance:
 * Welford with the mean and the squared deviations both compensated, deviations taken against the
 * compensated mean). Accumulator: (count, mean, cMean, aux, cAux).
 */
export function overTimeVarianceOf(arr: string): string {
  const n = '(acc.1 + 1)';
  const delta = `(x - (acc.2 + acc.3))`;
  const [m, cm] = kahanStep('acc.2', 'acc.3', `(${delta} / ${n})`);
  const [a, ca] = kahanStep('acc.4', 'acc.5', `(${delta} * (x - (${m} + ${cm})))`);
  const step = `(acc, x) -> (${n}, ${m}, ${cm}, ${a}, ${ca})`;
  const zero = 'toFloat64(0)';
  return letIn(`arrayFold(${step}, ${arr}, (${zero}, ${zero}, ${zero}, ${zero}, ${zero}))`, '_ov', '(_ov.4 + _ov.5) / _ov.1');
}

/** The array sorted ascending with every NaN first (engine: sortNaNFirst). */
export function sortNaNFirst(arr: string): string {
  return `arrayConcat(arrayFilter(x -> isNaN(x), ${arr}), arraySort(arrayFilter(x -> NOT isNaN(x), ${arr})))`;
}

/**
 * The φ-quantile of an array (engine: quantile): NaN for no values or a NaN φ, -Inf below 0,
 * +Inf above 1, else linear interpolation between the closest ranks of the NaN-first sort, with
 * both weights applied even when one is 0 (an infinite neighbour then gives NaN, as in PromQL).
 */
export function quantileOf(q: string, arr: string): string {
  const n = 'length(_qs)';
  const rank = `(${q} * (${n} - 1))`;
  const lower = `toUInt64(greatest(0, floor(${rank})))`;
  const upper = `least(${n} - 1, ${lower} + 1)`;
  const w = `(${rank} - floor(${rank}))`;
  const interpolated = `_qs[${lower} + 1] * (1 - ${w}) + _qs[${upper} + 1] * ${w}`;
  return letIn(sortNaNFirst(arr), '_qs', `multiIf(${n} = 0 OR isNaN(${q}), nan, ${q} < 0, -inf, ${q} > 1, inf, ${interpolated})`);
}

/** mad_over_time: the median of |v - median(v)|; NaN when any value is NaN. */
export function madOf(arr: string): string {
  const median = quantileOf('toFloat64(0.5)', arr);
  const deviations = letIn(median, '_md', `arrayMap(x -> abs(x - _md), ${arr})`);
  return `if(arrayExists(x -> isNaN(x), ${arr}), nan, ${quantileOf('toFloat64(0.5)', deviations)})`;
}

/**
 * Least-squares regression of V over T (ms) as the engine's linearRegression: x in seconds from
 * `interceptMs`, four compensated sums. Returns the tuple (slope, intercept); a window of equal values has
 * slope 0 and that value as intercept (both NaN when it is infinite). Needs two or more samples.
 * Accumulator: (sumX, cX, sumY, cY, sumXY, cXY, sumX2, cX2).
 */
export function regression(T: string, V: string, interceptMs: string): string {
  const x = `((t - ${interceptMs}) / 1e3)`;
  const [sx, cx] = kahanStep('acc.1', 'acc.2', x);
  const [sy, cy] = kahanStep('acc.3', 'acc.4', 'y');
  const [sxy, cxy] = kahanStep('acc.5', 'acc.6', `(${x} * y)`);
  const [sx2, cx2] = kahanStep('acc.7', 'acc.8', `(${x} * ${x})`);
  const zero = 'toFloat64(0)';
  const fold = `arrayFold((acc, t, y) -> (${sx}, ${cx}, ${sy}, ${cy}, ${sxy}, ${cxy}, ${sx2}, ${cx2}), ${T}, ${V}, (${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}, ${zero}))`;
  const sumX = '(_rg.1 + _rg.2)';
  const sumY = '(_rg.3 + _rg.4)';
  const sumXY = '(_rg.5 + _rg.6)';
  const sumX2 = '(_rg.7 + _rg.8)';
  const n = `length(${V})`;
  const slope = `((${sumXY} - (${sumX} * ${sumY}) / ${n}) / (${sumX2} - (${sumX} * ${sumX}) / ${n}))`;
  const intercept = `${sumY} / ${n} - (_rs * ${sumX}) / ${n}`;
  const constY = `arrayAll(y -> y = (${V})[1], arrayPopFront(${V}))`;
  const first = `toFloat64((${V})[1])`;
  const fitted = letIn(fold, '_rg', letIn(slope, '_rs', `(_rs, ${intercept})`));
  // A window of equal values: slope 0 and that value (NaN for both when it is infinite).
  return `if(${constY}, if(isInfinite(${first}), (nan, nan), (toFloat64(0), ${first})), ${fitted})`;
}

/**
 * The value (or its timestamp, in seconds) of the extreme of V, as extremeOverTime: `better(cur,
 * best)` is a comparison, and a NaN best is replaced by any later value.
 */
export function extremeOf(T: string, V: string, better: '>' | '<' | '>=' | '<=', timestamp: boolean): string {
  const fold = `arrayFold((acc, t, y) -> if(y ${better} acc.2 OR isNaN(acc.2), (t, y), acc), ${T}, ${V}, (toInt64((${T})[1]), toFloat64((${V})[1])))`;
  return timestamp ? `(${fold}.1 / 1000)` : `${fold}.2`;
}
