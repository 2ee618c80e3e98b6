import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ChunkEncoding } from './chunk.ts';
import { CorruptChunkError, UnknownChunkEncodingError, appenderFor, decoderFor } from './chunk-codecs.ts';
import { decodeXor, newXorAppender } from './xor-chunk.ts';
import { STALE_NAN, float64Bits } from '../../model/stale-nan.ts';
import { SPECIAL_VALUES, STALE_BITS, toFloat64Array, type TestValue } from './testdata/float-bits.ts';



const valueArb = fc.oneof(
  fc.constantFrom(...SPECIAL_VALUES),
  fc.double(),
  fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff })).map(([hi, lo]): TestValue => ({ hi, lo })),
  fc.integer({ min: -1000, max: 1000 }).map((k) => k / 100),
);

const gapArb = fc.oneof(
  fc.constant(15_000),
  fc.integer({ min: 14_000, max: 16_000 }),
  fc.integer({ min: 1, max: 20 }),
  fc.integer({ min: 1, max: 2 ** 40 }),
);

/** Strictly increasing integer timestamps, negative ones included, within the codecs' ±2^51 domain. */
const seriesArb = (maxLength: number) =>
  fc
    .tuple(fc.integer({ min: -(2 ** 50), max: 2 ** 50 }), fc.array(fc.tuple(gapArb, valueArb), { minLength: 1, maxLength }))
    .map(([t0, rows]) => {
      const ts = new Float64Array(rows.length);
      let t = t0;
      rows.forEach(([gap], i) => {
        if (i > 0) t += gap;
        ts[i] = t;
      });
      return { ts, values: toFloat64Array(rows.map(([, v]) => v)) };
    });

function expectSameSamples(gotTs: Float64Array, gotValues: Float64Array, ts: Float64Array, values: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    if (gotTs[i] !== ts[i]) expect(`t[${i}]=${gotTs[i]}`).toBe(`t[${i}]=${ts[i]}`);
    if (float64Bits(gotValues[i]) !== float64Bits(values[i])) expect(`v[${i}]=${float64Bits(gotValues[i])}`).toBe(`v[${i}]=${float64Bits(values[i])}`);
  }
}

function roundTrip(ts: Float64Array, values: Float64Array) {
  const app = newXorAppender();
  for (let i = 0; i < ts.length; i++) app.append(ts[i], values[i]);
  const chunk = app.seal();
  const outTs = new Float64Array(ts.length + 3);
  const outValues = new Float64Array(ts.length + 3);
  expect(decodeXor(chunk.data, chunk.numSamples, outTs, outValues, 3)).toBe(ts.length);
  expectSameSamples(outTs.subarray(3), outValues.subarray(3), ts, values, ts.length);
  return chunk;
}

