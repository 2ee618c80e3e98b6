import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EXPERIMENTAL_RANGE_FUNCTIONS, RANGE_KERNELS, type RangeWindow, validateDoubleExponentialSmoothing } from './range-kernels.ts';

/**
 * Builds the window a PromQL range selector `x[range]` evaluated at `evalMs` sees over a series
 * loaded as in the promqltest `load <interval>` syntax (first sample at t=0, null = missing): the
 * samples in (evalMs - range, evalMs].
 */
function window(intervalMs: number, values: readonly (number | null)[], evalMs: number, rangeMs: number, evalTimeMs?: number): RangeWindow {
  const ts: number[] = [];
  const vs: number[] = [];
  const rangeStartMs = evalMs - rangeMs;
  values.forEach((v, i) => {
    const t = i * intervalMs;
    if (v !== null && t > rangeStartMs && t <= evalMs) {
      ts.push(t);
      vs.push(v);
    }
  });
  // Pad both sides so start/end offsets are exercised.
  return {
    ts: Float64Array.from([-1, ...ts, 1e15]),
    values: Float64Array.from([12345, ...vs, 54321]),
    start: 1,
    end: 1 + ts.length,
    rangeStartMs,
    rangeEndMs: evalMs,
    evalTimeMs,
  };
}

const m = 60_000;
const s = 1_000;
const series = (start: number, step: number, times: number): number[] => Array.from({ length: times + 1 }, (_, i) => start + step * i);

function run(name: string, w: RangeWindow, args: readonly number[] = []): number | undefined {
  const k = RANGE_KERNELS.get(name);
  if (k === undefined) throw new Error(`no kernel ${name}`);
  return k(w, args);
}

type Row = readonly [label: string, fn: string, w: RangeWindow, args: readonly number[], expected: number | undefined];

