import { MeanAccumulator, durationSeconds, overTimeVariance, quantile } from './numeric.ts';

/**
 * The float range-vector functions of PromQL (`rate(x[5m])`, `avg_over_time(x[1h])`, ...), each a
 * pure function over the samples of one series in one range window. The evaluator selects the
 * window (left-open, stale markers removed) and calls the kernel once per output sample per series,
 * so kernels allocate nothing per call (a few keep a module-level scratch array that grows once).
 *
 * Native histograms are not handled here; a window holds floats only.
 */
export interface RangeWindow {
  readonly ts: Float64Array;
  readonly values: Float64Array;
  /** the window's samples are ts/values[start, end) — stale markers already removed, sorted by time */
  readonly start: number;
  readonly end: number;
  /** the window (rangeStartMs, rangeEndMs]: Prometheus 3 windows are left-open */
  readonly rangeStartMs: number;
  readonly rangeEndMs: number;
  /**
   * The evaluation timestamp (ms), when it differs from `rangeEndMs` (offset or `@`). Only
   * `predict_linear` reads it: it predicts relative to the evaluation time, not to the window's
   * end. Defaults to `rangeEndMs`.
   */
  readonly evalTimeMs?: number;
}

/** Returns the output value, or undefined when the series has no output sample at this step. */
export type RangeKernel = (w: RangeWindow, args: readonly number[]) => number | undefined;

// ---------------------------------------------------------------------------------------------
// rate, increase, delta

/**
 * `rate`, `increase` and `delta`: the difference between the window's last and first sample,
 * extrapolated towards the window's edges.
 *
 * - Fewer than two samples → no output.
 * - Counters (`rate`, `increase`): every decrease between consecutive samples is a reset, so the
 *   value before the drop is added back (the counter restarted from 0).
 * - Extrapolation: the samples are assumed to be regularly spaced. If the first (last) sample is
 *   within 1.1 × the average sample interval of the window start (end), the result is extrapolated
 *   all the way to that edge; otherwise the series is assumed to start (end) inside the window and
 *   is extrapolated by only half an average interval.
 * - Counters are never extrapolated below zero: when the straight line through the samples would
 *   hit zero before the window start, extrapolation stops at that zero point.
 * - `rate` divides by the window's length in seconds (not by the sampled interval).
 */
