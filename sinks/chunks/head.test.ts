import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashLabels, labelsFromRecord, type Labels } from '../../model/labels.ts';
import { LabelMatcher } from '../../model/matchers.ts';
import { float64Bits, STALE_NAN } from '../../model/stale-nan.ts';
import { Head, SeriesIdConflictError, UnknownSeriesError, type AppendResult, type HeadOptions } from './head.ts';

const L = (r: Record<string, string>): Labels => labelsFromRecord(r);

/** Every sample of every series via forEachSeriesInRange, values as bit strings. */
function dump(head: Head, mint = -1e15, maxt = 1e15): Map<number, [number, string][]> {
  const out = new Map<number, [number, string][]>();
  head.forEachSeriesInRange(mint, maxt, (id, _labels, ts, values, length) => {
    const rows: [number, string][] = [];
    for (let i = 0; i < length; i++) rows.push([ts[i], float64Bits(values[i])]);
    out.set(id, rows);
  });
  return out;
}

function bitsOf(v: number): string {
  return float64Bits(v);
}

/** A NaN with a payload other than the stale marker's. */
const OTHER_NAN = (() => {
  const f = new Float64Array(1);
  const w = new Uint32Array(f.buffer);
  w[0] = 1;
  w[1] = 0x7ff80000;
  return f[0];
})();

describe('append outcomes', () => {
  const steps: { t: number; v: number; want: AppendResult; note: string }[] = [
    { t: 1000, v: 1, want: 'appended', note: 'first sample' },
    { t: 2000, v: 2, want: 'appended', note: 'in order' },
    { t: 2000, v: 2, want: 'duplicate', note: 'same t, same value at maxT' },
    { t: 2000, v: 3, want: 'conflict', note: 'same t, other value at maxT' },
    { t: 1500, v: 5, want: 'out_of_order', note: 'inside the window' },
    { t: 1500, v: 5, want: 'duplicate', note: 'same as a buffered out-of-order sample' },
    { t: 1500, v: 6, want: 'conflict', note: 'conflicts with a buffered out-of-order sample' },
    { t: 1000, v: 1, want: 'duplicate', note: 'same as an older in-order sample (redelivery)' },
    { t: 1000, v: 9, want: 'conflict', note: 'conflicts with an older in-order sample' },
    { t: 3000, v: 3, want: 'appended', note: 'in order again' },
    { t: -7000, v: 1, want: 'out_of_order', note: 'exactly maxT - window' },
    { t: -7001, v: 1, want: 'too_old', note: 'just outside the window' },
    { t: 3000, v: STALE_NAN, want: 'conflict', note: 'a stale marker is a value like any other' },
    { t: 4000, v: STALE_NAN, want: 'appended', note: 'stale marker' },
    { t: 4000, v: STALE_NAN, want: 'duplicate', note: 'same stale marker' },
    { t: 4000, v: OTHER_NAN, want: 'conflict', note: 'a different NaN payload' },
    { t: 5000, v: 0, want: 'appended', note: 'zero' },
    { t: 5000, v: -0, want: 'conflict', note: '-0 has other bits than 0' },
  ];

  it('table, one series with a 10s window', () => {
    const head = new Head({ outOfOrderWindowMs: 10_000 });
    const { id } = head.getOrCreate(L({ __name__: 'm' }));
    for (const s of steps) expect(head.append(id, s.t, s.v), s.note).toBe(s.want);
    const counts = head.stats().appends;
    const tally = (w: AppendResult) => steps.filter((s) => s.want === w).length;
    expect(counts).toEqual({
      appended: tally('appended'),
      duplicate: tally('duplicate'),
      conflict: tally('conflict'),
      out_of_order: tally('out_of_order'),
      too_old: tally('too_old'),
    });
    expect(dump(head).get(id)).toEqual([
      [-7000, bitsOf(1)],
      [1000, bitsOf(1)],
      [1500, bitsOf(5)],
      [2000, bitsOf(2)],
      [3000, bitsOf(3)],
      [4000, bitsOf(STALE_NAN)],
      [5000, bitsOf(0)],
    ]);
  });

  it('without a window, older samples are too old unless they duplicate or conflict', () => {
    const head = new Head();
    const { id } = head.getOrCreate(L({ __name__: 'm' }));
    expect(head.append(id, 1000, 1)).toBe('appended');
    expect(head.append(id, 2000, 2)).toBe('appended');
    expect(head.append(id, 1500, 2)).toBe('too_old');
    expect(head.append(id, 1000, 1)).toBe('duplicate');
    expect(head.append(id, 1000, 2)).toBe('conflict');
  });

  it('unknown ids are a bug', () => {
    const head = new Head();
    expect(() => head.append(3, 1, 1)).toThrow(UnknownSeriesError);
  });
});

