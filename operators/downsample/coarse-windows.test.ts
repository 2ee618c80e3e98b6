import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { STALE_NAN } from '../../model/stale-nan.ts';
import { CoarseWindows } from './coarse-windows.ts';
import { RollupWindows, type Rollup } from './rollup-state.ts';

const M = 60_000;
const H = 60 * M;

const rollup = (ref: number, start: number, over: Partial<Rollup> = {}): Rollup => ({
  ref,
  start,
  count: 1,
  sum: 1,
  min: 1,
  max: 1,
  counter: 1,
  firstT: start,
  firstV: 1,
  lastT: start,
  lastV: 1,
  ...over,
});

describe('CoarseWindows', () => {
  it('holds finer rollups until the coarse window ends at or before the watermark', () => {
    const c = new CoarseWindows(H, 5 * M);
    c.add([rollup(1, 0), rollup(1, 55 * M, { lastT: 56 * M, counter: 9 })]);
    expect(c.close(H - 1)).toEqual([]);
    expect(c.held).toBe(2);
    const [r] = c.close(H);
    expect(r).toMatchObject({ ref: 1, start: 0, count: 2, counter: 9, firstT: 0, lastT: 56 * M });
    expect(c.held).toBe(0);
  });

  it('treats a finer rollup for a closed coarse window as a bug, not as late data', () => {
    const c = new CoarseWindows(H, 5 * M);
    c.close(2 * H);
    expect(() => c.add([rollup(1, H + 5 * M)])).toThrow(/bug: .*after it closed/);
  });

  it.each([
    { resolution: H, finer: 7 * M },
    { resolution: 5 * M, finer: 5 * M },
    { resolution: 5 * M, finer: H },
  ])('refuses $resolution ms from $finer ms', ({ resolution, finer }) => {
    expect(() => new CoarseWindows(resolution, finer)).toThrow(/multiple/);
  });

  it('reports the end of its latest open window', () => {
    const c = new CoarseWindows(H, 5 * M);
    expect(c.openUntil).toBe(-Infinity);
    c.add([rollup(1, 70 * M), rollup(2, 5 * M)]);
    expect(c.openUntil).toBe(2 * H);
  });

  // The property the brief asks for: 1h through 5m equals 1h straight from the raw samples, window
  // for window and close for close, with out-of-order arrival, lateness, resets, staleness and a
  // snapshot/restore in the middle. Values are integers so sums do not depend on addition order.
  it('derives the same 1h rollups, at the same watermarks, as RollupWindows(1h) over the raw samples (property)', () => {
    const sample = fc.record({
      ref: fc.integer({ min: 0, max: 3 }),
      // Mostly on a 5m or 15s grid, so watermarks land exactly on window ends often.
      t: fc.oneof(
        fc.integer({ min: 0, max: 48 }).map((k) => k * 5 * M),
        fc.integer({ min: 0, max: (4 * H) / 15_000 }).map((k) => k * 15_000),
        fc.integer({ min: 0, max: 4 * H }),
      ),
      v: fc.integer({ min: 0, max: 1000 }),
      stale: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
    });
    fc.assert(
      fc.property(
        fc.array(sample, { maxLength: 300 }),
        fc.constantFrom(0, 3 * M, 20 * M, H),
        fc.nat(),
        fc.constantFrom(5 * M, 15 * M),
        (rows, lateness, cut, fineRes) => {
          const fine = new RollupWindows(fineRes);
          let coarse = new CoarseWindows(H, fineRes);
          const direct = new RollupWindows(H);
          const values = Float64Array.from(rows, (r) => (r.stale ? STALE_NAN : r.v));
          let maxT = -Infinity;
          const restoreAt = rows.length === 0 ? -1 : cut % rows.length;
          rows.forEach(({ ref, t }, i) => {
            const before = fine.stats.accepted + fine.stats.staleSkipped;
            fine.add(ref, t, values[i]);
            // The same raw sample goes straight to the 1h windows when the 5m ones took it.
            if (fine.stats.accepted + fine.stats.staleSkipped > before) direct.add(ref, t, values[i]);
            if (t > maxT) maxT = t;
            const wm = maxT - lateness;
            coarse.add(fine.close(wm));
            expect(coarse.close(wm)).toEqual(direct.close(wm));
            if (i === restoreAt) coarse = CoarseWindows.restore(structuredClone(coarse.snapshot()));
          });
          coarse.add(fine.closeAll());
          expect(coarse.closeAll()).toEqual(direct.closeAll());
        },
      ),
      { numRuns: 300 },
    );
  });
});