// Rows from the Prometheus 3.14 promqltest files (functions.test, segment noted), windows by hand.
const promqltestRows: Row[] = [
  // segment 2: increase(http_requests_total[50m]) at 50m; window (0, 50m] holds t=5m..50m.
  ['increase foo [50m]', 'increase', window(5 * m, series(0, 10, 10), 50 * m, 50 * m), [], 100],
  ['increase bar (reset) [50m]', 'increase', window(5 * m, [...series(0, 18, 5), ...series(0, 18, 5)], 50 * m, 50 * m), [], 160],
  ['increase dings [50m]', 'increase', window(5 * m, series(10, 10, 10), 50 * m, 50 * m), [], 100],
  ['increase bumms [50m]', 'increase', window(5 * m, series(1, 10, 10), 50 * m, 50 * m), [], 100],
  // [100m]: the window starts 50m before the first sample; extrapolation is limited to half an
  // interval (dings: 105) and by the counter's zero point (foo: 100, bumms: 30s → 101).
  ['increase foo [100m]', 'increase', window(5 * m, series(0, 10, 10), 50 * m, 100 * m), [], 100],
  ['increase bar [100m]', 'increase', window(5 * m, [...series(0, 18, 5), ...series(0, 18, 5)], 50 * m, 100 * m), [], 162],
  ['increase dings [100m]', 'increase', window(5 * m, series(10, 10, 10), 50 * m, 100 * m), [], 105],
  ['increase bumms [100m]', 'increase', window(5 * m, series(1, 10, 10), 50 * m, 100 * m), [], 101],
  // segment 4
  ['rate reset in the middle', 'rate', window(5 * m, [...series(0, 27, 4), ...series(0, 27, 5)], 50 * m, 50 * m), [], 0.08],
  ['rate one sample: no output', 'rate', window(5 * m, [...series(0, 10, 9), 0, 10], 50 * m, 5 * m), [], undefined],
  ['rate reset at end', 'rate', window(5 * m, [...series(0, 10, 9), 0, 10], 50 * m, 6 * m), [], 0],
  // segment 5
  ['rate window', 'rate', window(5 * m, series(0, 80, 10), 50 * m, 50 * m), [], 0.26666666666666666],
  ['rate offset 5m (a)', 'rate', window(5 * m, series(0, 10, 10), 45 * m, 10 * m), [], 0.03333333333333333],
  ['rate offset 5m (b)', 'rate', window(5 * m, series(0, 20, 10), 45 * m, 10 * m), [], 0.06666666666666667],
  // segment 7: irate
  ['irate foo', 'irate', window(5 * m, series(0, 10, 10), 50 * m, 50 * m), [], 0.03333333333333333],
  ['irate bar reset', 'irate', window(5 * m, [...series(0, 10, 5), ...series(0, 10, 5)], 30 * m, 50 * m), [], 0],
  ['irate NaN then value', 'irate', window(5 * m, [1, NaN, NaN, 5, 11], 5 * m, 15 * m + s), [], NaN],
  ['irate NaN NaN', 'irate', window(5 * m, [1, NaN, NaN, 5, 11], 10 * m, 15 * m + s), [], NaN],
  ['irate after NaNs', 'irate', window(5 * m, [1, NaN, NaN, 5, 11], 20 * m, 15 * m + s), [], 0.02],
  ['irate one sample', 'irate', window(5 * m, [1, NaN, NaN, 5, 11], 0, 15 * m + s), [], undefined],
  // segment 8 / 9: delta, idelta
  ['delta foo', 'delta', window(5 * m, [0, 50, 100, 150, 200], 20 * m, 20 * m), [], 200],
  ['delta bar', 'delta', window(5 * m, [200, 150, 100, 50, 0], 20 * m, 20 * m), [], -200],
  ['idelta foo', 'idelta', window(5 * m, [0, 50, 100, 150], 20 * m, 20 * m), [], 50],
  ['idelta bar', 'idelta', window(5 * m, [0, 50, 100, 50], 20 * m, 20 * m), [], -50],
  ['idelta after NaNs', 'idelta', window(5 * m, [1, NaN, NaN, 5, 11], 20 * m, 15 * m + s), [], 6],
  // segment 10: deriv, predict_linear
  ['deriv = rate on a line', 'deriv', window(5 * m, series(0, 80, 10), 50 * m, 50 * m), [], 0.26666666666666666],
  ['deriv reset in the middle', 'deriv', window(5 * m, [...series(0, 10, 4), ...series(0, 10, 5)], 50 * m, 100 * m), [], 0.010606060606060607],
  ['deriv with Inf', 'deriv', window(5 * m, [-Infinity, ...series(0, 80, 10), Infinity], 100 * m, 100 * m), [], NaN],
  ['predict_linear 1h', 'predict_linear', window(5 * m, [...series(0, 10, 4), ...series(0, 10, 5)], 50 * m, 50 * m), [3600], 70],
  ['predict_linear @3000 at 50m', 'predict_linear', window(5 * m, [...series(0, 10, 4), ...series(0, 10, 5)], 3000 * s, 55 * m, 50 * m), [3600], 76.81818181818181],
  ['predict_linear @3000 at 10m', 'predict_linear', window(5 * m, [...series(0, 10, 4), ...series(0, 10, 5)], 3000 * s, 55 * m, 10 * m), [3600], 51.36363636363637],
  ['predict_linear @3000 at 70m', 'predict_linear', window(5 * m, [...series(0, 10, 4), ...series(0, 10, 5)], 3000 * s, 55 * m, 70 * m), [3600], 89.54545454545455],
  ['predict_linear with Inf', 'predict_linear', window(5 * m, [-Infinity, ...series(0, 80, 10), Infinity], 100 * m, 100 * m), [6000], NaN],
  // segment 0: resets, changes
  ['resets foo [5m]', 'resets', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 5 * m), [], undefined],
  ['resets foo [10m]', 'resets', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 10 * m), [], 0],
  ['resets foo [20m]', 'resets', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 20 * m), [], 1],
  ['resets foo [32m]', 'resets', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 32 * m), [], 2],
  ['resets foo [50m]', 'resets', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 50 * m), [], 3],
  ['resets bar [32m]', 'resets', window(5 * m, [1, 2, 3, 4, 5, 1, 2, 3, 4, 5], 50 * m, 32 * m), [], 1],
  ['changes foo [20m]', 'changes', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 20 * m), [], 2],
  ['changes foo [30m]', 'changes', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 30 * m), [], 3],
  ['changes foo [50m]', 'changes', window(5 * m, [1, 2, 3, 0, 1, 0, 0, 1, 2, 0], 50 * m, 50 * m), [], 7],
  ['changes bar [50m]', 'changes', window(5 * m, [1, 2, 3, 4, 5, 1, 2, 3, 4, 5], 50 * m, 50 * m), [], 8],
  ['changes biz [50m]', 'changes', window(5 * m, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], 50 * m, 50 * m), [], 1],
  // segment 1: NaN followed by NaN is not a change; 0 → NaN → 0 is two.
  ['changes NaN NaN NaN', 'changes', window(5 * m, [NaN, NaN, NaN], 15 * m, 20 * m), [], 0],
  ['changes 0 NaN 0', 'changes', window(5 * m, [0, NaN, 0], 15 * m, 20 * m), [], 2],
  // segment 18/19: double_exponential_smoothing on [1m] of 10s data
  ['des production 0', 'double_exponential_smoothing', window(10 * s, series(0, 10, 1000), 8000 * s, m), [0.01, 0.1], 8000],
  ['des canary 1', 'double_exponential_smoothing', window(10 * s, series(0, 40, 2000), 8000 * s, m), [0.01, 0.1], 32000],
  ['des negative trend', 'double_exponential_smoothing', window(10 * s, series(8000, -10, 1000), 8000 * s, m), [0.01, 0.1], 0],
  ['des invalid sf: no output', 'double_exponential_smoothing', window(10 * s, series(0, 10, 1000), 8000 * s, m), [1, 0.1], undefined],
  // segment 27: mad_over_time
  ['mad metric', 'mad_over_time', window(10 * s, [4, 6, 2, 1, 999, 1, 2], 70 * s, 70 * s), [], 1],
  ['mad odd', 'mad_over_time', window(10 * s, [1, 2, 3, 4, 5], 40 * s, 50 * s), [], 1],
  ['mad equal', 'mad_over_time', window(10 * s, [7, 7, 7, 7, 7], 40 * s, 50 * s), [], 0],
  ['mad single', 'mad_over_time', window(10 * s, [5], 0, 10 * s), [], 0],
  ['mad NaN', 'mad_over_time', window(10 * s, [1, 2, NaN, 4], 30 * s, 40 * s), [], NaN],
  // segments 28-30: ts_of_* (10s53ms interval)
  ['ts_of_min', 'ts_of_min_over_time', window(10_053, [1, 2, 3, 0, 5, 6, 2, 1, 4], 90 * s, 90 * s), [], 30.159],
  ['ts_of_max', 'ts_of_max_over_time', window(10_053, [1, 2, 3, 0, 5, 6, 2, 1, 4], 90 * s, 90 * s), [], 50.265],
  ['ts_of_last', 'ts_of_last_over_time', window(10_053, [1, 2, 3, null, null], 95 * s, 90 * s), [], 20.106],
  ['ts_of_first', 'ts_of_first_over_time', window(10_053, [null, null, 1, 2, 3, null, null], 95 * s, 90 * s), [], 20.106],
  ['ts_of_first empty', 'ts_of_first_over_time', window(10_053, [null, null, 1, 2, 3, null, null], 15 * s, 90 * s), [], undefined],
  // segment 31: quantile_over_time at 1m over [2m]
  ['q0 two', 'quantile_over_time', window(10 * s, [0, 1], m, 2 * m), [0], 0],
  ['q0.5 two', 'quantile_over_time', window(10 * s, [0, 1], m, 2 * m), [0.5], 0.5],
  ['q0.75 three', 'quantile_over_time', window(10 * s, [0, 1, 2], m, 2 * m), [0.75], 1.5],
  ['q0.8 uneven', 'quantile_over_time', window(10 * s, [0, 1, 4], m, 2 * m), [0.8], 2.8],
  ['q1 uneven', 'quantile_over_time', window(10 * s, [0, 1, 4], m, 2 * m), [1], 4],
  ['q-1', 'quantile_over_time', window(10 * s, [0, 1, 4], m, 2 * m), [-1], -Infinity],
  ['q2', 'quantile_over_time', window(10 * s, [0, 1, 4], m, 2 * m), [2], Infinity],
  ['qNaN', 'quantile_over_time', window(10 * s, [0, 1, 4], m, 2 * m), [NaN], NaN],
  // segment 34: min/max/last over time with NaN
  ['min numbers', 'min_over_time', window(10 * s, [2, 0, 3], m, 2 * m), [], 0],
  ['min some_nan', 'min_over_time', window(10 * s, [2, 0, NaN], m, 2 * m), [], 0],
  ['min some_nan2', 'min_over_time', window(10 * s, [2, NaN, 1], m, 2 * m), [], 1],
  ['min some_nan3', 'min_over_time', window(10 * s, [NaN, 0, 1], m, 2 * m), [], 0],
  ['min only_nan', 'min_over_time', window(10 * s, [NaN, NaN, NaN], m, 2 * m), [], NaN],
  ['min sparse', 'min_over_time', window(10 * s, [null, 5, 2, null, 4, null], m, 2 * m), [], 2],
  ['max numbers', 'max_over_time', window(10 * s, [2, 0, 3], m, 2 * m), [], 3],
  ['max some_nan', 'max_over_time', window(10 * s, [2, 0, NaN], m, 2 * m), [], 2],
  ['max some_nan2', 'max_over_time', window(10 * s, [2, NaN, 1], m, 2 * m), [], 2],
  ['max some_nan3', 'max_over_time', window(10 * s, [NaN, 0, 1], m, 2 * m), [], 1],
  ['max only_nan', 'max_over_time', window(10 * s, [NaN, NaN, NaN], m, 2 * m), [], NaN],
  ['last some_nan', 'last_over_time', window(10 * s, [2, 0, NaN], m, 2 * m), [], NaN],
  ['last sparse', 'last_over_time', window(10 * s, [null, 5, 2, null, 4, null], m, 2 * m), [], 4],
  ['first numbers', 'first_over_time', window(10 * s, [2, 0, 3], m, 2 * m), [], 2],
];

