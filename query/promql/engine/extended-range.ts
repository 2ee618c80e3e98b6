import type { VectorSelector } from '../ast.ts';
import { isStaleNaN } from '../../../model/stale-nan.ts';
import { QueryError } from './types.ts';

/**
 * Prometheus's experimental extended range selectors (`anchored`, `smoothed`), after its
 * functions.go (extendedRate, pickOrInterpolateLeft/Right, interpolate,
 * correctForCounterResets) and the samples its engine hands them.
 *
 * - `foo[r] anchored`: the window (start, end] plus the last sample at or before start within
 *   the lookback delta (and, when the window itself is empty, the one before that too).
 *   rate/increase/delta take the difference between the
 *   first and last of those samples (counter resets corrected, no extrapolation); changes and
 *   resets count over them.
 * - `foo[r] smoothed`: the same, plus the first sample after end within the lookback delta;
 *   rate/increase/delta take the values at start and end interpolated linearly between the
 *   neighbouring samples (a counter reset between two of them counts as a drop to 0).
 * - `foo smoothed` (an instant selector): the value at the evaluation time interpolated between
 *   the sample at or before it and the next one; the last sample alone when there is no next.
 */

const ANCHORED_FUNCTIONS: readonly string[] = ['changes', 'delta', 'increase', 'rate', 'resets'];
const SMOOTHED_FUNCTIONS: readonly string[] = ['delta', 'increase', 'rate'];

/** Fails as Prometheus does when a range function cannot take the selector's modifier. */
export function checkExtendedModifier(func: string, vs: VectorSelector): void {
  const [word, allowed] = vs.anchored === true ? ['anchored', ANCHORED_FUNCTIONS] : vs.smoothed === true ? ['smoothed', SMOOTHED_FUNCTIONS] : [null, []];
  if (word === null || allowed.includes(func)) return;
  throw new QueryError('execution', `${word} modifier can only be used with: ${allowed.join(', ')} - not with ${func}`);
}

/**
 * The samples `ts[start, end)` an anchored or smoothed range function reads, given the plain
 * window's bounds (`lo` is the first sample after `mint`, `hi` the first after `maxt`).
 */
export function extendedBounds(
  ts: ArrayLike<number>,
  length: number,
  lo: number,
  hi: number,
  mint: number,
  maxt: number,
  lookbackMs: number,
  smoothed: boolean,
): { start: number; end: number } {
  let start = lo;
  if (start > 0 && ts[start - 1] > mint - lookbackMs) start--;
  // With no sample inside the range, the anchor stands for the range's end and the sample before
  // it anchors the start (as upstream's extended_vectors.test has changes/resets count them).
  if (start < lo && hi === lo && start > 0 && ts[start - 1] > mint - lookbackMs) start--;
  let end = hi;
  if (smoothed && end < length && ts[end] <= maxt + lookbackMs) end++;
  return { start, end };
}

/**
 * rate/increase/delta over an anchored or smoothed window `ts/values[start, end)` for the range
 * (rangeStart, rangeEnd] of `rangeSeconds`; undefined when no sample lies after rangeStart.
 */
export function extendedRate(
  ts: ArrayLike<number>,
  values: ArrayLike<number>,
  start: number,
  end: number,
  rangeStart: number,
  rangeEnd: number,
  rangeSeconds: number,
  smoothed: boolean,
  isCounter: boolean,
  isRate: boolean,
): number | undefined {
  if (end <= start) return undefined;
  let last = end - 1;
  // The last sample at or before rangeStart (or the first one), searched among all but the last.
  let first = start;
  while (first + 1 < last && ts[first + 1] <= rangeStart) first++;
  if (smoothed) {
    let i = start;
    while (i < last && ts[i] < rangeEnd) i++;
    last = i;
  }
  if (ts[last] <= rangeStart) return undefined;
  const left = smoothed && ts[first] < rangeStart ? interpolate(ts, values, first, first + 1, rangeStart, isCounter, true) : values[first];
  const right = smoothed && last > start && ts[last] > rangeEnd ? interpolate(ts, values, last - 1, last, rangeEnd, isCounter, false) : values[last];
  let result = right - left;
  if (isCounter) {
    // Resets strictly inside the range; the edges already took theirs into account.
    let from = first;
    let to = last;
    if (ts[from] <= rangeStart) from++;
    if (ts[to] >= rangeEnd) to--;
    let prev = left;
    for (let i = from; i <= to; i++) {
      if (values[i] < prev) result += prev;
      prev = values[i];
    }
    if (right < prev) result += prev;
  }
  return isRate ? result / rangeSeconds : result;
}

/** The value at `t` on the line between samples i and j; a counter's drop counts from 0 (left) or adds up (right). */
function interpolate(ts: ArrayLike<number>, values: ArrayLike<number>, i: number, j: number, t: number, isCounter: boolean, leftEdge: boolean): number {
  let y1 = values[i];
  let y2 = values[j];
  if (isCounter && y2 < y1) {
    if (leftEdge) y1 = 0;
    else y2 += y1;
  }
  return y1 + ((y2 - y1) * (t - ts[i])) / (ts[j] - ts[i]);
}

/**
 * A smoothed instant selector's value at `ref`: `prev` is the index of the last sample at or
 * before `ref` (-1 when none); undefined when there is none within the lookback delta or it is a
 * stale marker.
 */
export function smoothedValue(ts: ArrayLike<number>, values: ArrayLike<number>, length: number, prev: number, ref: number, lookbackMs: number): number | undefined {
  if (prev < 0 || ts[prev] <= ref - lookbackMs || isStaleNaN(values[prev])) return undefined;
  const next = prev + 1;
  if (ts[prev] === ref || next >= length || ts[next] > ref + lookbackMs || isStaleNaN(values[next])) return values[prev];
  return values[prev] + ((values[next] - values[prev]) * (ref - ts[prev])) / (ts[next] - ts[prev]);
}