function extrapolatedRate(w: RangeWindow, isCounter: boolean, isRate: boolean): number | undefined {
  const { ts, values: v, start, end } = w;
  const n = end - start;
  if (n < 2) return undefined;
  const firstT = ts[start];
  const lastT = ts[end - 1];
  let result = v[end - 1] - v[start];
  if (isCounter) {
    for (let i = start + 1; i < end; i++) {
      if (v[i] < v[i - 1]) result += v[i - 1];
    }
  }

  let durationToStart = (firstT - w.rangeStartMs) / 1000;
  let durationToEnd = (w.rangeEndMs - lastT) / 1000;
  const sampledInterval = (lastT - firstT) / 1000;
  const averageDurationBetweenSamples = sampledInterval / (n - 1);
  const extrapolationThreshold = averageDurationBetweenSamples * 1.1;

  if (durationToStart >= extrapolationThreshold) durationToStart = averageDurationBetweenSamples / 2;
  if (isCounter) {
    let durationToZero = durationToStart;
    if (result > 0 && v[start] >= 0) durationToZero = sampledInterval * (v[start] / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  if (durationToEnd >= extrapolationThreshold) durationToEnd = averageDurationBetweenSamples / 2;

  let factor = (sampledInterval + durationToStart + durationToEnd) / sampledInterval;
  if (isRate) factor /= durationSeconds(w.rangeEndMs - w.rangeStartMs);
  return result * factor;
}

const rate: RangeKernel = (w) => extrapolatedRate(w, true, true);
const increase: RangeKernel = (w) => extrapolatedRate(w, true, false);
const delta: RangeKernel = (w) => extrapolatedRate(w, false, false);

/**
 * `irate` / `idelta`: from the last two samples only. For `irate` a decrease is a counter reset, and
 * the increase since the reset is then the newer value itself. A NaN in either sample makes the
 * reset test false, so the result is NaN (not the newer value).
 */
function instantValue(w: RangeWindow, isRate: boolean): number | undefined {
  const { ts, values: v, start, end } = w;
  if (end - start < 2) return undefined;
  const prev = v[end - 2];
  const cur = v[end - 1];
  const intervalMs = ts[end - 1] - ts[end - 2];
  if (intervalMs === 0) return undefined;
  let result = cur;
  if (!isRate || !(cur < prev)) result = cur - prev;
  if (isRate) result /= intervalMs / 1000;
  return result;
}

const irate: RangeKernel = (w) => instantValue(w, true);
const idelta: RangeKernel = (w) => instantValue(w, false);

// ---------------------------------------------------------------------------------------------
// deriv, predict_linear

// linearRegression's two results, kept in module state so the regression allocates nothing.
let regressionSlope = 0;
let regressionIntercept = 0;

/**
 * Least-squares fit of value over time (seconds), with x measured from `interceptTimeMs`, all four
 * sums Kahan-compensated. Measuring x from a time close to the samples keeps x small, which is what
 * keeps `Σx² - (Σx)²/n` from cancelling catastrophically at Unix-epoch magnitudes.
 *
 * A window whose values are all equal has slope 0 and intercept that value (avoiding 0/0 when all
 * samples are at one timestamp); if that constant value is ±Inf both are NaN.
 */
function linearRegression(w: RangeWindow, interceptTimeMs: number): void {
  const { ts, values: v, start, end } = w;
  let n = 0;
  let sumX = 0, cX = 0;
  let sumY = 0, cY = 0;
  let sumXY = 0, cXY = 0;
  let sumX2 = 0, cX2 = 0;
  const initY = v[start];
  let constY = true;
  for (let i = start; i < end; i++) {
    const y = v[i];
    if (constY && i > start && y !== initY) constY = false;
    n += 1;
    const x = (ts[i] - interceptTimeMs) / 1e3;
    let t: number;
    // Four inlined Kahan-Neumaier additions (see kahanInc in numeric.ts).
    t = sumX + x;
    if (t === Infinity || t === -Infinity) cX = 0;
    else if (Math.abs(sumX) >= Math.abs(x)) cX += sumX - t + x;
    else cX += x - t + sumX;
    sumX = t;
    t = sumY + y;
    if (t === Infinity || t === -Infinity) cY = 0;
    else if (Math.abs(sumY) >= Math.abs(y)) cY += sumY - t + y;
    else cY += y - t + sumY;
    sumY = t;
    const xy = x * y;
    t = sumXY + xy;
    if (t === Infinity || t === -Infinity) cXY = 0;
    else if (Math.abs(sumXY) >= Math.abs(xy)) cXY += sumXY - t + xy;
    else cXY += xy - t + sumXY;
    sumXY = t;
    const x2 = x * x;
    t = sumX2 + x2;
    if (t === Infinity || t === -Infinity) cX2 = 0;
    else if (Math.abs(sumX2) >= Math.abs(x2)) cX2 += sumX2 - t + x2;
    else cX2 += x2 - t + sumX2;
    sumX2 = t;
  }
  if (constY) {
    if (initY === Infinity || initY === -Infinity) {
      regressionSlope = NaN;
      regressionIntercept = NaN;
    } else {
      regressionSlope = 0;
      regressionIntercept = initY;
    }
    return;
  }
  sumX += cX;
  sumY += cY;
  sumXY += cXY;
  sumX2 += cX2;
  const covXY = sumXY - (sumX * sumY) / n;
  const varX = sumX2 - (sumX * sumX) / n;
  regressionSlope = covXY / varX;
  regressionIntercept = sumY / n - (regressionSlope * sumX) / n;
}

/** `deriv`: the regression slope per second; x is measured from the first sample's time. */
const deriv: RangeKernel = (w) => {
  if (w.end - w.start < 2) return undefined;
  linearRegression(w, w.ts[w.start]);
  return regressionSlope;
};

/**
 * `predict_linear(v[r], t)`: the regression line's value `t` seconds after the evaluation time
 * (the intercept is taken at the evaluation time, which differs from the window end under offset
 * or `@`).
 */
const predictLinear: RangeKernel = (w, args) => {
  if (w.end - w.start < 2 || args.length < 1) return undefined;
  linearRegression(w, w.evalTimeMs ?? w.rangeEndMs);
  return regressionSlope * args[0] + regressionIntercept;
};

// ---------------------------------------------------------------------------------------------
// resets, changes

/** `resets`: how many times a value is lower than its predecessor (NaN never counts). */
const resets: RangeKernel = (w) => {
  const { values: v, start, end } = w;
  if (end === start) return undefined;
  let count = 0;
  for (let i = start + 1; i < end; i++) if (v[i] < v[i - 1]) count++;
  return count;
};

/** `changes`: how many times a value differs from its predecessor; NaN followed by NaN is no change. */
const changes: RangeKernel = (w) => {
  const { values: v, start, end } = w;
  if (end === start) return undefined;
  let count = 0;
  for (let i = start + 1; i < end; i++) {
    const a = v[i - 1];
    const b = v[i];
    if (a !== b && !(Number.isNaN(a) && Number.isNaN(b))) count++;
  }
  return count;
};

// ---------------------------------------------------------------------------------------------
// *_over_time

const mean = new MeanAccumulator();

/** `avg_over_time`: Kahan-compensated direct mean, switching to an incremental mean on overflow. */
const avgOverTime: RangeKernel = (w) => {
  const { values: v, start, end } = w;
  if (end === start) return undefined;
  mean.reset(v[start]);
  for (let i = start + 1; i < end; i++) mean.add(v[i]);
  return mean.result();
};

/**
 * `sum_over_time`: Kahan-Neumaier sum from 0. An infinite sum is returned as is (its compensation
 * was reset when it overflowed).
 */
const sumOverTime: RangeKernel = (w) => {
  const { values: v, start, end } = w;
  if (end === start) return undefined;
  let sum = 0;
  let c = 0;
  for (let i = start; i < end; i++) {
    const f = v[i];
    const t = sum + f;
    if (t === Infinity || t === -Infinity) c = 0;
    else if (Math.abs(sum) >= Math.abs(f)) c += sum - t + f;
    else c += f - t + sum;
    sum = t;
  }
  if (sum === Infinity || sum === -Infinity) return sum;
  return sum + c;
};

/**
 * `min_over_time` / `max_over_time` (and the `ts_of_*` variants): a NaN is replaced by any later
 * value, so NaN is the result only when every value is NaN. `max` keeps the first of equal maxima,
 * `ts_of_max` the last (it compares with `>=`), and likewise for min.
 */
function extremeOverTime(w: RangeWindow, better: (cur: number, best: number) => boolean, returnTimestamp: boolean): number | undefined {
  const { ts, values: v, start, end } = w;
  if (end === start) return undefined;
  let best = v[start];
  let bestT = ts[start];
  for (let i = start; i < end; i++) {
    const f = v[i];
    if (better(f, best) || Number.isNaN(best)) {
      best = f;
      bestT = ts[i];
    }
  }
  return returnTimestamp ? bestT / 1000 : best;
}

const greater = (cur: number, best: number): boolean => cur > best;
const less = (cur: number, best: number): boolean => cur < best;
const greaterOrEqual = (cur: number, best: number): boolean => cur >= best;
const lessOrEqual = (cur: number, best: number): boolean => cur <= best;

const maxOverTime: RangeKernel = (w) => extremeOverTime(w, greater, false);
const minOverTime: RangeKernel = (w) => extremeOverTime(w, less, false);
const tsOfMaxOverTime: RangeKernel = (w) => extremeOverTime(w, greaterOrEqual, true);
const tsOfMinOverTime: RangeKernel = (w) => extremeOverTime(w, lessOrEqual, true);

const countOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : w.end - w.start);
const presentOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : 1);
const lastOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : w.values[w.end - 1]);
const firstOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : w.values[w.start]);
const tsOfLastOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : w.ts[w.end - 1] / 1000);
const tsOfFirstOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : w.ts[w.start] / 1000);

