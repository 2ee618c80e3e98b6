/**
 * `histogram_quantile` and `histogram_fraction` over classic histograms: the cumulative `_bucket`
 * series of one histogram at one step, grouped by the evaluator (labels minus `le`), each bucket
 * its `le` upper bound and its cumulative count.
 */
export interface ClassicBucket {
  upperBound: number;
  count: number;
}

export interface BucketQuantileResult {
  readonly value: number;
  /**
   * A bucket's count was lower than a lower bucket's and was raised to it. The evaluator reports
   * the info annotation "input to histogram_quantile needed to be fixed for monotonicity" with the
   * fields below.
   */
  readonly forcedMonotonic: boolean;
  /** Differences small enough to be floating-point noise (relative 1e-12) were ignored; no annotation. */
  readonly fixedPrecision: boolean;
  /** The lowest and highest upper bound whose count was raised (+Inf / -Inf when none was). */
  readonly minBucket: number;
  readonly maxBucket: number;
  /** The largest amount a count was raised by. */
  readonly maxDiff: number;
}

/** Relative difference between neighbouring bucket counts below which it is treated as rounding noise. */
export const SMALL_DELTA_TOLERANCE = 1e-12;

const MIN_NORMAL = 2.2250738585072014e-308;

/** Whether a and b differ by less than epsilon relative to their magnitude (both NaN counts as equal). */
function almostEqual(a: number, b: number, epsilon: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function byUpperBound(a: ClassicBucket, b: ClassicBucket): number {
  if (a.upperBound < b.upperBound) return -1;
  if (a.upperBound > b.upperBound) return 1;
  return 0;
}

/**
 * Sorts by bound and merges buckets with equal bounds (their counts add up: two series that map to
 * the same `le`, e.g. "1" and "1.0"). Works in place; returns the new length.
 */
function sortAndCoalesce(buckets: ClassicBucket[]): number {
  buckets.sort(byUpperBound);
  let i = 0;
  let lastBound = buckets[0].upperBound;
  let lastCount = buckets[0].count;
  for (let j = 1; j < buckets.length; j++) {
    const b = buckets[j];
    if (b.upperBound === lastBound) {
      lastCount += b.count;
    } else {
      buckets[i].upperBound = lastBound;
      buckets[i].count = lastCount;
      lastBound = b.upperBound;
      lastCount = b.count;
      i++;
    }
  }
  buckets[i].upperBound = lastBound;
  buckets[i].count = lastCount;
  return i + 1;
}

// ensureMonotonic's report, in module state to keep the fixing loop allocation-free.
let forcedMonotonic = false;
let fixedPrecision = false;
let minBucket = 0;
let maxBucket = 0;
let maxDiff = 0;

/**
 * Cumulative counts must not decrease with the bound, and the quantile's bucket search depends on
 * it. Real data breaks this (inconsistent targets, remote-write ingestion, lossy downstream systems,
 * rounding in `rate` of each bucket), so:
 * 1. a difference that is floating-point noise (relative < tolerance) is ignored in either direction
 *    by copying the previous count;
 * 2. any remaining decrease is removed by raising the count to the previous one (the "envelope").
 * In both cases the previous count stays the reference, so a run of decreases is measured against
 * the last accepted count.
 */
function ensureMonotonic(buckets: ClassicBucket[], n: number, tolerance: number): void {
  forcedMonotonic = false;
  fixedPrecision = false;
  minBucket = Infinity;
  maxBucket = -Infinity;
  maxDiff = 0;
  let prev = buckets[0].count;
  for (let i = 1; i < n; i++) {
    const curr = buckets[i].count;
    if (curr === prev) continue;
    if (almostEqual(prev, curr, tolerance)) {
      buckets[i].count = prev;
      fixedPrecision = true;
      continue;
    }
    if (curr < prev) {
      buckets[i].count = prev;
      forcedMonotonic = true;
      const ub = buckets[i].upperBound;
      if (ub < minBucket) minBucket = ub;
      if (ub > maxBucket) maxBucket = ub;
      const diff = prev - curr;
      if (diff > maxDiff) maxDiff = diff;
      continue;
    }
    prev = curr;
  }
}

function result(value: number): BucketQuantileResult {
  return { value, forcedMonotonic, fixedPrecision, minBucket, maxBucket, maxDiff };
}

function earlyResult(value: number): BucketQuantileResult {
  return { value, forcedMonotonic: false, fixedPrecision: false, minBucket: 0, maxBucket: 0, maxDiff: 0 };
}

/**
 * `histogram_quantile(q, ...)` over one classic histogram. Sorts and rewrites `buckets` in place
 * (pass a per-call array). Rules, in order:
 * - q NaN → NaN; q < 0 → -Inf; q > 1 → +Inf (the evaluator adds the invalid-quantile warning);
 * - no `+Inf` bucket → NaN (the total count is unknown);
 * - duplicate bounds are merged; counts are made monotonic (see `ensureMonotonic`);
 * - fewer than two buckets, or zero observations → NaN;
 * - the bucket holding rank `q * total` is found (first bucket whose count reaches the rank, among
 *   all but the +Inf bucket) and the value is interpolated linearly inside it, assuming the
 *   observations spread evenly between its lower and upper bound;
 * - in the +Inf bucket the result is the largest finite bound (there is nothing to interpolate to);
 * - the lowest bucket starts at 0 when its upper bound is positive (observations are assumed
 *   non-negative); when its upper bound is <= 0 the result is that bound.
 */
export function bucketQuantile(q: number, buckets: ClassicBucket[]): BucketQuantileResult {
  if (Number.isNaN(q)) return earlyResult(NaN);
  if (q < 0) return earlyResult(-Infinity);
  if (q > 1) return earlyResult(Infinity);
  if (buckets.length === 0) return earlyResult(NaN);
  buckets.sort(byUpperBound);
  if (buckets[buckets.length - 1].upperBound !== Infinity) return earlyResult(NaN);

  const n = sortAndCoalesce(buckets);
  ensureMonotonic(buckets, n, SMALL_DELTA_TOLERANCE);

  if (n < 2) return result(NaN);
  const observations = buckets[n - 1].count;
  if (observations === 0) return result(NaN);
  let rank = q * observations;

  // Binary search (the standard lower-bound search) for the first bucket, excluding +Inf, whose
  // count reaches the rank; on monotonic counts it is the first such bucket.
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (!(buckets[mid].count >= rank)) lo = mid + 1;
    else hi = mid;
  }
  const b = lo;

  if (b === n - 1) return result(buckets[n - 2].upperBound);
  if (b === 0 && buckets[0].upperBound <= 0) return result(buckets[0].upperBound);
  let bucketStart = 0;
  const bucketEnd = buckets[b].upperBound;
  let count = buckets[b].count;
  if (b > 0) {
    bucketStart = buckets[b - 1].upperBound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return result(bucketStart + (bucketEnd - bucketStart) * (rank / count));
}

/**
 * `histogram_fraction(lower, upper, ...)` over one classic histogram: the estimated fraction of
 * observations in [lower, upper], interpolating linearly inside the buckets the bounds fall into.
 * Sorts and rewrites `buckets` in place. Counts are not made monotonic here.
 * - no `+Inf` bucket, zero observations, or a NaN bound → NaN;
 * - lower >= upper → 0;
 * - the lowest bucket spans (0, le] when le > 0 and (-Inf, le] otherwise; no observation inside a
 *   bucket with an infinite bound can be located, so a bound inside such a bucket counts the bucket
 *   as wholly below it (the -Inf-bounded first bucket) or wholly above it (the +Inf bucket).
 */
export function bucketFraction(lower: number, upper: number, buckets: ClassicBucket[]): number {
  if (buckets.length === 0) return NaN;
  buckets.sort(byUpperBound);
  if (buckets[buckets.length - 1].upperBound !== Infinity) return NaN;
  const n = sortAndCoalesce(buckets);

  const count = buckets[n - 1].count;
  if (count === 0 || Number.isNaN(lower) || Number.isNaN(upper)) return NaN;
  if (lower >= upper) return 0;

  let rank = 0;
  let lowerRank = 0;
  let upperRank = 0;
  let lowerSet = false;
  let upperSet = false;
  let lowerBound = buckets[0].upperBound <= 0 ? -Infinity : 0;

  for (let i = 0; i < n; i++) {
    if (i > 0) lowerBound = buckets[i - 1].upperBound;
    const upperBound = buckets[i].upperBound;
    const bucketCount = buckets[i].count;

    if (!lowerSet && lowerBound >= lower) {
      lowerRank = rank;
      lowerSet = true;
    }
    if (!upperSet && lowerBound >= upper) {
      upperRank = rank;
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    if (!lowerSet && lowerBound < lower && upperBound > lower) {
      lowerRank = lowerBound === -Infinity ? bucketCount : rank + ((bucketCount - rank) * (lower - lowerBound)) / (upperBound - lowerBound);
      lowerSet = true;
    }
    if (!upperSet && lowerBound < upper && upperBound > upper) {
      upperRank = lowerBound === -Infinity ? bucketCount : rank + ((bucketCount - rank) * (upper - lowerBound)) / (upperBound - lowerBound);
      upperSet = true;
    }
    if (lowerSet && upperSet) break;
    // Counts are cumulative: the rank below the next bucket is this bucket's count.
    rank = bucketCount;
  }
  if (!lowerSet || lowerRank > count) lowerRank = count;
  if (!upperSet || upperRank > count) upperRank = count;
  return (upperRank - lowerRank) / count;
}
