import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { STALE_NAN } from '../../model/stale-nan.ts';
import { RollupWindows, coarsen, type Rollup } from './rollup-state.ts';

const M = 60_000;

describe('RollupWindows', () => {
  it('aggregates a window and folds counter resets into the counter', () => {
    const w = new RollupWindows(5 * M);
    // 10, 15, 3 (reset), 8 in [0, 5m); then 12 in [5m, 10m)
    for (const [t, v] of [[0, 10], [M, 15], [2 * M, 3], [3 * M, 8], [6 * M, 12]]) w.add(1, t, v);
    const closed = w.close(10 * M);
    expect(closed).toEqual([
      { ref: 1, start: 0, count: 4, sum: 36, min: 3, max: 15, counter: 10 + 5 + 3 + 5, firstT: 0, firstV: 10, lastT: 3 * M, lastV: 8 },
      { ref: 1, start: 5 * M, count: 1, sum: 12, min: 12, max: 12, counter: 23 + 4, firstT: 6 * M, firstV: 12, lastT: 6 * M, lastV: 12 },
    ]);
  });

  // Values go through a Float64Array: a plain array of numbers may quiet the stale NaN's payload.
  it.each([
    { name: 'staleness markers are skipped', samples: [[0, 1], [M, -1], [2 * M, 3]], want: { count: 2, sum: 4 }, stale: 1 },
    { name: 'late samples inside the window are sorted before aggregating', samples: [[2 * M, 5], [0, 1], [M, 3]], want: { count: 3, firstV: 1, lastV: 5, counter: 5 } },
    { name: 'a duplicate timestamp keeps the first arrival', samples: [[0, 1], [0, 9], [M, 2]], want: { count: 2, sum: 3 } },
  ])('$name', ({ samples, want, stale }) => {
    const w = new RollupWindows(5 * M);
    const values = Float64Array.from(samples, ([, v]) => (v === -1 ? STALE_NAN : v));
    samples.forEach(([t], i) => w.add(7, t, values[i]));
    expect(w.close(5 * M)[0]).toMatchObject(want);
    if (stale) expect(w.stats.staleSkipped).toBe(stale);
  });

  it('keeps windows open until the watermark passes their end; a sample for a closed window is too late', () => {
    const w = new RollupWindows(5 * M);
    w.add(1, M, 1);
    expect(w.close(5 * M - 1)).toEqual([]);
    expect(w.close(5 * M)).toHaveLength(1);
    w.add(1, 2 * M, 2); // its window closed
    expect(w.stats.tooLate).toBe(1);
    w.add(1, 5 * M, 3);
    expect(w.closeAll().map((r) => r.start)).toEqual([5 * M]);
  });

  it('restores from a snapshot and goes on as if never stopped', () => {
    const a = new RollupWindows(5 * M);
    const b0 = new RollupWindows(5 * M);
    const feed = (w: RollupWindows, rows: number[][]) => rows.flatMap(([ref, t, v]) => (w.add(ref, t, v), w.close(t - 2 * M)));
    const first = [[1, 0, 5], [2, M, 1], [1, 6 * M, 2], [2, 7 * M, 4]];
    const second = [[1, 11 * M, 7], [2, 12 * M, 9], [1, 16 * M, 1]];
    const all = [...feed(a, first), ...feed(a, second), ...a.closeAll()];
    const part = feed(b0, first);
    const b = RollupWindows.restore(JSON.parse(JSON.stringify(b0.snapshot())));
    expect([...part, ...feed(b, second), ...b.closeAll()]).toEqual(all);
  });

  it('equals a reference computed from the raw samples, with resets, staleness, gaps and late arrivals (property)', () => {
    const sample = fc.record({
      ref: fc.integer({ min: 0, max: 3 }),
      t: fc.integer({ min: 0, max: 60 * M }),
      v: fc.integer({ min: 0, max: 1000 }),
      stale: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
    });
    fc.assert(
      fc.property(fc.array(sample, { maxLength: 200 }), fc.constantFrom(0, 2 * M, 10 * M), (rows, lateness) => {
        const res = 5 * M;
        const w = new RollupWindows(res);
        const got: Rollup[] = [];
        let maxT = -Infinity;
        // The reference decides acceptance on its own: a sample counts if its window had not
        // closed, i.e. starts at or after the window of the watermark before it arrived.
        let closedBefore = -Infinity;
        const accepted: Array<{ ref: number; t: number; v: number; order: number }> = [];
        rows.forEach(({ ref, t, v, stale }, order) => {
          if (!stale && Math.floor(t / res) * res >= closedBefore) accepted.push({ ref, t, v, order });
          w.add(ref, t, stale ? STALE_NAN : v);
          if (t > maxT) maxT = t;
          got.push(...w.close(maxT - lateness));
          closedBefore = Math.max(closedBefore, Math.floor((maxT - lateness) / res) * res);
        });
        got.push(...w.closeAll());

        const want: Rollup[] = [];
        for (const ref of [0, 1, 2, 3]) {
          const mine = accepted.filter((s) => s.ref === ref).sort((a, b) => a.t - b.t || a.order - b.order);
          const unique = mine.filter((s, i) => i === 0 || mine[i - 1].t !== s.t);
          let counter = 0;
          let last = 0;
          let first = true;
          const byWindow = new Map<number, Rollup>();
          for (const s of unique) {
            counter = first ? s.v : s.v < last ? counter + s.v : counter + (s.v - last);
            first = false;
            last = s.v;
            const start = Math.floor(s.t / res) * res;
            const r = byWindow.get(start);
            byWindow.set(
              start,
              r
                ? { ...r, count: r.count + 1, sum: r.sum + s.v, min: Math.min(r.min, s.v), max: Math.max(r.max, s.v), counter, lastT: s.t, lastV: s.v }
                : { ref, start, count: 1, sum: s.v, min: s.v, max: s.v, counter, firstT: s.t, firstV: s.v, lastT: s.t, lastV: s.v },
            );
          }
          want.push(...byWindow.values());
        }
        const key = (r: Rollup) => `${r.start}/${r.ref}`;
        expect([...got].sort((a, b) => (key(a) < key(b) ? -1 : 1))).toEqual([...want].sort((a, b) => (key(a) < key(b) ? -1 : 1)));
        expect(w.stats.accepted).toBe(accepted.length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('coarsen', () => {
  it('derives 1h rollups from 5m rollups equal to rolling the raw samples up directly', () => {
    const fine = new RollupWindows(5 * M);
    const coarse = new RollupWindows(60 * M);
    let v = 0;
    for (let t = 0; t < 3 * 60 * M; t += 45_000) {
      v = t % (50 * M) === 0 ? 1 : v + (t % 7);
      fine.add(3, t, v);
      coarse.add(3, t, v);
    }
    expect(coarsen(fine.closeAll(), 60 * M)).toEqual(coarse.closeAll());
  });
});
