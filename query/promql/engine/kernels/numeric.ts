/**
 * Numeric building blocks shared by the PromQL aggregations (`sum`, `avg`, `stddev`, `stdvar`,
 * `quantile`) and the `*_over_time` range functions, so both paths round exactly alike.
 *
 * Everything here is allocation-free per value: accumulators are mutable objects the caller keeps
 * (one per output group or per kernel), and `quantile` sorts a caller-provided scratch array.
 * Prometheus evaluates without fused multiply-add on amd64, so every expression below is written as
 * separate multiply and add steps in the order PromQL evaluates them; reordering an expression
 * changes the last bits of results that conformance tests compare.
 */

/** A running Kahan-Neumaier sum: `sum` plus the compensation `c` that the rounding of `sum` lost. */
export interface KahanState {
  sum: number;
  c: number;
}

/**
 * Adds `inc` to `s` with Neumaier's variant of Kahan summation (the compensation is taken from
 * whichever operand is larger, so adding a large value to a small sum loses nothing either).
 * When the new sum overflows to ±Inf the compensation is reset to 0: an infinite sum cannot be
 * corrected, and keeping a finite `c` would turn `sum + c` into NaN-free garbage later.
 */
export function kahanInc(s: KahanState, inc: number): void {
  const sum = s.sum;
  const t = sum + inc;
  if (t === Infinity || t === -Infinity) {
    s.c = 0;
  } else if (Math.abs(sum) >= Math.abs(inc)) {
    s.c += sum - t + inc;
  } else {
    s.c += inc - t + sum;
  }
  s.sum = t;
}

/** `sum` aggregation: the first value seeds the sum, later ones are Kahan-added; the result adds the compensation back. */
export class SumAccumulator {
  private readonly s: KahanState = { sum: 0, c: 0 };

  reset(first: number): void {
    this.s.sum = first;
    this.s.c = 0;
  }

  add(v: number): void {
    kahanInc(this.s, v);
  }

  result(): number {
    return this.s.sum + this.s.c;
  }
}

/**
 * The mean as PromQL computes it for `avg` and `avg_over_time`: a Kahan-compensated direct sum
 * divided by the count, which is the more accurate method on ordinary data, until the running sum
 * would overflow to ±Inf. From that value on it switches to an incremental mean
 * (`mean = mean*(n-1)/n + v/n`, still Kahan-compensated), which stays finite for inputs whose mean
 * is representable even though their sum is not (e.g. many values near the float64 maximum).
 */
export class MeanAccumulator {
  private readonly s: KahanState = { sum: 0, c: 0 };
  private count = 0;
  private incremental = false;

  reset(first: number): void {
    this.s.sum = first;
    this.s.c = 0;
    this.count = 1;
    this.incremental = false;
  }

  add(v: number): void {
    const s = this.s;
    const count = ++this.count;
    if (!this.incremental) {
      const prevSum = s.sum;
      const prevC = s.c;
      kahanInc(s, v);
      if (s.sum !== Infinity && s.sum !== -Infinity) return;
      // The sum would overflow: restore it and continue with the incremental mean.
      this.incremental = true;
      s.sum = prevSum / (count - 1);
      s.c = prevC / (count - 1);
    }
    const q = (count - 1) / count;
    s.sum = q * s.sum;
    s.c = q * s.c;
    kahanInc(s, v / count);
  }

  result(): number {
    if (this.incremental) return this.s.sum + this.s.c;
    return this.s.sum / this.count + this.s.c / this.count;
  }
}

/**
 * Population variance for the `stddev` / `stdvar` aggregations: Welford's online algorithm without
 * compensation. A group whose first value is NaN or ±Inf is NaN from the start (Welford would
 * otherwise compute Inf - Inf and still end at NaN, but only after some inputs; the aggregation
 * makes it explicit on the first value).
 */
export class AggregationVariance {
  private mean = 0;
  private m2 = 0;
  private count = 0;

  reset(first: number): void {
    this.mean = first;
    this.m2 = Number.isFinite(first) ? 0 : NaN;
    this.count = 1;
  }

