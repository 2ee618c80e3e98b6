import { describe, expect, it } from 'vitest';
import { INSTANT_KERNELS, clampHasOutput } from './instant-kernels.ts';

function f(name: string, v: number, ...args: number[]): number {
  const k = INSTANT_KERNELS.get(name);
  if (k === undefined) throw new Error(`no kernel ${name}`);
  return k(v, args);
}

type Row = readonly [fn: string, v: number, args: readonly number[], expected: number];

const rows: Row[] = [
  ['abs', -3, [], 3],
  ['ceil', 1.2, [], 2],
  ['floor', -1.2, [], -2],
  ['exp', 0, [], 1],
  ['sqrt', -1, [], NaN],
  ['ln', 0, [], -Infinity],
  ['log2', 8, [], 3],
  ['log2', 0.5, [], -1],
  ['log2', -1, [], NaN],
  ['log2', 0, [], -Infinity],
  ['log2', Infinity, [], Infinity],
  ['log10', 100, [], 2],
  ['log10', 0, [], -Infinity],
  // round: ties go up, to a multiple of toNearest.
  ['round', 2.5, [], 3],
  ['round', -2.5, [], -2],
  ['round', 1.24, [0.1], 1.2],
  ['round', 1.25, [0.5], 1.5],
  ['round', 17, [5], 15],
  ['round', 17.5, [5], 20],
  ['round', NaN, [], NaN],
  ['clamp', 5, [0, 3], 3],
  ['clamp', -5, [0, 3], 0],
  ['clamp', NaN, [0, 3], NaN],
  ['clamp', 1, [NaN, 3], NaN],
  ['clamp_min', -5, [0], 0],
  ['clamp_min', NaN, [0], NaN],
  ['clamp_max', 5, [3], 3],
  ['clamp_max', -Infinity, [3], -Infinity],
  ['sgn', -2, [], -1],
  ['sgn', 2, [], 1],
  ['sgn', 0, [], 0],
  ['sgn', NaN, [], NaN],
  ['deg', Math.PI, [], 180],
  ['rad', 180, [], Math.PI],
  ['sin', 0, [], 0],
  ['cos', 0, [], 1],
  ['atanh', 1, [], Infinity],
  ['acosh', 0, [], NaN],
  // functions.test segment 33: date functions on vector(1136239445) = 2006-01-02T22:04:05Z (a Monday).
  ['year', 1136239445, [], 2006],
  ['month', 1136239445, [], 1],
  ['day_of_month', 1136239445, [], 2],
  ['day_of_year', 1136239445, [], 2],
  ['day_of_week', 1136239445, [], 1],
  ['hour', 1136239445, [], 22],
  ['minute', 1136239445, [], 4],
  ['year', 0, [], 1970],
  ['day_of_week', 0, [], 4],
  ['year', 1230767999, [], 2008],
  ['year', 1230768000, [], 2009],
  ['month', 1456790399, [], 2],
  ['day_of_month', 1456790399, [], 29],
  ['month', 1456790400, [], 3],
  ['day_of_month', 1456790400, [], 1],
  ['day_of_year', 1483191420, [], 366],
  ['day_of_year', 1672493820, [], 365],
  ['days_in_month', 1454284800, [], 29],
  ['days_in_month', 1485907200, [], 28],
  ['days_in_month', 951782400, [], 29], // February 2000: divisible by 400
  ['days_in_month', -2206310400, [], 28], // February 1900: divisible by 100
  // Fractions truncate towards zero.
  ['minute', -0.5, [], 0],
  ['year', -1.5, [], 1969],
  ['hour', 3599.9, [], 0],
  // No meaningful date.
  ['year', NaN, [], NaN],
  ['month', Infinity, [], NaN],
  ['day_of_week', -Infinity, [], NaN],
  ['year', 1e20, [], NaN],
];

describe('INSTANT_KERNELS', () => {
  for (const [fn, v, args, expected] of rows) {
    it(`${fn}(${v}${args.length ? `, ${args.join(', ')}` : ''})`, () => {
      const got = f(fn, v, ...args);
      if (Number.isNaN(expected)) expect(got).toBeNaN();
      else if (!Number.isFinite(expected)) expect(got).toBe(expected);
      else expect(got).toBeCloseTo(expected, 12);
    });
  }

  it('clamp outputs nothing when max < min, NaN when a bound is NaN', () => {
    expect(clampHasOutput(1, 0)).toBe(false);
    expect(clampHasOutput(0, 0)).toBe(true);
    expect(clampHasOutput(NaN, 0)).toBe(true);
  });

  it('has every elementwise float function', () => {
    for (const name of ['abs', 'ceil', 'floor', 'exp', 'sqrt', 'ln', 'log2', 'log10', 'round', 'clamp', 'clamp_min', 'clamp_max', 'sgn',
      'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh', 'deg', 'rad',
      'day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'hour', 'minute', 'month', 'year']) {
      expect(INSTANT_KERNELS.has(name)).toBe(true);
    }
  });
});
