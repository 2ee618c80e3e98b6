import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkEncoding } from './chunk.ts';
import { CorruptChunkError, decoderFor } from './chunk-codecs.ts';
import { decodeDense, describeDense, encodeDense } from './dense-chunk.ts';
import { float64Bits } from '../../model/stale-nan.ts';
import { SPECIAL_VALUES, STALE_BITS, toFloat64Array, type TestValue } from './testdata/float-bits.ts';



const valueArb = fc.oneof(
  fc.constantFrom(...SPECIAL_VALUES),
  fc.double(),
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map(([hi, lo]): TestValue => ({ hi, lo })),
  fc.tuple(fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: 0, max: 22 })).map(([k, e]) => k / 10 ** e),
);

/** Series shaped like metrics (counters, gauges, decimals, a stray special value) and like nothing at all. */
const valuesArb = (n: number) =>
  fc.oneof(
    fc.array(valueArb, { minLength: n, maxLength: n }),
    fc.tuple(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 6 })).map(([k0, step, e]) =>
      Array.from({ length: n }, (_, i) => (k0 + i * step) / 10 ** e),
    ),
    fc.tuple(fc.array(fc.integer({ min: -500, max: 500 }), { minLength: n, maxLength: n }), fc.integer({ min: 0, max: 9 })).map(([ks, e]) => ks.map((k) => k / 10 ** e)),
    fc.tuple(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: n, maxLength: n }), fc.integer({ min: 0, max: n - 1 }), valueArb).map(([ks, at, odd]) => {
      const vs: TestValue[] = ks.map((k) => k * 0.25);
      vs[at] = odd;
      return vs;
    }),
    fc.constantFrom(...SPECIAL_VALUES).map((v) => Array.from({ length: n }, () => v)),
    // Rarely changing (memory in pages, GC pause quantiles): mostly zero deltas, a few big jumps.
    fc.tuple(fc.array(fc.integer({ min: 0, max: 15 }), { minLength: n, maxLength: n }), fc.integer({ min: 0, max: 9 })).map(([rs, e]) => {
      let k = 1_000_000;
      return rs.map((r) => (k += r === 0 ? (r - 7) * 8192 * 37 : 0) / 10 ** e);
    }),
  );

const gapArb = fc.oneof(fc.constant(15_000), fc.integer({ min: 14_000, max: 16_000 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 2 ** 40 }));

const seriesArb = (maxLength: number) =>
  fc
    .integer({ min: 1, max: maxLength })
    .chain((n) =>
      fc.tuple(
        fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
        fc.oneof(fc.array(gapArb, { minLength: n, maxLength: n }), gapArb.map((g) => Array.from({ length: n }, () => g))),
        valuesArb(n),
      ),
    )
    .map(([t0, gaps, vs]) => {
      const ts = new Float64Array(vs.length);
      let t = t0;
      for (let i = 0; i < vs.length; i++) {
        if (i > 0) t += gaps[i];
        ts[i] = t;
      }
      return { ts, values: toFloat64Array(vs) };
    });

function roundTrip(ts: Float64Array, values: Float64Array) {
  // Encode from the middle of larger columns, decode at an offset: both ends of the contract.
  const pad = 2;
  const tsIn = new Float64Array(ts.length + pad * 2);
  const vIn = new Float64Array(ts.length + pad * 2);
  tsIn.set(ts, pad);
  vIn.set(values, pad);
  const chunk = encodeDense(tsIn, vIn, pad, pad + ts.length);
  expect(chunk.numSamples).toBe(ts.length);
  expect(chunk.minT).toBe(ts[0]);
  expect(chunk.maxT).toBe(ts[ts.length - 1]);
  const outTs = new Float64Array(ts.length + 5);
  const outValues = new Float64Array(ts.length + 5);
  expect(decodeDense(chunk.data, chunk.numSamples, outTs, outValues, 5)).toBe(ts.length);
  for (let i = 0; i < ts.length; i++) {
    if (outTs[5 + i] !== ts[i]) expect(`t[${i}]=${outTs[5 + i]}`).toBe(`t[${i}]=${ts[i]}`);
    if (float64Bits(outValues[5 + i]) !== float64Bits(values[i])) expect(`v[${i}]=${float64Bits(outValues[5 + i])}`).toBe(`v[${i}]=${float64Bits(values[i])}`);
  }
  return chunk;
}

