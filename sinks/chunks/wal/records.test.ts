import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../model/labels.ts';
import { STALE_NAN } from '../../../model/stale-nan.ts';
import {
  appendRecord,
  ByteWriter,
  decodeRecords,
  encodeRecords,
  readFrame,
  RECORD_OVERHEAD_BYTES,
  WalDecodeError,
  type SamplesRecord,
  type WalRecord,
} from './records.ts';

/** Bit patterns of a Float64Array, for bit-exact comparison (NaN payloads included). */
function bits(a: Float64Array): bigint[] {
  return [...new BigUint64Array(a.buffer, a.byteOffset, a.length)];
}

function nanWithPayload(hi: number, lo: number): number {
  const f = new Float64Array(1);
  const w = new Uint32Array(f.buffer);
  w[0] = lo;
  w[1] = hi;
  return f[0];
}

/** Records as plain data: typed arrays as bit patterns so NaN payloads compare exactly. */
function normalize(r: WalRecord): unknown {
  switch (r.kind) {
    case 'series':
      return { kind: r.kind, series: r.series.map((s) => ({ ref: s.ref, labels: [...s.labels] })) };
    case 'samples': {
      const n = r.length ?? r.refs.length;
      return { kind: r.kind, refs: [...r.refs.subarray(0, n)], ts: [...r.ts.subarray(0, n)].map((t) => (t === 0 ? 0 : t)), values: bits(r.values.subarray(0, n)) };
    }
    case 'deleted_series':
      return { kind: r.kind, refs: [...r.refs] };
  }
}

function samples(refs: number[], ts: number[], values: number[] | Float64Array): SamplesRecord {
  return { kind: 'samples', refs: Uint32Array.from(refs), ts: Float64Array.from(ts), values: values instanceof Float64Array ? values : Float64Array.from(values) };
}

/**
 * Values with NaN payloads, built by element stores into a Float64Array: a plain JS array would
 * quiet the signalling NaNs (the stale marker among them) before they reached the encoder.
 */
function specialValues(): Float64Array {
  const v = new Float64Array(8);
  v[0] = STALE_NAN;
  v[1] = NaN;
  v[2] = nanWithPayload(0xfff12345, 0x6789abcd);
  v[3] = -0;
  v[4] = Infinity;
  v[5] = -Infinity;
  v[6] = Number.MIN_VALUE;
  v[7] = Number.MAX_VALUE;
  return v;
}

const T0 = 1_700_000_000_000;

describe('WAL records: round trips', () => {
  const table: { name: string; record: WalRecord }[] = [
    { name: 'empty series record', record: { kind: 'series', series: [] } },
    {
      name: 'series with shared symbols',
      record: {
        kind: 'series',
        series: [
          { ref: 1, labels: labelsFromRecord({ __name__: 'up', job: 'node', instance: 'a:9100' }) },
          { ref: 2, labels: labelsFromRecord({ __name__: 'up', job: 'node', instance: 'b:9100' }) },
          { ref: 0xffffffff, labels: [] },
          { ref: 0, labels: labelsFromRecord({ __name__: 'ünïcødé_💥', path: '/a\nb"c' }) },
        ],
      },
    },
    { name: 'empty samples', record: samples([], [], []) },
    { name: 'one sample', record: samples([7], [T0], [1.5]) },
    {
      name: 'special values bit-exact',
      record: samples(
        [1, 2, 3, 4, 5, 6, 7, 8],
        [T0, T0, T0 + 1, T0 - 1, T0 + 15_000, T0, T0, T0],
        specialValues(),
      ),
    },
    { name: 'refs unsorted, extremes', record: samples([0xffffffff, 0, 0xffffffff, 5], [T0, T0, T0, T0], [1, 2, 3, 4]) },
    { name: 'negative timestamps', record: samples([1, 2], [-5, -1_000_000], [1, 2]) },
    { name: 'fractional timestamps fall back to raw', record: samples([1, 2], [T0, T0 + 0.5], [1, 2]) },
    { name: 'far-apart timestamps fall back to raw', record: samples([1, 2], [-(2 ** 52), 2 ** 52], [1, 2]) },
    { name: 'first timestamp beyond 2^52', record: samples([1], [2 ** 53 - 1], [1]) },
    { name: 'deleted series', record: { kind: 'deleted_series', refs: Uint32Array.from([9, 3, 0xffffffff, 0]) } },
    { name: 'no deleted series', record: { kind: 'deleted_series', refs: new Uint32Array(0) } },
  ];

  for (const { name, record } of table) {
    it(name, () => {
      const [decoded, ...rest] = decodeRecords(encodeRecords([record]));
      expect(rest).toEqual([]);
      expect(normalize(decoded)).toEqual(normalize(record));
    });
  }

  it('logs only the first `length` samples of larger columns', () => {
    const r: SamplesRecord = { ...samples([1, 2, 3], [T0, T0 + 1, T0 + 2], [1, 2, 3]), length: 2 };
    const [decoded] = decodeRecords(encodeRecords([r]));
    expect(normalize(decoded)).toEqual(normalize(samples([1, 2], [T0, T0 + 1], [1, 2])));
  });

  it('encodes a samples record of a subarray view (non-zero byteOffset)', () => {
    const all = new Float64Array(3);
    all[0] = 9;
    all[1] = STALE_NAN;
    all[2] = 3;
    const values = all.subarray(1);
    const r: SamplesRecord = { kind: 'samples', refs: Uint32Array.from([1, 2]), ts: Float64Array.from([0, T0, T0]).subarray(1), values };
    const [decoded] = decodeRecords(encodeRecords([r]));
    expect(normalize(decoded)).toEqual(normalize(r));
  });

  it('is compact: 10,000 samples at one timestamp over sorted refs take about 10 bytes a sample', () => {
    const n = 10_000;
    const refs = Uint32Array.from({ length: n }, (_, i) => i);
    const ts = new Float64Array(n).fill(T0);
    const r: SamplesRecord = { kind: 'samples', refs, ts, values: new Float64Array(n) };
    expect(encodeRecords([r]).length).toBeLessThan(n * 10 + 32);
  });

  it('rejects malformed input records', () => {
    expect(() => encodeRecords([{ kind: 'series', series: [{ ref: -1, labels: [] }] }])).toThrow(RangeError);
    expect(() => encodeRecords([{ kind: 'series', series: [{ ref: 1, labels: ['a'] }] }])).toThrow(RangeError);
    expect(() => encodeRecords([{ ...samples([1], [1], [1]), length: 2 }])).toThrow(RangeError);
  });

  it('reuses one writer across records, framing each', () => {
    const w = new ByteWriter(16);
    const a = appendRecord(w, samples([1], [T0], [1]));
    const b = appendRecord(w, { kind: 'deleted_series', refs: Uint32Array.from([1]) });
    expect(w.pos).toBe(a + b);
    expect(decodeRecords(w.bytes())).toHaveLength(2);
  });
});