  add(v: number): void {
    const count = ++this.count;
    const delta = v - this.mean;
    this.mean += delta / count;
    this.m2 += delta * (v - this.mean);
  }

  /** The population variance (divided by n, not n-1). */
  variance(): number {
    return this.m2 / this.count;
  }
}

/**
 * Population variance for `stddev_over_time` / `stdvar_over_time`: Welford's algorithm where both
 * the running mean and the sum of squared deviations are Kahan-compensated. The deviation is taken
 * against the compensated mean (`mean + c`), before and after the update, which is what keeps long
 * windows of large, nearly equal values (e.g. 1e16 + small noise) accurate.
 */
export function overTimeVariance(values: Float64Array, start: number, end: number): number {
  let count = 0;
  let mean = 0;
  let cMean = 0;
  let aux = 0;
  let cAux = 0;
  for (let i = start; i < end; i++) {
    const f = values[i];
    count++;
    const delta = f - (mean + cMean);
    // Inlined kahanInc for the mean.
    let inc = delta / count;
    let t = mean + inc;
    if (t === Infinity || t === -Infinity) cMean = 0;
    else if (Math.abs(mean) >= Math.abs(inc)) cMean += mean - t + inc;
    else cMean += inc - t + mean;
    mean = t;
    // And for the squared deviations, against the updated mean.
    inc = delta * (f - (mean + cMean));
    t = aux + inc;
    if (t === Infinity || t === -Infinity) cAux = 0;
    else if (Math.abs(aux) >= Math.abs(inc)) cAux += aux - t + inc;
    else cAux += inc - t + aux;
    aux = t;
  }
  return (aux + cAux) / count;
}

/**
 * Sorts `values[0, n)` ascending in place with every NaN first. PromQL orders NaN below every
 * number when it sorts samples for quantiles, so a NaN input pulls low quantiles to NaN rather than
 * high ones. (A typed-array sort puts NaN last; the NaN tail is rotated to the front here.)
 */
export function sortNaNFirst(values: Float64Array, n: number): void {
  const view = n === values.length ? values : values.subarray(0, n);
  view.sort();
  let nans = 0;
  while (nans < n && Number.isNaN(view[n - 1 - nans])) nans++;
  if (nans > 0 && nans < n) {
    view.copyWithin(nans, 0, n - nans);
    view.fill(NaN, 0, nans);
  }
}

/**
 * The φ-quantile of `values[0, n)` as the `quantile` aggregation and `quantile_over_time` define
 * it: sort (NaN first), then interpolate linearly between the two closest ranks, with rank
 * `q * (n - 1)` (the "R-7" / Excel `PERCENTILE.INC` rule). Sorts `values` in place.
 *
 * - no values or NaN q → NaN; q < 0 → -Inf; q > 1 → +Inf (and the evaluator adds the
 *   invalid-quantile warning);
 * - the weights are `1 - w` and `w` even when `w` is 0, so an infinite neighbour that carries no
 *   weight still turns the result into NaN (Inf * 0), exactly as PromQL reports it.
 */
export function quantile(q: number, values: Float64Array, n: number): number {
  if (n === 0 || Number.isNaN(q)) return NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  sortNaNFirst(values, n);
  const rank = q * (n - 1);
  const lowerIndex = Math.max(0, Math.floor(rank));
  const upperIndex = Math.min(n - 1, lowerIndex + 1);
  const weight = rank - Math.floor(rank);
  return values[lowerIndex] * (1 - weight) + values[upperIndex] * weight;
}

/**
 * `time.Duration.Seconds()` for a whole number of milliseconds: whole seconds plus the remaining
 * nanoseconds divided by 1e9. Rates divide by this, so it is reproduced bit for bit rather than
 * computed as `ms / 1000` (which can differ in the last bit for non-integral second counts).
 */
export function durationSeconds(ms: number): number {
  const sec = Math.trunc(ms / 1000);
  const nsec = (ms - sec * 1000) * 1e6;
  return sec + nsec / 1e9;
}
