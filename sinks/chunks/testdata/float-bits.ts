/**
 * Float64 test values that keep their exact bits. A NaN stored in a plain JS array may come back
 * quieted (V8 canonicalises signalling NaNs in double arrays, and the stale marker 0x7ff0000000000002
 * is one), so values that must survive bit for bit are written as `{ hi, lo }` and only turned into
 * doubles inside a Float64Array, by `toFloat64Array`.
 */
export interface Bits {
  readonly hi: number;
  readonly lo: number;
}

export type TestValue = number | Bits;

export const STALE_BITS: Bits = { hi: 0x7ff00000, lo: 0x00000002 };

/** Values chosen to break codecs: NaN payloads, the stale marker, infinities, -0, subnormals, extremes. */
export const SPECIAL_VALUES: readonly TestValue[] = [
  STALE_BITS,
  NaN,
  { hi: 0x7ff80000, lo: 0x00000001 }, // a "normal" NaN with a payload
  { hi: 0xfff00000, lo: 0x00000001 }, // negative signalling NaN
  { hi: 0x7fffffff, lo: 0xffffffff },
  Infinity,
  -Infinity,
  -0,
  0,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  { hi: 0x000fffff, lo: 0xffffffff }, // largest subnormal
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.EPSILON,
  2 ** 50,
  -(2 ** 50),
  2 ** 50 + 1,
  2 ** 53,
  -(2 ** 53) - 2,
  1e22,
  1e-22,
  1e-300,
  0.1,
  0.3,
  1,
];

export function toFloat64Array(values: readonly TestValue[]): Float64Array {
  const out = new Float64Array(values.length);
  const words = new Uint32Array(out.buffer);
  values.forEach((v, i) => {
    if (typeof v === 'number') out[i] = v;
    else {
      words[2 * i] = v.lo; // little-endian: low word first
      words[2 * i + 1] = v.hi;
    }
  });
  return out;
}