/** `stdvar_over_time`: population variance (Welford, Kahan-compensated). */
const stdvarOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : overTimeVariance(w.values, w.start, w.end));
/** `stddev_over_time`: square root of the population variance. */
const stddevOverTime: RangeKernel = (w) => (w.end === w.start ? undefined : Math.sqrt(overTimeVariance(w.values, w.start, w.end)));

// Scratch for the sorting kernels: grows to the largest window seen, never shrinks.
let scratch = new Float64Array(64);
function scratchFor(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/**
 * `quantile_over_time(q, v[r])`: the same interpolating quantile as the `quantile` aggregation.
 * q < 0 → -Inf, q > 1 → +Inf, NaN q → NaN (the evaluator adds the invalid-quantile warning).
 */
const quantileOverTime: RangeKernel = (w, args) => {
  const n = w.end - w.start;
  if (n === 0 || args.length < 1) return undefined;
  const buf = scratchFor(n);
  buf.set(w.values.subarray(w.start, w.end));
  return quantile(args[0], buf, n);
};

/**
 * `mad_over_time`: median absolute deviation, the median of |v - median(v)|. A NaN anywhere in the
 * window makes the median undefined, so the result is NaN (not a median skewed by NaN's sort
 * position, which is what the plain quantile would give).
 */
const madOverTime: RangeKernel = (w) => {
  const n = w.end - w.start;
  if (n === 0) return undefined;
  const buf = scratchFor(n);
  const src = w.values;
  for (let i = 0; i < n; i++) {
    const f = src[w.start + i];
    if (Number.isNaN(f)) return NaN;
    buf[i] = f;
  }
  const median = quantile(0.5, buf, n);
  for (let i = 0; i < n; i++) buf[i] = Math.abs(buf[i] - median);
  return quantile(0.5, buf, n);
};

/**
 * The error `double_exponential_smoothing(v, sf, tf)` fails with when a factor is outside (0, 1),
 * or null when both are valid. NaN factors are not rejected (no comparison with NaN holds); they
 * make the result NaN.
 */
export function validateDoubleExponentialSmoothing(sf: number, tf: number): string | null {
  if (sf <= 0 || sf >= 1) return `invalid smoothing factor. Expected: 0 < sf < 1, got: ${formatGoF(sf)}`;
  if (tf <= 0 || tf >= 1) return `invalid trend factor. Expected: 0 < tf < 1, got: ${formatGoF(tf)}`;
  return null;
}

/** `%f` formatting: six decimals, `+Inf` / `-Inf` / `NaN` for the special values. */
function formatGoF(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Math.abs(v) < 1e21) return v.toFixed(6);
  // toFixed switches to exponent notation at 1e21; print the integer digits in full instead.
  return `${BigInt(v).toString()}.000000`;
}