describe('appendBatch', () => {
  it('counts by outcome and matches one-by-one appends', () => {
    const head = new Head({ outOfOrderWindowMs: 1000 });
    const a = head.getOrCreate(L({ __name__: 'a' })).id;
    const b = head.getOrCreate(L({ __name__: 'b' })).id;
    const ids = Uint32Array.from([a, b, a, b, a, b, a, 0]);
    const ts = Float64Array.from([100, 100, 200, 100, 150, 100, -5000, 0]);
    const vs = Float64Array.from([1, 1, 2, 1, 3, 7, 1, 0]);
    const counts = head.appendBatch(ids, ts, vs, 7); // the 8th entry is beyond length
    expect(counts).toEqual({ appended: 3, duplicate: 1, conflict: 1, out_of_order: 1, too_old: 1 });
    expect(head.stats().appends).toEqual(counts);
    const again = head.appendBatch(ids, ts, vs, 7, counts);
    expect(again).toBe(counts);
    expect(counts).toEqual({ appended: 0, duplicate: 5, conflict: 1, out_of_order: 0, too_old: 1 });
  });
});

describe('chunks', () => {
  it('cuts at 120 samples', () => {
    const head = new Head();
    const { id } = head.getOrCreate(L({ __name__: 'm' }));
    for (let i = 0; i < 250; i++) expect(head.append(id, 1_000_000 + i * 15_000, i)).toBe('appended');
    const chunks = head.chunksInRange(id, -Infinity, Infinity);
    expect(chunks.map((c) => c.numSamples)).toEqual([120, 120, 10]);
    expect(chunks[1].minT).toBe(1_000_000 + 120 * 15_000);
    const st = head.stats();
    expect(st).toMatchObject({ series: 1, chunksOpen: 1, chunksSealed: 2, samples: 250, outOfOrderSamples: 0 });
    expect(st.chunkBytes).toBeGreaterThan(0);
    expect(st.heapBytes).toBeGreaterThan(st.chunkBytes);
    expect(head.chunksInRange(id, 1_000_000 + 130 * 15_000, 1_000_000 + 131 * 15_000).map((c) => c.numSamples)).toEqual([120]);
  });

  it('never lets a chunk cross a multiple of chunkRange', () => {
    const hour = 3_600_000;
    const head = new Head({ chunkRange: hour });
    const { id } = head.getOrCreate(L({ __name__: 'm' }));
    for (let t = 0; t <= 3 * hour; t += 10 * 60_000) head.append(id, t + 1, t);
    const chunks = head.chunksInRange(id, -Infinity, Infinity);
    expect(chunks.map((c) => [c.minT, c.maxT])).toEqual([
      [1, 50 * 60_000 + 1],
      [hour + 1, hour + 50 * 60_000 + 1],
      [2 * hour + 1, 2 * hour + 50 * 60_000 + 1],
      [3 * hour + 1, 3 * hour + 1],
    ]);
  });

  it('merges a full out-of-order buffer into the chunks, re-cut', () => {
    const head = new Head({ outOfOrderWindowMs: 1e9, outOfOrderCapacity: 4, samplesPerChunk: 10 });
    const { id } = head.getOrCreate(L({ __name__: 'm' }));
    for (let i = 0; i < 30; i++) head.append(id, i * 10, i);
    for (const t of [5, 15, 25]) expect(head.append(id, t, -t)).toBe('out_of_order');
    expect(head.stats().outOfOrderSamples).toBe(3);
    expect(head.append(id, 285, -285)).toBe('out_of_order'); // the 4th fills the buffer: merged
    const st = head.stats();
    expect(st.outOfOrderSamples).toBe(0);
    expect(st.samples).toBe(34);
    const chunks = head.chunksInRange(id, -Infinity, Infinity);
    expect(chunks.every((c) => c.numSamples <= 10)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.numSamples, 0)).toBe(34);
    const got = dump(head).get(id)!.map(([t]) => t);
    expect(got).toEqual([...Array.from({ length: 30 }, (_, i) => i * 10), 5, 15, 25, 285].sort((x, y) => x - y));
    // merged samples are still found for duplicate checks
    expect(head.append(id, 15, -15)).toBe('duplicate');
    expect(head.append(id, 285, 0)).toBe('conflict');
    expect(head.append(id, 300, 30)).toBe('appended');
  });
});

