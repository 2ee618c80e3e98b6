import { describe, expect, it } from 'vitest';
import { STALE_NAN } from '../../model/stale-nan.ts';
import { DownsampleState, type PendingRollups } from './downsample-state.ts';

const M = 60_000;
const H = 60 * M;

/** Feeds rows [ref, t, v] as one batch; values through a Float64Array so a stale NaN stays one. */
function ingest(state: DownsampleState, tenant: string, rows: number[][], watermark: number) {
  const refs = Uint32Array.from(rows, (r) => r[0]);
  const ts = Float64Array.from(rows, (r) => r[1]);
  const values = new Float64Array(rows.length);
  rows.forEach((r, i) => (values[i] = Number.isNaN(r[2]) ? STALE_NAN : r[2]));
  return state.ingest(tenant, refs, ts, values, rows.length, watermark);
}

const summary = (ps: readonly PendingRollups[]) => ps.map((p) => ({ id: p.id, tenant: p.tenant, res: p.resolutionMs, starts: p.rollups.map((r) => `${r.ref}@${r.start / M}m`) }));

describe('DownsampleState', () => {
  it('keeps tenants apart and closes every tenant on the stream watermark, one pending batch per tenant and resolution', () => {
    const s = new DownsampleState([5 * M, H]);
    ingest(s, 'a', [[1, M, 1], [1, 61 * M, 2]], -Infinity);
    ingest(s, 'b', [[1, 2 * M, 10]], -Infinity);
    // A batch of tenant b moves the watermark: tenant a's windows close too.
    const { closed } = ingest(s, 'b', [[2, 6 * M, 1]], H);
    expect(summary(closed)).toEqual([
      { id: 1, tenant: 'a', res: 5 * M, starts: ['1@0m'] },
      { id: 2, tenant: 'a', res: H, starts: ['1@0m'] },
      { id: 3, tenant: 'b', res: 5 * M, starts: ['1@0m', '2@5m'] },
      { id: 4, tenant: 'b', res: H, starts: ['1@0m', '2@0m'] },
    ]);
    expect(closed[2].rollups[0]).toMatchObject({ sum: 10 }); // tenant b's series 1, not a's
    expect(s.pendingCount).toBe(4);
    expect(s.settle(2)).toBe(true);
    expect(s.settle(2)).toBe(false);
    expect(s.pendingBatches().map((p) => p.id)).toEqual([1, 3, 4]);
  });

  it.each([
    { name: 'stale markers are skipped', rows: [[1, 0, 1], [1, M, NaN]], wm: -Infinity, want: { accepted: 1, staleSkipped: 1, tooLate: 0 } },
    { name: 'a sample for a closed window is too late', rows: [[1, 0, 1], [1, 10 * M, 1]], wm: -Infinity, pre: 10 * M, want: { accepted: 1, staleSkipped: 0, tooLate: 1 } },
    { name: 'the batch is filed before its own watermark closes windows', rows: [[1, 0, 1], [1, 10 * M, 1]], wm: 10 * M, want: { accepted: 2, staleSkipped: 0, tooLate: 0 } },
  ])('counts: $name', ({ rows, wm, pre, want }) => {
    const s = new DownsampleState([5 * M]);
    if (pre !== undefined) s.advance(pre);
    expect(ingest(s, 't', rows, wm).counts).toEqual(want);
  });

  it('never moves the watermark back', () => {
    const s = new DownsampleState([5 * M]);
    ingest(s, 't', [[1, 0, 1]], 5 * M);
    expect(s.advance(M)).toEqual([]);
    expect(s.watermark).toBe(5 * M);
  });

  it('flushAll closes every open window and marks it closed, so a later sample for it is too late', () => {
    const s = new DownsampleState([5 * M, H]);
    ingest(s, 'a', [[1, 7 * M, 1]], -Infinity);
    ingest(s, 'b', [[1, 2 * M, 1]], -Infinity);
    const flushed = s.flushAll();
    expect(summary(flushed).map((p) => [p.tenant, p.res])).toEqual([['a', 5 * M], ['a', H], ['b', 5 * M], ['b', H]]);
    expect(s.watermark).toBe(H);
    expect(ingest(s, 'a', [[1, 8 * M, 2]], -Infinity).counts.tooLate).toBe(1);
    expect(s.flushAll()).toEqual([]);
  });

  it('restored from a snapshot mid-stream goes on exactly as if never stopped, pending ids included', () => {
    const batches: Array<[string, number[][], number]> = [
      ['a', [[1, 0, 5], [2, M, 1]], -Infinity],
      ['b', [[1, 3 * M, 7]], 2 * M],
      ['a', [[1, 6 * M, 2], [2, 7 * M, 4]], 6 * M],
      ['b', [[1, 9 * M, 1]], 9 * M],
      ['a', [[1, 61 * M, 3]], 61 * M],
      ['a', [[2, 125 * M, 9]], 125 * M],
    ];
    const run = (cutAt: number) => {
      let s = new DownsampleState([5 * M, H]);
      const out: PendingRollups[] = [];
      batches.forEach(([tenant, rows, wm], i) => {
        if (i === cutAt) s = DownsampleState.restore(structuredClone(s.snapshot()));
        out.push(...ingest(s, tenant, rows, wm).closed);
        if (i === 3) s.settle(out[0].id);
      });
      out.push(...s.flushAll());
      return { out, pending: s.pendingBatches().map((p) => p.id) };
    };
    const straight = run(-1);
    expect(straight.out.length).toBeGreaterThan(4);
    for (let cut = 1; cut < batches.length; cut++) expect(run(cut)).toEqual(straight);
  });

  it('refuses to restore a snapshot whose tenant levels do not match its resolutions (a bug)', () => {
    const s = new DownsampleState([5 * M, H]);
    ingest(s, 'a', [[1, 0, 1]], -Infinity);
    const snap = s.snapshot();
    expect(() => DownsampleState.restore({ ...snap, resolutions: [5 * M] })).toThrow(/bug: /);
  });
});