/**
 * `double_exponential_smoothing(v, sf, tf)` (formerly holt_winters): Holt's linear smoothing over
 * the window's values in order. The level starts at the first value and the trend at the first
 * difference; needs two samples. Invalid factors give no output here — the evaluator raises the
 * error from `validateDoubleExponentialSmoothing` before calling.
 */
const doubleExponentialSmoothing: RangeKernel = (w, args) => {
  const { values: v, start, end } = w;
  if (args.length < 2) return undefined;
  const sf = args[0];
  const tf = args[1];
  if (validateDoubleExponentialSmoothing(sf, tf) !== null) return undefined;
  if (end - start < 2) return undefined;
  let s0 = 0;
  let s1 = v[start];
  let b = v[start + 1] - v[start];
  for (let i = 1; i < end - start; i++) {
    const x = sf * v[start + i];
    // The trend: at the first step the initial difference, then tf-weighted level change plus
    // (1 - tf) of the previous trend.
    if (i - 1 !== 0) b = tf * (s1 - s0) + (1 - tf) * b;
    const y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  return s1;
};

/**
 * Every float range function by its PromQL name. `absent_over_time` is not here: its output depends
 * on whether any series was selected at all, which only the evaluator knows.
 */
export const RANGE_KERNELS: ReadonlyMap<string, RangeKernel> = new Map<string, RangeKernel>([
  ['rate', rate],
  ['increase', increase],
  ['delta', delta],
  ['irate', irate],
  ['idelta', idelta],
  ['deriv', deriv],
  ['predict_linear', predictLinear],
  ['resets', resets],
  ['changes', changes],
  ['avg_over_time', avgOverTime],
  ['sum_over_time', sumOverTime],
  ['min_over_time', minOverTime],
  ['max_over_time', maxOverTime],
  ['count_over_time', countOverTime],
  ['last_over_time', lastOverTime],
  ['present_over_time', presentOverTime],
  ['stddev_over_time', stddevOverTime],
  ['stdvar_over_time', stdvarOverTime],
  ['quantile_over_time', quantileOverTime],
  // Experimental in Prometheus (behind --enable-feature=promql-experimental-functions):
  ['first_over_time', firstOverTime],
  ['mad_over_time', madOverTime],
  ['ts_of_first_over_time', tsOfFirstOverTime],
  ['ts_of_last_over_time', tsOfLastOverTime],
  ['ts_of_max_over_time', tsOfMaxOverTime],
  ['ts_of_min_over_time', tsOfMinOverTime],
  ['double_exponential_smoothing', doubleExponentialSmoothing],
]);

/** The range functions Prometheus only enables with its experimental-functions feature flag. */
export const EXPERIMENTAL_RANGE_FUNCTIONS: ReadonlySet<string> = new Set([
  'first_over_time',
  'mad_over_time',
  'ts_of_first_over_time',
  'ts_of_last_over_time',
  'ts_of_max_over_time',
  'ts_of_min_over_time',
  'double_exponential_smoothing',
]);