describe('staleness markers and NaN payloads', () => {
  it('round-trip bit-exactly through chunks, out-of-order buffers and merges', () => {
    const head = new Head({ outOfOrderWindowMs: 1e6, outOfOrderCapacity: 3 });
    const { id } = head.getOrCreate(L({ __name__: 'm' }));
    // A typed array, not an array literal: V8 quiets signalling NaNs (the stale marker is one)
    // stored into a plain array of doubles.
    const values = new Float64Array(9);
    [1, 0, 0, -0, Infinity, -Infinity, NaN, 0, 2.5].forEach((v, i) => (values[i] = v));
    values[1] = STALE_NAN;
    values[2] = OTHER_NAN;
    values[7] = STALE_NAN;
    expect(bitsOf(values[1])).toBe('7ff0000000000002');
    values.forEach((v, i) => head.append(id, 1000 + i * 1000, v));
    head.append(id, 1500, STALE_NAN); // out of order
    const want = Array.from(values, (v, i) => [1000 + i * 1000, bitsOf(v)] as [number, string]);
    want.push([1500, bitsOf(STALE_NAN)]);
    want.sort((a, b) => a[0] - b[0]);
    expect(dump(head).get(id)).toEqual(want);
    head.append(id, 2500, OTHER_NAN);
    head.append(id, 3500, STALE_NAN); // buffer full: merged into the chunks
    want.push([2500, bitsOf(OTHER_NAN)], [3500, bitsOf(STALE_NAN)]);
    want.sort((a, b) => a[0] - b[0]);
    expect(head.stats().outOfOrderSamples).toBe(0);
    expect(dump(head).get(id)).toEqual(want);
    expect(head.append(id, 3500, STALE_NAN)).toBe('duplicate');
    expect(head.append(id, 2000, STALE_NAN)).toBe('duplicate');
    expect(head.append(id, 3000, OTHER_NAN)).toBe('duplicate');
    expect(head.append(id, 3000, NaN)).toBe('conflict');
  });
});

describe('series', () => {
  it('getOrCreate, getId, restoreSeries', () => {
    const head = new Head();
    const a = head.getOrCreate(L({ __name__: 'a' }));
    expect(a).toEqual({ id: 0, created: true });
    expect(head.getOrCreate(L({ __name__: 'a' }))).toEqual({ id: 0, created: false });
    expect(head.getOrCreate(L({ __name__: 'b' }))).toEqual({ id: 1, created: true });
    expect(head.getId(L({ __name__: 'b' }))).toBe(1);
    expect(head.getId(L({ __name__: 'c' }))).toBeUndefined();
    head.restoreSeries(7, L({ __name__: 'c' }));
    head.restoreSeries(7, L({ __name__: 'c' })); // idempotent
    expect(() => head.restoreSeries(7, L({ __name__: 'd' }))).toThrow(SeriesIdConflictError);
    expect(() => head.restoreSeries(8, L({ __name__: 'a' }))).toThrow(SeriesIdConflictError);
    expect(head.getOrCreate(L({ __name__: 'd' }))).toEqual({ id: 8, created: true });
    expect(head.seriesCount).toBe(4);
    expect([...head.index.select([new LabelMatcher('=~', '__name__', 'a|c')])]).toEqual([0, 7]);
    expect(head.labelsOf(7)).toEqual(L({ __name__: 'c' }));
  });

  it('resolves hash collisions by comparing labels', () => {
    // Two label sets whose 32-bit hashes collide (found by a birthday search over `i`).
    const pair = [L({ __name__: 'm', i: '587687' }), L({ __name__: 'm', i: '1180560' })] as const;
    expect(hashLabels(pair[0])).toBe(hashLabels(pair[1]));
    const head = new Head();
    const a = head.getOrCreate(pair[0]).id;
    const b = head.getOrCreate(pair[1]).id;
    const c = head.getOrCreate(L({ __name__: 'other' })).id;
    expect(new Set([a, b, c]).size).toBe(3);
    expect(head.getId(pair[0])).toBe(a);
    expect(head.getId(pair[1])).toBe(b);
    expect(head.getOrCreate(pair[1])).toEqual({ id: b, created: false });
    head.append(a, 1, 1);
    head.truncateBefore(0); // removes b and c (no samples), keeps a
    expect(head.getId(pair[0])).toBe(a);
    expect(head.getId(pair[1])).toBeUndefined();
  });
});