// Rows derived by hand from PromQL's definitions.
const derivedRows: Row[] = [
  // A sample exactly at the window start is outside the left-open window.
  ['rate excludes the sample at the start', 'rate', window(m, [0, 60, 120, 180], 3 * m, 3 * m), [], 1],
  // Counter extrapolation stops at the zero point: 3 samples 60s apart, first at 90s after the
  // window start with value 30, slope 1/s → zero point 30s before the first sample.
  ['counter zero point', 'increase', { ts: Float64Array.from([90, 150, 210].map((x) => x * s)), values: Float64Array.from([30, 90, 150]), start: 0, end: 3, rangeStartMs: 0, rangeEndMs: 240 * s }, [], (120 * (120 + 30 + 30)) / 120],
  // delta is not a counter: no zero-point limit, the same window extrapolates by half an interval.
  ['delta same window', 'delta', { ts: Float64Array.from([90, 150, 210].map((x) => x * s)), values: Float64Array.from([30, 90, 150]), start: 0, end: 3, rangeStartMs: 0, rangeEndMs: 240 * s }, [], (120 * (120 + 30 + 30)) / 120],
  ['delta negative start', 'delta', { ts: Float64Array.from([90, 150, 210].map((x) => x * s)), values: Float64Array.from([-30, 30, 90]), start: 0, end: 3, rangeStartMs: 0, rangeEndMs: 300 * s }, [], (120 * (120 + 30 + 30)) / 120],
  // A counter starting negative is not limited by a zero point.
  ['increase negative first value', 'increase', { ts: Float64Array.from([30, 90].map((x) => x * s)), values: Float64Array.from([-10, 50]), start: 0, end: 2, rangeStartMs: 0, rangeEndMs: 120 * s }, [], 60 * 2],
  ['irate reset: newer value per second', 'irate', window(10 * s, [100, 5], 10 * s, m), [], 0.5],
  ['idelta across a reset subtracts', 'idelta', window(10 * s, [100, 5], 10 * s, m), [], -95],
  ['deriv of a constant', 'deriv', window(10 * s, [3, 3, 3], 20 * s, m), [], 0],
  ['deriv of constant Inf', 'deriv', window(10 * s, [Infinity, Infinity], 10 * s, m), [], NaN],
  ['resets with NaN', 'resets', window(10 * s, [5, NaN, 1], 20 * s, m), [], 0],
  ['sum_over_time', 'sum_over_time', window(10 * s, [1, 2, 3.5], 20 * s, m), [], 6.5],
  ['sum_over_time compensated', 'sum_over_time', window(10 * s, [1e100, 1, -1e100], 20 * s, m), [], 1],
  ['sum_over_time overflow', 'sum_over_time', window(10 * s, [Number.MAX_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE], 20 * s, m), [], Infinity],
  ['avg_over_time', 'avg_over_time', window(10 * s, [1, 2, 4], 20 * s, m), [], 7 / 3],
  // The direct sum would overflow; the incremental mean stays finite.
  ['avg_over_time near max', 'avg_over_time', window(10 * s, [Number.MAX_VALUE, Number.MAX_VALUE, Number.MAX_VALUE], 20 * s, m), [], Number.MAX_VALUE],
  ['avg_over_time with Inf', 'avg_over_time', window(10 * s, [1, Infinity, 2], 20 * s, m), [], Infinity],
  ['avg_over_time Inf and -Inf', 'avg_over_time', window(10 * s, [Infinity, -Infinity], 10 * s, m), [], NaN],
  ['count_over_time', 'count_over_time', window(10 * s, [1, NaN, 2], 20 * s, m), [], 3],
  ['present_over_time', 'present_over_time', window(10 * s, [NaN], 0, m), [], 1],
  ['stdvar_over_time', 'stdvar_over_time', window(10 * s, [2, 4, 4, 4, 5, 5, 7, 9], 70 * s, 2 * m), [], 4],
  ['stddev_over_time', 'stddev_over_time', window(10 * s, [2, 4, 4, 4, 5, 5, 7, 9], 70 * s, 2 * m), [], 2],
  ['stddev_over_time single', 'stddev_over_time', window(10 * s, [5], 0, m), [], 0],
  ['stddev_over_time NaN', 'stddev_over_time', window(10 * s, [1, NaN], 10 * s, m), [], NaN],
  // Quantile: NaN sorts first, so a low quantile interpolates with NaN.
  ['quantile_over_time NaN low', 'quantile_over_time', window(10 * s, [NaN, 0, 1, 2], 30 * s, m), [0.2], NaN],
  ['quantile_over_time NaN high', 'quantile_over_time', window(10 * s, [NaN, 0, 1, 2], 30 * s, m), [0.8], 1.4 * 1 + 0],
  ['max_over_time keeps first of equal', 'max_over_time', window(10 * s, [0, -0], 10 * s, m), [], 0],
  ['ts_of_max_over_time last of equal', 'ts_of_max_over_time', window(10 * s, [1, 5, 5, 2], 30 * s, m), [], 20],
  ['ts_of_min_over_time last of equal', 'ts_of_min_over_time', window(10 * s, [1, 0, 0, 2], 30 * s, m), [], 20],
  ['empty window', 'sum_over_time', window(10 * s, [], 30 * s, m), [], undefined],
];

