import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AggregationVariance, MeanAccumulator, SumAccumulator, durationSeconds, kahanInc, quantile, sortNaNFirst } from './numeric.ts';

const q = (phi: number, xs: readonly number[]): number => quantile(phi, Float64Array.from(xs), xs.length);

describe('quantile', () => {
  // aggregators.test segment 6: quantile without(point) over {0,1}, {0,1,2}, {0,1,4}, {NaN,0,1}.
  const rows: [number, readonly number[], number][] = [
    [0.8, [0, 1], 0.8],
    [0.8, [0, 1, 2], 1.6],
    [0.8, [0, 1, 4], 2.8],
    [0.8, [0, 1, NaN], 0.6],
    [0.2, [0, 1], 0.2],
    [0.2, [0, 1, 2], 0.4],
    [0.2, [0, 1, 4], 0.4],
    [0.2, [0, 1, NaN], NaN],
    [NaN, [0, 1], NaN],
    [0.5, [], NaN],
    [-1, [0, 1], -Infinity],
    [2, [0, 1], Infinity],
    // Zero weight on an infinite neighbour still yields NaN (Inf * 0).
    [1, [0, Infinity], NaN],
    [0, [-Infinity, 0], -Infinity],
    [0, [0, Infinity], NaN],
    [0.5, [3, 1, 2], 2],
  ];
  for (const [phi, xs, expected] of rows) {
    it(`quantile(${phi}, [${xs.join(', ')}])`, () => {
      const got = q(phi, xs);
      if (Number.isNaN(expected)) expect(got).toBeNaN();
      else if (!Number.isFinite(expected)) expect(got).toBe(expected);
      else expect(got).toBeCloseTo(expected, 12);
    });
  }

  it('is monotone in q on NaN-free values', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 50 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (xs, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(q(lo, xs)).toBeLessThanOrEqual(q(hi, xs) + 1e-6);
      }),
    );
  });

  it('sorts NaN first, in place, only within n', () => {
    const xs = Float64Array.from([3, NaN, 1, NaN, 2, 99]);
    sortNaNFirst(xs, 5);
    expect(Array.from(xs)).toEqual([NaN, NaN, 1, 2, 3, 99]);
  });
});

describe('Kahan summation', () => {
  it('keeps the small terms a plain sum loses', () => {
    const s = { sum: 0, c: 0 };
    for (const v of [1e16, 1, 1, 1, 1, -1e16]) kahanInc(s, v);
    expect(s.sum + s.c).toBe(4);
  });

  it('resets the compensation on overflow', () => {
    const s = { sum: Number.MAX_VALUE, c: 5 };
    kahanInc(s, Number.MAX_VALUE);
    expect(s).toEqual({ sum: Infinity, c: 0 });
  });

  it('SumAccumulator equals a naive sum on integers', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1e9, max: 1e9 }), { minLength: 1, maxLength: 100 }), (xs) => {
        const acc = new SumAccumulator();
        acc.reset(xs[0]);
        for (const x of xs.slice(1)) acc.add(x);
        expect(acc.result()).toBe(xs.reduce((a, b) => a + b, 0));
      }),
    );
  });
});

describe('MeanAccumulator (avg)', () => {
  const mean = (xs: readonly number[]): number => {
    const acc = new MeanAccumulator();
    acc.reset(xs[0]);
    for (const x of xs.slice(1)) acc.add(x);
    return acc.result();
  };
  it('averages', () => expect(mean([1, 2, 3, 4])).toBe(2.5));
  it('survives a sum that would overflow', () => {
    const got = mean([Number.MAX_VALUE, Number.MAX_VALUE / 2, -Number.MAX_VALUE / 2]);
    expect(Math.abs(got / (Number.MAX_VALUE / 3) - 1)).toBeLessThan(1e-15);
  });
  it('Inf in → Inf out; Inf and -Inf → NaN', () => {
    expect(mean([1, Infinity])).toBe(Infinity);
    expect(mean([Infinity, -Infinity])).toBeNaN();
  });
  it('is close to the naive mean on safe inputs', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 100 }), (xs) => {
        const naive = xs.reduce((a, b) => a + b, 0) / xs.length;
        expect(Math.abs(mean(xs) - naive)).toBeLessThanOrEqual(1e-6);
      }),
    );
  });
});

describe('AggregationVariance (stddev/stdvar)', () => {
  it('population variance', () => {
    const v = new AggregationVariance();
    v.reset(2);
    for (const x of [4, 4, 4, 5, 5, 7, 9]) v.add(x);
    expect(v.variance()).toBe(4);
  });
  it('a non-finite first value makes the group NaN', () => {
    const v = new AggregationVariance();
    v.reset(Infinity);
    v.add(1);
    expect(v.variance()).toBeNaN();
  });
  it('a single value has variance 0', () => {
    const v = new AggregationVariance();
    v.reset(42);
    expect(v.variance()).toBe(0);
  });
});

describe('durationSeconds', () => {
  it('splits whole seconds and nanoseconds', () => {
    expect(durationSeconds(3_000_000)).toBe(3000);
    expect(durationSeconds(1500)).toBe(1.5);
    expect(durationSeconds(901_000)).toBe(901);
  });
});