describe('truncateBefore', () => {
  it('drops old chunks, removes empty series, and never reuses their ids', () => {
    const head = new Head({ samplesPerChunk: 10, outOfOrderWindowMs: 1e6 });
    const old = head.getOrCreate(L({ __name__: 'old' })).id;
    const live = head.getOrCreate(L({ __name__: 'live' })).id;
    const idle = head.getOrCreate(L({ __name__: 'idle' })).id; // never appended to
    for (let i = 0; i < 25; i++) head.append(old, i * 10, i);
    for (let i = 0; i < 55; i++) head.append(live, i * 10, i);
    head.append(live, 355, 0); // out of order, kept
    head.append(live, 5, 0); // out of order, dropped
    const removed = head.truncateBefore(300);
    expect([...removed]).toEqual([old, idle]);
    expect(head.has(old)).toBe(false);
    expect(head.seriesCount).toBe(1);
    expect(() => head.append(old, 1000, 1)).toThrow(UnknownSeriesError);
    expect(head.index.labelValues('__name__')).toEqual(['live']);
    // chunks ending before 300 are gone; the one straddling it stays whole
    const chunks = head.chunksInRange(live, -Infinity, Infinity);
    expect(chunks[0].minT).toBe(300);
    expect(head.stats().outOfOrderSamples).toBe(1);
    expect(head.append(live, 299, 1)).toBe('too_old');
    expect(head.append(live, 355, 0)).toBe('duplicate');
    const again = head.getOrCreate(L({ __name__: 'old' }));
    expect(again).toEqual({ id: 3, created: true });
    expect(head.append(again.id, 250, 1)).toBe('too_old');
    expect(head.append(again.id, 300, 1)).toBe('appended');
  });
});

describe('block cutting helpers', () => {
  it('forEachSeriesInRange is half-open and in label order; cutReady waits for half a block', () => {
    const head = new Head({ chunkRange: 1000 });
    const b = head.getOrCreate(L({ __name__: 'b' })).id;
    const a = head.getOrCreate(L({ __name__: 'a' })).id;
    for (let t = 0; t < 1400; t += 100) {
      head.append(a, t, t);
      head.append(b, t, -t);
    }
    expect(head.cutReady(1000)).toBeNull();
    head.append(a, 1500, 0);
    expect(head.cutReady(1000)).toEqual({ mint: 0, maxt: 1000 });
    const seen: [number, number[]][] = [];
    head.forEachSeriesInRange(200, 500, (id, _l, ts, _v, n) => seen.push([id, [...ts.subarray(0, n)]]));
    expect(seen).toEqual([
      [a, [200, 300, 400]],
      [b, [200, 300, 400]],
    ]);
  });
});

describe('property: the head equals a naive model', () => {
  type Op = { s: number; t: number; k: number };
  // Values live in a typed array (see above: plain arrays of doubles quiet the stale marker).
  const VALUES = new Float64Array(5);
  VALUES[1] = 1;
  VALUES[2] = STALE_NAN;
  VALUES[3] = OTHER_NAN;
  VALUES[4] = -0;
  const opArb = fc.record({ s: fc.integer({ min: 0, max: 3 }), t: fc.integer({ min: 0, max: 400 }), k: fc.integer({ min: 0, max: 4 }) });

  it('outcomes and stored samples', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 400 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 2, max: 12 }),
        fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined }),
        (ops: Op[], window, capacity, perChunk, truncateAt) => {
          const options: HeadOptions = { outOfOrderWindowMs: window, outOfOrderCapacity: capacity, samplesPerChunk: perChunk, chunkRange: 97 };
          const head = new Head(options);
          const ids = [0, 1, 2, 3].map((i) => head.getOrCreate(L({ __name__: 'm', i: String(i) })).id);
          const model = ids.map(() => new Map<number, string>());
          let minValid = -Infinity;
          const step = (op: Op) => {
            const m = model[op.s];
            const bits = bitsOf(VALUES[op.k]);
            let want: AppendResult;
            const maxT = m.size === 0 ? -Infinity : Math.max(...m.keys());
            if (op.t < minValid) want = 'too_old';
            else if (m.has(op.t)) want = m.get(op.t) === bits ? 'duplicate' : 'conflict';
            else if (op.t > maxT) want = 'appended';
            else if (op.t >= maxT - window) want = 'out_of_order';
            else want = 'too_old';
            if (want === 'appended' || want === 'out_of_order') m.set(op.t, bits);
            expect(head.append(ids[op.s], op.t, VALUES[op.k])).toBe(want);
          };
          const half = Math.floor(ops.length / 2);
          ops.slice(0, half).forEach(step);
          if (truncateAt !== undefined) {
            head.truncateBefore(truncateAt);
            minValid = truncateAt;
            // The head keeps whole chunks that straddle the cut; the model forgets everything
            // before it, and outputs are compared from it on. Removed series are created anew.
            for (const m of model) for (const t of [...m.keys()]) if (t < truncateAt) m.delete(t);
            ids.forEach((id, i) => {
              if (!head.has(id)) ids[i] = head.getOrCreate(L({ __name__: 'm', i: String(i) })).id;
            });
          }
          ops.slice(half).forEach(step);
          const got = dump(head, minValid === -Infinity ? -1e15 : minValid);
          model.forEach((m, s) => {
            const want = [...m.entries()].filter(([t]) => t >= minValid).sort((x, y) => x[0] - y[0]);
            expect(got.get(ids[s]) ?? [], `series ${s}`).toEqual(want);
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