const T0 = 1_700_000_000_000;
const regular = (n: number, step = 15_000) => Array.from({ length: n }, (_, i) => T0 + i * step);
const jittered = (n: number) => Array.from({ length: n }, (_, i) => T0 + i * 15_000 + ((i * 7919) % 41) - 20);

describe('DENSE chunk', () => {
  it.each([
    // name, timestamps, values, sub-encodings chosen, at most this many bytes
    { name: 'one sample', ts: [T0], values: [42], modes: ['single', 'decimal-delta'], maxBytes: 12 },
    { name: 'constant interval, constant value: a few header bytes', ts: regular(120), values: Array(120).fill(1), modes: ['constant', 'decimal-delta'], maxBytes: 14 },
    { name: 'steady counter: delta width 0', ts: regular(120), values: regular(120).map((_, i) => 1000 + i * 3), modes: ['constant', 'decimal-delta'], maxBytes: 16 },
    { name: 'counter of seconds with 2 decimals', ts: regular(120), values: regular(120).map((_, i) => (123456 + i * 150 + i * i * 3 + (i % 2)) / 100), modes: ['constant', 'decimal-dod'], maxBytes: 70 },
    { name: 'jittered scrapes', ts: jittered(120), values: Array(120).fill(0), modes: ['grid', 'decimal-delta'], maxBytes: 110 },
    { name: 'gauge with 3 decimals', ts: regular(120), values: regular(120).map((_, i) => Math.round(Math.sin(i / 10) * 5000) / 1000), modes: ['constant', 'decimal-dod'], maxBytes: 200 },
    { name: 'rarely changing gauge: bitmap of changes', ts: regular(120), values: regular(120).map((_, i) => 9_396_224 + Math.floor(i / 30) * 155_648), modes: ['constant', 'decimal-sparse'], maxBytes: 40 },
    { name: 'rarely changing, changing last', ts: regular(9), values: [5e-6, 5e-6, 5e-6, 5e-6, 5e-6, 5e-6, 5e-6, 5e-6, 7.123e-5], modes: ['constant', 'decimal-sparse'], maxBytes: 30 },
    { name: 'only stale markers', ts: regular(5), values: Array(5).fill(STALE_BITS), modes: ['constant', 'constant'], maxBytes: 20 },
    { name: 'decimal series ending in a stale marker', ts: regular(6), values: [1, 2, 3, 4, 5, STALE_BITS], modes: ['constant', 'xor'], maxBytes: 40 },
    { name: 'special values', ts: SPECIAL_VALUES.map((_, i) => -5_000_000 + i * i * 1000), values: SPECIAL_VALUES, modes: ['dod', 'xor'], maxBytes: 400 },
    { name: 'negative values and timestamps', ts: [-3000, -2000, -1000, 0, 1000], values: [-1.5, -0.25, 0, 0.25, 1.5], modes: ['constant', 'decimal-delta'], maxBytes: 20 },
    { name: '-0 is not a decimal', ts: [1, 2], values: [-0, 0], modes: ['constant', 'xor'], maxBytes: 30 },
    { name: 'huge gaps', ts: [-(2 ** 51), 0, 2 ** 51], values: [1e300, 1e-300, 5e-324], modes: ['constant', 'xor'], maxBytes: 60 },
    { name: 'large delta-of-deltas, decimal bounds', ts: [0, 1, 2 ** 45, 2 ** 46, 2 ** 46 + 7], values: [2 ** 50, -(2 ** 50), 2 ** 50, 0, 1], modes: ['dod', 'xor'], maxBytes: 80 },
  ] as Array<{ name: string; ts: number[]; values: readonly TestValue[]; modes: string[]; maxBytes: number }>)('$name', ({ ts, values, modes, maxBytes }) => {
    const chunk = roundTrip(Float64Array.from(ts), toFloat64Array(values));
    expect(chunk.encoding).toBe(ChunkEncoding.DENSE);
    const { timestamps, values: valueMode } = describeDense(chunk.data, chunk.numSamples);
    expect([timestamps, valueMode]).toEqual(modes);
    expect(chunk.data.length).toBeLessThanOrEqual(maxBytes);
  });

  it.each([1, 7, 8, 24, 25, 26, 31, 32, 33, 40, 52, 53])('packed fields of width %i round-trip', (width) => {
    const n = 130;
    const span = 2 ** Math.min(width, 50);
    let seed = width;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * span;
    // Grid residuals (timestamps) and decimal deltas (values) both spanning about 2^width.
    const jitter = 2 ** Math.min(width, 42) / span;
    const ts = Float64Array.from({ length: n }, (_, i) => Math.floor((i * 2 ** 50) / n) + Math.floor(rand() * jitter));
    const values = Float64Array.from({ length: n }, () => Math.floor(rand()) - span / 2);
    roundTrip(ts, values);
  });

  it('identical timestamps give identical leading bytes whatever the values', () => {
    const ts = Float64Array.from(jittered(120));
    const a = encodeDense(ts, Float64Array.from(ts, (_, i) => i * 0.5), 0, 120).data;
    const b = encodeDense(ts, Float64Array.from(ts, (_, i) => Math.sin(i)), 0, 120).data;
    const tsBytes = describeDense(a, 120).timestampBytes;
    expect(tsBytes).toBeGreaterThan(20);
    expect(a.subarray(0, tsBytes)).toEqual(b.subarray(0, tsBytes));
  });

  it('rejects what the head never produces as a bug', () => {
    expect(() => encodeDense(Float64Array.from([1, 1]), new Float64Array(2), 0, 2)).toThrow(/bug/);
    expect(() => encodeDense(Float64Array.from([1.5]), new Float64Array(1), 0, 1)).toThrow(/bug/);
    expect(() => encodeDense(new Float64Array(1), new Float64Array(1), 0, 0)).toThrow(/bug/);
  });

  it('corrupt or truncated data is a typed error, never a crash', () => {
    const ts = Float64Array.from(jittered(120));
    const chunk = encodeDense(ts, Float64Array.from(ts, (_, i) => i * 1.25), 0, 120);
    const outTs = new Float64Array(120);
    const outValues = new Float64Array(120);
    for (let cut = 0; cut < chunk.data.length; cut++) {
      expect(() => decodeDense(chunk.data.subarray(0, cut), 120, outTs, outValues, 0)).toThrow(CorruptChunkError);
    }
    const badMode = Uint8Array.from(chunk.data);
    badMode[0] = 9;
    expect(() => decodeDense(badMode, 120, outTs, outValues, 0)).toThrow(/timestamp mode 9/);
    expect(decoderFor(ChunkEncoding.DENSE)).toBe(decodeDense);
  });

  it('property: random and adversarial series round-trip bit-exactly (1..200 samples)', () => {
    fc.assert(
      fc.property(seriesArb(200), ({ ts, values }) => {
        roundTrip(ts, values);
      }),
      { numRuns: 500 },
    );
  });

  it('property: a 120-sample chunk is never much larger than XOR would need', () => {
    fc.assert(
      fc.property(seriesArb(121).filter((s) => s.ts.length >= 120), ({ ts, values }) => {
        const chunk = roundTrip(ts, values);
        // Worst case: XOR values (at most 77 bits each) plus packed timestamps (at most 54 bits).
        expect(chunk.data.length).toBeLessThanOrEqual(40 + Math.ceil((ts.length * (77 + 54)) / 8));
      }),
      { numRuns: 100 },
    );
  });
});