describe('XOR chunk', () => {
  it('test values keep signalling NaN bits (the stale marker) on their way into the codec', () => {
    expect(float64Bits(toFloat64Array([STALE_BITS])[0])).toBe('7ff0000000000002');
    expect(float64Bits(toFloat64Array(SPECIAL_VALUES)[3])).toBe('fff0000000000001');
  });

  it.each([
    { name: 'one sample', ts: [1_700_000_000_000], values: [1] },
    { name: 'regular interval, constant value', ts: [0, 15_000, 30_000, 45_000], values: [5, 5, 5, 5] },
    { name: 'negative timestamps', ts: [-100_000, -85_000, -70_001, 3], values: [-1.5, 2.25, -0, 0] },
    { name: 'every dod bucket', ts: [0, 10, 20, 8_222, 8_223, 80_000, 600_000, 600_001, 2 ** 45, 2 ** 45 + 1], values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] },
    { name: 'bucket edges', ts: [0, 1, 8_194, 8_196, 73_734, 73_737, 598_027, 598_028, 1_122_320], values: [0, 0, 0, 0, 0, 0, 0, 0, 0] },
    { name: 'stale marker and NaNs', ts: [1, 2, 3, 4, 5], values: [1, STALE_BITS, NaN, STALE_BITS, 1] },
    { name: 'special values', ts: SPECIAL_VALUES.map((_, i) => i * 1000), values: SPECIAL_VALUES },
  ] as Array<{ name: string; ts: number[]; values: readonly TestValue[] }>)('$name round-trips bit-exactly', ({ ts, values }) => {
    const chunk = roundTrip(Float64Array.from(ts), toFloat64Array(values));
    expect(chunk.encoding).toBe(ChunkEncoding.XOR);
    expect(chunk.minT).toBe(ts[0]);
    expect(chunk.maxT).toBe(ts[ts.length - 1]);
  });

  it('matches the Prometheus layout for a small chunk', () => {
    const app = newXorAppender();
    app.append(1000, 1);
    app.append(2000, 1);
    app.append(3000, 1);
    const { data } = app.seal();
    // count 3 | varint(1000)=d0 0f | 3ff0000000000000 | uvarint(1000)=e8 07 | '0' value | '0' dod, '0' value
    expect(Buffer.from(data).toString('hex')).toBe('0003d00f3ff0000000000000e807' + '00');
  });

  it('empty appender: empty range, no samples', () => {
    const app = newXorAppender();
    expect(app.numSamples).toBe(0);
    expect(app.maxT).toBe(-Infinity);
    const chunk = app.seal();
    expect(decodeXor(chunk.data, 0, new Float64Array(0), new Float64Array(0), 0)).toBe(0);
  });

  it('seal then continue: every snapshot decodes to the prefix appended so far', () => {
    const app = newXorAppender();
    const ts: number[] = [];
    const values = new Float64Array(150); // typed: keeps the stale marker's bits
    for (let i = 0; i < 150; i++) {
      ts.push(1_700_000_000_000 + i * 15_000 + (i % 7) * 13);
      values[i] = i % 11 === 0 ? STALE_NAN : Math.sin(i) * 1000;
      app.append(ts[i], values[i]);
      const chunk = app.seal();
      expect(chunk.numSamples).toBe(i + 1);
      expect(chunk.data.length).toBe(app.byteLength);
      const outTs = new Float64Array(i + 1);
      const outValues = new Float64Array(i + 1);
      decodeXor(chunk.data, chunk.numSamples, outTs, outValues, 0);
      expectSameSamples(outTs, outValues, Float64Array.from(ts), Float64Array.from(values), i + 1);
    }
  });

  it('an earlier snapshot is not changed by later appends', () => {
    const app = newXorAppender();
    app.append(1, 1.5);
    app.append(2, 2.5);
    const early = app.seal();
    const copy = Uint8Array.from(early.data);
    for (let i = 3; i < 100; i++) app.append(i, i * 0.37);
    expect(early.data).toEqual(copy);
  });

  it('rejects out-of-order appends as a bug', () => {
    const app = newXorAppender();
    app.append(10, 1);
    expect(() => app.append(10, 2)).toThrow(/bug/);
    expect(() => app.append(2 ** 52, 2)).toThrow(/bug/);
  });

  it.each([
    { name: 'shorter than the header', data: [0] },
    { name: 'truncated body', data: [0, 3, 0xd0, 0x0f, 0x3f] },
  ])('corrupt data: $name', ({ data }) => {
    expect(() => decodeXor(Uint8Array.from(data), 3, new Float64Array(3), new Float64Array(3), 0)).toThrow(CorruptChunkError);
  });

  it('asking for more samples than stored is a corrupt chunk', () => {
    const app = newXorAppender();
    app.append(1, 1);
    const { data } = app.seal();
    expect(() => decodeXor(data, 2, new Float64Array(2), new Float64Array(2), 0)).toThrow(/holds 1/);
  });

  it('property: random and adversarial series round-trip bit-exactly (1..250 samples)', () => {
    fc.assert(
      fc.property(seriesArb(250), ({ ts, values }) => {
        roundTrip(ts, values);
      }),
      { numRuns: 400 },
    );
  });
});

describe('codec registry', () => {
  it('knows XOR and DENSE', () => {
    expect(decoderFor(ChunkEncoding.XOR)).toBe(decodeXor);
    expect(appenderFor(ChunkEncoding.XOR).encoding).toBe(ChunkEncoding.XOR);
    expect(() => appenderFor(ChunkEncoding.DENSE)).toThrow(/cannot be appended/);
  });

  it.each([0, 3, 255])('unknown encoding byte %i is a typed, user-facing error', (byte) => {
    expect(() => decoderFor(byte)).toThrow(UnknownChunkEncodingError);
    expect(() => decoderFor(byte)).toThrow(/1 \(XOR\), 2 \(DENSE\)/);
    expect(() => appenderFor(byte)).toThrow(UnknownChunkEncodingError);
  });
});
