import { describe, expect, it } from 'vitest';
import { newMatcher } from '../../../model/matchers.ts';
import type { VectorSelector } from '../ast.ts';
import { parseExpr } from '../parser/index.ts';
import { Engine } from './engine.ts';
import { checkExtendedModifier, extendedBounds, extendedRate, smoothedValue } from './extended-range.ts';
import { MemoryQueryable } from './testing/memory-queryable.ts';
import { labelsFromRecord } from '../../../model/labels.ts';

const S = 1000;
const M = 60 * S;
const LOOKBACK = 5 * M;

describe('extendedBounds', () => {
  // Samples at 0, 1m, 2m, 8m.
  const ts = [0, M, 2 * M, 8 * M];
  const cases: [string, number, number, boolean, [number, number]][] = [
    // (mint, maxt] = (1m, 2m]: the sample at 2m, plus the one at 1m as the anchor.
    ['anchored: the last sample at or before the start', M, 2 * M, false, [1, 3]],
    // (2m, 3m] is empty: 2m stands for the end, 1m anchors the start.
    ['anchored, empty range: two samples before it', 2 * M, 3 * M, false, [1, 3]],
    // (7m, 8m]: 2m is not within the lookback of 7m (left-open).
    ['anchored: no anchor beyond the lookback delta', 7 * M, 8 * M, false, [3, 4]],
    // smoothed also takes the first sample after the end, within the lookback delta.
    ['smoothed: the next sample after the end', 30 * S, 90 * S, true, [0, 3]],
    ['smoothed: no next sample beyond the lookback delta', 30 * S, 2 * M + 30 * S, true, [0, 3]],
  ];
  it.each(cases)('%s', (_name, mint, maxt, smoothed, want) => {
    let lo = 0;
    while (lo < ts.length && ts[lo] <= mint) lo++;
    let hi = lo;
    while (hi < ts.length && ts[hi] <= maxt) hi++;
    const { start, end } = extendedBounds(ts, ts.length, lo, hi, mint, maxt, LOOKBACK, smoothed);
    expect([start, end]).toEqual(want);
  });
});

describe('extendedRate (upstream extended_vectors.test, "complete dataset": 1+1x4 9+1x4 every 15s)', () => {
  const ts = Array.from({ length: 10 }, (_, i) => i * 15 * S);
  const values = [1, 2, 3, 4, 5, 9, 10, 11, 12, 13];
  const at = (t: number, smoothed: boolean, isCounter = true, isRate = false) => {
    const mint = t - M;
    let lo = 0;
    while (lo < ts.length && ts[lo] <= mint) lo++;
    let hi = lo;
    while (hi < ts.length && ts[hi] <= t) hi++;
    const { start, end } = extendedBounds(ts, ts.length, lo, hi, mint, t, LOOKBACK, smoothed);
    return extendedRate(ts, values, start, end, mint, t, 60, smoothed, isCounter, isRate);
  };
  const cases: [string, number, boolean, number][] = [
    ['increase anchored at 5s', 5 * S, false, 0],
    ['increase anchored at 80s', 80 * S, false, 7],
    ['increase smoothed at 5s', 5 * S, true, 1 / 3],
    ['increase smoothed at 65s', 65 * S, true, 5],
    ['increase smoothed at 125s', 125 * S, true, 6],
  ];
  it.each(cases)('%s', (_name, t, smoothed, want) => {
    expect(at(t, smoothed)).toBeCloseTo(want, 9);
  });
  it('divides by the range for rate, and is undefined with no sample after the range start', () => {
    expect(at(80 * S, false, true, true)).toBeCloseTo(7 / 60, 12);
    expect(extendedRate([0], [1], 0, 1, 0, M, 60, false, true, false)).toBeUndefined();
  });
  it('counts a reset between the edges (increase), not for delta', () => {
    // 5 8 11 3 6 every minute; (1m30s-1m, 1m30s] anchored: 5@0, 8@1m -> 3; at 3m: 11@2m anchor, 3@3m -> reset.
    const t = [0, M, 2 * M, 3 * M, 4 * M];
    const v = [5, 8, 11, 3, 6];
    expect(extendedRate(t, v, 2, 4, 2 * M, 3 * M, 60, false, true, false)).toBe(3);
    expect(extendedRate(t, v, 2, 4, 2 * M, 3 * M, 60, false, false, false)).toBe(-8);
  });
});

describe('smoothedValue', () => {
  const ts = [0, 10 * S, 20 * S];
  const values = [1, 2, 3];
  const cases: [string, number, number, number | undefined][] = [
    ['on a sample', 1, 10 * S, 2],
    ['between two samples', 0, 5 * S, 1.5],
    ['after the last sample: the last value', 2, 25 * S, 3],
    ['nothing within the lookback delta', 2, 20 * S + LOOKBACK, undefined],
    ['nothing before', -1, 0, undefined],
  ];
  it.each(cases)('%s', (_name, prev, ref, want) => {
    expect(smoothedValue(ts, values, ts.length, prev, ref, LOOKBACK)).toBe(want);
  });
});

describe('checkExtendedModifier', () => {
  const sel = (mod: 'anchored' | 'smoothed' | null): VectorSelector => ({
    kind: 'VectorSelector', name: 'foo', matchers: [newMatcher('=', '__name__', 'foo')], offsetMs: 0, at: null, pos: { start: 0, end: 3 },
    ...(mod === null ? {} : { [mod]: true }),
  });
  const cases: [string, 'anchored' | 'smoothed' | null, string | null][] = [
    ['rate', 'smoothed', null],
    ['changes', 'anchored', null],
    ['max_over_time', null, null],
    ['deriv', 'smoothed', 'smoothed modifier can only be used with: delta, increase, rate - not with deriv'],
    ['changes', 'smoothed', 'smoothed modifier can only be used with: delta, increase, rate - not with changes'],
    ['predict_linear', 'anchored', 'anchored modifier can only be used with: changes, delta, increase, rate, resets - not with predict_linear'],
  ];
  it.each(cases)('%s with %s', (func, mod, error) => {
    if (error === null) expect(() => checkExtendedModifier(func, sel(mod))).not.toThrow();
    else expect(() => checkExtendedModifier(func, sel(mod))).toThrow(error);
  });
});

describe('the engine over anchored and smoothed selectors', () => {
  const engine = new Engine();
  const data = new MemoryQueryable([{ labels: labelsFromRecord({ __name__: 'm' }), ts: [0, M, 3 * M, 4 * M], values: Float64Array.from([1, 2, 4, 5]) }]);
  const cases: [string, number, number | null][] = [
    ['increase(m[1m] smoothed)', 2 * M, 1],
    ['increase(m[1m] anchored)', 2 * M, null],
    ['increase(m[2m] anchored)', 3 * M, 2],
    ['m smoothed', 2 * M, 3],
  ];
  it.each(cases)('%s at %d', async (query, t, want) => {
    const r = await engine.instantQuery(data, parseExpr(query, { extendedRangeSelectors: true }), t);
    if (r.value.type !== 'vector') throw new Error('expected a vector');
    expect(r.value.samples.map((s) => s.v)).toEqual(want === null ? [] : [want]);
  });
});