describe('RANGE_KERNELS', () => {
  for (const [label, fn, w, args, expected] of [...promqltestRows, ...derivedRows]) {
    it(`${fn}: ${label}`, () => {
      const got = run(fn, w, args);
      if (expected === undefined) expect(got).toBeUndefined();
      else if (Number.isNaN(expected)) expect(got).toBeNaN();
      else if (!Number.isFinite(expected)) expect(got).toBe(expected);
      else expect(Math.abs((got as number) - expected)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(expected)));
    });
  }

  it('double_exponential_smoothing matches the promqltest mixed series', () => {
    // segment 18: 0+30x1000 300+80x1000 at 20010s over [1m] → 80300
    const v = [...series(0, 30, 1000), ...series(300, 80, 1000)];
    expect(run('double_exponential_smoothing', window(10 * s, v, 20010 * s, m), [0.01, 0.1])).toBeCloseTo(80300, 6);
  });

  it('validates the smoothing and trend factors with the PromQL error text', () => {
    expect(validateDoubleExponentialSmoothing(0.5, 0.5)).toBeNull();
    expect(validateDoubleExponentialSmoothing(0, 0.5)).toBe('invalid smoothing factor. Expected: 0 < sf < 1, got: 0.000000');
    expect(validateDoubleExponentialSmoothing(0.5, 1)).toBe('invalid trend factor. Expected: 0 < tf < 1, got: 1.000000');
    expect(validateDoubleExponentialSmoothing(-Infinity, 0.5)).toBe('invalid smoothing factor. Expected: 0 < sf < 1, got: -Inf');
    expect(validateDoubleExponentialSmoothing(NaN, NaN)).toBeNull();
  });

  it('marks the experimental functions', () => {
    for (const f of EXPERIMENTAL_RANGE_FUNCTIONS) expect(RANGE_KERNELS.has(f)).toBe(true);
    expect(EXPERIMENTAL_RANGE_FUNCTIONS.has('rate')).toBe(false);
  });

  it('sum_over_time equals a naive sum on safe inputs', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { minLength: 1, maxLength: 200 }), (xs) => {
        const w = window(s, xs, (xs.length - 1) * s, xs.length * s);
        expect(run('sum_over_time', w)).toBe(xs.reduce((a, b) => a + b, 0));
        expect(run('avg_over_time', w)).toBeCloseTo(xs.reduce((a, b) => a + b, 0) / xs.length, 6);
      }),
    );
  });

  it('stdvar_over_time equals the two-pass population variance', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 100 }), (xs) => {
        const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
        const naive = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
        const got = run('stdvar_over_time', window(s, xs, (xs.length - 1) * s, xs.length * s)) as number;
        expect(Math.abs(got - naive)).toBeLessThanOrEqual(1e-6 * Math.max(1, naive));
      }),
    );
  });

  it('rate of a regularly sampled line covering the window is its slope', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 100 }), fc.integer({ min: 1, max: 1000 }), (n, slope) => {
        // Samples every 10s ending at the window end; the window spans exactly n intervals.
        const vs = series(1000, slope * 10, n);
        const w = window(10 * s, vs, n * 10 * s, n * 10 * s);
        expect(run('rate', w)).toBeCloseTo(slope, 9);
      }),
    );
  });

  it('repeated calls give identical results (module scratch and state do not leak between calls)', () => {
    const w = window(10 * s, series(0, 1, 1000), 10_000 * s, 10_000 * s);
    for (const name of ['rate', 'increase', 'deriv', 'avg_over_time', 'quantile_over_time']) run(name, w, [0.5]);
    expect(run('quantile_over_time', w, [0.9])).toBe(run('quantile_over_time', w, [0.9]));
    expect(run('avg_over_time', w)).toBe(run('avg_over_time', w));
  });
});
