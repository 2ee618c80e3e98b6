import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bucketFraction, bucketQuantile, type ClassicBucket } from './histogram-kernels.ts';

const b = (pairs: readonly (readonly [number, number])[]): ClassicBucket[] => pairs.map(([upperBound, count]) => ({ upperBound, count }));
const Inf = Infinity;

// A histogram of 100 observations: 10 ≤ 0.1, 50 ≤ 0.5, 90 ≤ 1, all ≤ +Inf.
const h = [[0.1, 10], [0.5, 50], [1, 90], [Inf, 100]] as const;

describe('bucketQuantile', () => {
  const rows: [string, number, ClassicBucket[], number][] = [
    ['median interpolates inside (0.1, 0.5]', 0.5, b(h), 0.1 + 0.4 * (40 / 40)],
    ['q=0.3', 0.3, b(h), 0.1 + 0.4 * (20 / 40)],
    ['lowest bucket starts at 0', 0.05, b(h), 0.1 * (5 / 10)],
    ['q=0 is the lowest bucket bound 0', 0, b(h), 0],
    ['q in the +Inf bucket → largest finite bound', 0.95, b(h), 1],
    ['q=1 → largest finite bound', 1, b(h), 1],
    ['unsorted input', 0.5, b([[1, 90], [Inf, 100], [0.1, 10], [0.5, 50]]), 0.5],
    ['lowest bound <= 0 is returned as is', 0.05, b([[-1, 10], [0, 50], [Inf, 100]]), -1],
    ['negative buckets interpolate between bounds', 0.3, b([[-1, 10], [0, 50], [Inf, 100]]), -1 + 1 * (20 / 40)],
    ['duplicate bounds are merged', 0.5, b([[0.1, 5], [0.1, 5], [0.5, 50], [Inf, 100]]), 0.5],
    ['no +Inf bucket → NaN', 0.5, b([[0.1, 10], [0.5, 50]]), NaN],
    ['only +Inf → NaN', 0.5, b([[Inf, 10]]), NaN],
    ['zero observations → NaN', 0.5, b([[0.1, 0], [Inf, 0]]), NaN],
    ['q < 0 → -Inf', -0.1, b(h), -Inf],
    ['q > 1 → +Inf', 1.1, b(h), Inf],
    ['q NaN → NaN', NaN, b(h), NaN],
    ['empty → NaN', 0.5, [], NaN],
  ];
  for (const [label, q, buckets, expected] of rows) {
    it(label, () => {
      const r = bucketQuantile(q, buckets);
      if (Number.isNaN(expected)) expect(r.value).toBeNaN();
      else expect(r.value).toBeCloseTo(expected, 12);
    });
  }

  it('forces monotonicity and reports where', () => {
    // The 1-bucket dropped to 40; it is raised to 50 and the median is found in (0.1, 0.5].
    const r = bucketQuantile(0.5, b([[0.1, 10], [0.5, 50], [1, 40], [2, 45], [Inf, 100]]));
    expect(r.forcedMonotonic).toBe(true);
    expect(r.fixedPrecision).toBe(false);
    expect(r.minBucket).toBe(1);
    expect(r.maxBucket).toBe(2);
    expect(r.maxDiff).toBe(10);
    expect(r.value).toBeCloseTo(0.5, 12);
  });

  it('ignores floating-point noise in either direction without the monotonicity flag', () => {
    const r = bucketQuantile(0.5, b([[0.1, 10], [0.5, 50], [1, 50 - 50 * 1e-14], [Inf, 100]]));
    expect(r.forcedMonotonic).toBe(false);
    expect(r.fixedPrecision).toBe(true);
    const up = bucketQuantile(0.5, b([[0.1, 10], [0.5, 50], [1, 50 + 50 * 1e-14], [Inf, 100]]));
    expect(up.fixedPrecision).toBe(true);
  });

  it('reports zeros for the early exits', () => {
    expect(bucketQuantile(-1, b(h))).toEqual({ value: -Inf, forcedMonotonic: false, fixedPrecision: false, minBucket: 0, maxBucket: 0, maxDiff: 0 });
  });

  it('is monotone in q', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 8 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (incs, q1, q2) => {
          let c = 0;
          const pairs = incs.map((inc, i) => [i + 1, (c += inc)] as const);
          const make = () => b([...pairs, [Inf, c + 1]]);
          const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
          expect(bucketQuantile(lo, make()).value).toBeLessThanOrEqual(bucketQuantile(hi, make()).value + 1e-12);
        },
      ),
    );
  });
});

describe('bucketFraction', () => {
  const rows: [string, number, number, ClassicBucket[], number][] = [
    ['everything', -Inf, Inf, b(h), 1],
    ['up to a bucket bound', -Inf, 0.5, b(h), 0.5],
    ['interpolated inside a bucket', 0.1, 0.3, b(h), 0.2],
    ['lower bound inside the first (0, 0.1] bucket', 0.05, 0.1, b(h), 0.05],
    ['above the largest bound', 1, Inf, b(h), 0.1],
    ['inside the +Inf bucket counts nothing of it', -Inf, 2, b(h), 0.9],
    ['lower >= upper → 0', 0.5, 0.5, b(h), 0],
    ['NaN bound → NaN', NaN, 1, b(h), NaN],
    ['no +Inf bucket → NaN', 0, 1, b([[1, 10]]), NaN],
    ['zero observations → NaN', 0, 1, b([[1, 0], [Inf, 0]]), NaN],
    ['first bucket (-Inf, -1] is wholly below a bound inside it', -2, 0, b([[-1, 10], [0, 50], [Inf, 100]]), 0.4],
    ['empty → NaN', 0, 1, [], NaN],
  ];
  for (const [label, lower, upper, buckets, expected] of rows) {
    it(label, () => {
      const r = bucketFraction(lower, upper, buckets);
      if (Number.isNaN(expected)) expect(r).toBeNaN();
      else expect(r).toBeCloseTo(expected, 12);
    });
  }

  it('inverts bucketQuantile inside finite buckets', () => {
    for (const q of [0.05, 0.2, 0.5, 0.7, 0.85]) {
      const v = bucketQuantile(q, b(h)).value;
      expect(bucketFraction(-Inf, v, b(h))).toBeCloseTo(q, 12);
    }
  });
});