describe('WAL records: framing detects damage', () => {
  const bytes = encodeRecords([samples([1, 2, 3], [T0, T0 + 1, T0 + 2], [1, 2, 3])]);

  it('every single-byte flip fails the frame check', () => {
    for (let i = 0; i < bytes.length; i++) {
      const damaged = Buffer.from(bytes);
      damaged[i] ^= 0x20;
      expect(readFrame(damaged, 0, damaged.length, damaged.length).ok, `byte ${i}`).toBe(false);
    }
  });

  it('every truncation is incomplete', () => {
    for (let cut = 1; cut < bytes.length; cut++) {
      const f = readFrame(bytes, 0, cut, Infinity);
      expect(f.ok, `cut ${cut}`).toBe(false);
      if (!f.ok) expect(f.reason).toBe('incomplete');
    }
  });

  it('zero bytes are not a record', () => {
    expect(readFrame(Buffer.alloc(RECORD_OVERHEAD_BYTES), 0, RECORD_OVERHEAD_BYTES, 100)).toEqual({ ok: false, reason: 'zero' });
  });

  it('decodeRecords throws a typed error on damage', () => {
    const damaged = Buffer.from(bytes);
    damaged[10] ^= 1;
    expect(() => decodeRecords(damaged)).toThrow(WalDecodeError);
  });
});

describe('WAL records: properties', () => {
  const float64Bits = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map(([hi, lo]) => nanWithPayload(hi, lo));
  const value = fc.oneof(fc.double(), float64Bits, fc.constantFrom(STALE_NAN, NaN, -0, Infinity));
  const ts = fc.oneof(
    fc.integer({ min: T0 - 86_400_000, max: T0 + 86_400_000 }),
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
  );
  const ref = fc.integer({ min: 0, max: 0xffffffff });
  const samplesArb = fc.array(fc.tuple(ref, ts, value), { maxLength: 200 }).map((rows) =>
    samples(
      rows.map((r) => r[0]),
      rows.map((r) => r[1]),
      rows.map((r) => r[2]),
    ),
  );
  const labelString = fc.string({ unit: 'binary', maxLength: 12 });
  const seriesArb = fc
    .array(fc.tuple(ref, fc.array(fc.tuple(labelString, labelString), { maxLength: 5 })), { maxLength: 20 })
    .map((rows): WalRecord => ({ kind: 'series', series: rows.map(([r, pairs]) => ({ ref: r, labels: pairs.flat() })) }));
  const deletedArb = fc.array(ref, { maxLength: 50 }).map((refs): WalRecord => ({ kind: 'deleted_series', refs: Uint32Array.from(refs) }));
  const recordArb = fc.oneof(samplesArb, seriesArb, deletedArb);

  it('decode(encode(records)) equals the records, bit-exact', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 8 }), (records) => {
        const decoded = decodeRecords(encodeRecords(records));
        expect(decoded.map(normalize)).toEqual(records.map(normalize));
      }),
      { numRuns: 300 },
    );
  });

  it('timestamps round-trip exactly (-0 aside, which decodes as 0)', () => {
    fc.assert(
      fc.property(samplesArb, (r) => {
        const [d] = decodeRecords(encodeRecords([r])) as SamplesRecord[];
        for (let i = 0; i < r.ts.length; i++) expect(d.ts[i] === r.ts[i] || (Number.isNaN(d.ts[i]) && Number.isNaN(r.ts[i]))).toBe(true);
      }),
    );
  });
});
