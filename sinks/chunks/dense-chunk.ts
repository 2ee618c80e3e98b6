import { BitReader, BitWriter, TWO_POW_32 } from './bstream.ts';
import { ChunkEncoding, type Chunk, type ChunkDecoder } from './chunk.ts';
import { CorruptChunkError } from './chunk-errors.ts';
import { MAX_ABS_TIMESTAMP, XorValueReader, XorValueWriter } from './xor-chunk.ts';

/**
 * Encoding 2 (DENSE): the codec of sealed chunks, written once when a block is cut and read by
 * every query after. Columnar: a timestamp section, then a value section, each byte-aligned and
 * led by a mode byte saying which sub-encoding it uses. Layout and reasoning: chunk-format.md.
 *
 * Timestamps come first and depend on nothing but the timestamps, so every series of one scrape
 * target (they share their scrape times) produces the same bytes there, which a general-purpose
 * compressor over the block file then stores once.
 *
 * Values are stored as decimal integers when they are decimals (most metric values are: counts,
 * bytes, seconds with a few decimals): v = k / 10^e exactly for every value, then the integers k
 * as deltas or delta-of-deltas, frame-of-reference bit-packed at the narrowest width. Anything
 * else (NaN, ±Inf, -0, values with 17 significant digits) falls back to the Gorilla XOR stream.
 * Every float64 bit pattern round-trips: the encoder checks each value with the decoder's own
 * arithmetic before choosing the decimal form.
 *
 * The sample count is not stored: the block index records it beside the chunk, and the decoder
 * is given it (`ChunkDecoder`).
 */

// Mode bytes. Never renumber: they are written to disk.
const TS_SINGLE = 0; // t0
const TS_CONSTANT = 1; // t0, interval: t_i = t0 + i*D
const TS_GRID = 2; // t0, D, min, width, packed r_i - min: t_i = t0 + i*D + r_i
const TS_DOD = 3; // t0, first delta, min, width, packed dod_i - min

const V_CONSTANT = 0; // raw 64 bits, every value bit-identical
const V_DECIMAL_DELTA = 1; // e, k0, min, width, packed (k_i - k_{i-1}) - min
const V_DECIMAL_DOD = 2; // e, k0, first delta, min, width, packed dod_i - min
const V_XOR = 3; // Gorilla value stream
const V_DECIMAL_SPARSE = 4; // e, k0, min, width, bitmap of non-zero deltas, packed non-zero delta - min

/** Largest decimal exponent tried: 10^e is exact in float64 up to 10^22. */
const MAX_EXPONENT = 22;
/** Bound on the scaled integers, so deltas (2^51) and delta-of-deltas (2^52) stay exact. */
const MAX_DECIMAL = 2 ** 50;
/** Widest packed field: a delta-of-delta range of the bounds above. */
const MAX_WIDTH = 54;

const POW10 = Array.from({ length: MAX_EXPONENT + 1 }, (_, e) => 10 ** e);

// Encoder scratch, reused across chunks (block cuts encode thousands of chunks in a row).
const out = new BitWriter(1024);
const decimalForm = new BitWriter(1024);
const otherForm = new BitWriter(1024);
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
let scratch = new Float64Array(256);
const xorValues = new XorValueWriter();

function scratchFor(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2));
  return scratch;
}

/** Bits needed for an integer 0 <= x < 2^54. */
function bitsFor(x: number): number {
  return x < TWO_POW_32 ? 32 - Math.clz32(x) : 64 - Math.clz32(Math.floor(x / TWO_POW_32));
}

/** Writes `count` fields of `width` bits from `xs[from..]` minus `min`, most significant first. */
function pack(w: BitWriter, xs: Float64Array, from: number, count: number, min: number, width: number): void {
  if (width === 0) return;
  if (width <= 32) {
    for (let i = 0; i < count; i++) w.writeBits(xs[from + i] - min, width);
  } else {
    for (let i = 0; i < count; i++) {
      const x = xs[from + i] - min;
      const hi = Math.floor(x / TWO_POW_32);
      w.writeBits(hi, width - 32);
      w.writeBits(x - hi * TWO_POW_32, 32);
    }
  }
  w.alignToByte();
}

/** Minimum and maximum of `xs[from, from + count)`; `count` >= 1. Returned through module state. */
let rangeMin = 0;
let rangeMax = 0;
function range(xs: Float64Array, from: number, count: number): void {
  let min = xs[from];
  let max = min;
  for (let i = from + 1; i < from + count; i++) {
    const x = xs[i];
    if (x < min) min = x;
    else if (x > max) max = x;
  }
  rangeMin = min;
  rangeMax = max;
}

/**
 * Encodes samples `[start, end)` of the columns. Timestamps must be strictly increasing integers
 * within ±2^51 ms (the head guarantees it; anything else is a bug and throws).
 */
export function encodeDense(ts: Float64Array, values: Float64Array, start: number, end: number): Chunk {
  const n = end - start;
  if (!(n >= 1)) throw new Error(`bug: DENSE chunk of ${n} samples`);
  for (let i = start; i < end; i++) {
    const t = ts[i];
    if (!Number.isInteger(t) || Math.abs(t) > MAX_ABS_TIMESTAMP || (i > start && !(t > ts[i - 1]))) {
      throw new Error(`bug: DENSE chunk timestamp ${t} at ${i - start}: timestamps must be strictly increasing integers within ±2^51`);
    }
  }
  out.reset();
  encodeTimestamps(out, ts, start, n);
  encodeValues(out, values, start, n);
  return { encoding: ChunkEncoding.DENSE, data: out.bytes(), numSamples: n, minT: ts[start], maxT: ts[end - 1] };
}

function encodeTimestamps(w: BitWriter, ts: Float64Array, start: number, n: number): void {
  const t0 = ts[start];
  if (n === 1) {
    w.writeBits(TS_SINGLE, 8);
    w.writeVarint(t0);
    return;
  }
  const d1 = ts[start + 1] - t0;
  const xs = scratchFor(n * 2);
  // Delta-of-deltas into xs[2..n).
  let regular = true;
  for (let i = 2; i < n; i++) {
    const dod = ts[start + i] - ts[start + i - 1] - (ts[start + i - 1] - ts[start + i - 2]);
    xs[i] = dod;
    if (dod !== 0) regular = false;
  }
  if (regular) {
    w.writeBits(TS_CONSTANT, 8);
    w.writeVarint(t0);
    w.writeUvarint(d1);
    return;
  }
  range(xs, 2, n - 2);
  const dodMin = rangeMin;
  const dodWidth = bitsFor(rangeMax - rangeMin);
  // Residuals from the grid of the mean interval into xs[n..2n-1): jitter around a fixed
  // schedule is bounded, while delta-of-deltas see each jitter twice; take the narrower.
  const grid = Math.round((ts[start + n - 1] - t0) / (n - 1));
  const rs = xs;
  for (let i = 1; i < n; i++) rs[n + i - 1] = ts[start + i] - t0 - i * grid;
  range(rs, n, n - 1);
  const gridMin = rangeMin;
  const gridWidth = bitsFor(rangeMax - rangeMin);
  if (gridWidth * (n - 1) <= dodWidth * (n - 2)) {
    w.writeBits(TS_GRID, 8);
    w.writeVarint(t0);
    w.writeUvarint(grid);
    w.writeVarint(gridMin);
    w.writeBits(gridWidth, 8);
    pack(w, rs, n, n - 1, gridMin, gridWidth);
  } else {
    w.writeBits(TS_DOD, 8);
    w.writeVarint(t0);
    w.writeUvarint(d1);
    w.writeVarint(dodMin);
    w.writeBits(dodWidth, 8);
    pack(w, rs, 2, n - 2, dodMin, dodWidth);
  }
}

/** Whether v == k / 10^e exactly for an integer |k| <= 2^50, with the decoder's arithmetic. */
function isDecimal(v: number, e: number): boolean {
  const p = POW10[e];
  const k = Math.round(v * p) + 0; // + 0 turns -0 into +0, so -0 itself never passes
  return Math.abs(k) <= MAX_DECIMAL && Object.is(k / p, v);
}

/** The smallest exponent that makes every value a decimal, or -1. */
function decimalExponent(values: Float64Array, start: number, n: number): number {
  let e = 0;
  for (let i = start; i < start + n; i++) {
    const v = values[i];
    while (!isDecimal(v, e)) if (++e > MAX_EXPONENT) return -1;
  }
  // A value passed at a smaller exponent than the final one; check all at the final one.
  for (let i = start; i < start + n; i++) if (!isDecimal(values[i], e)) return -1;
  return e;
}

function encodeValues(w: BitWriter, values: Float64Array, start: number, n: number): void {
  // Candidate forms are written side by side and the shortest is kept; ties go to the one that
  // decodes fastest (decimal, constant, XOR in that order).
  const e = decimalExponent(values, start, n);
  let best: BitWriter | undefined;
  if (e >= 0) {
    decimalForm.reset();
    encodeDecimal(decimalForm, values, start, n, e);
    best = decimalForm;
  }
  // A decimal form of 10 bytes or less is as short as any other can be (constant takes 9).
  if (best === undefined || best.byteLength > 10) {
    otherForm.reset();
    if (isConstant(values, start, n)) {
      // Constant by bit pattern: a series of stale markers, or a constant that is no decimal.
      otherForm.writeBits(V_CONSTANT, 8);
      xorValues.first(otherForm, values[start]);
    } else {
      otherForm.writeBits(V_XOR, 8);
      xorValues.first(otherForm, values[start]);
      for (let i = start + 1; i < start + n; i++) xorValues.next(otherForm, values[i]);
      otherForm.alignToByte();
    }
    if (best === undefined || otherForm.byteLength < best.byteLength) best = otherForm;
  }
  w.writeBytes(best.bytes());
}

function isConstant(values: Float64Array, start: number, n: number): boolean {
  f64[0] = values[start];
  const hi = u32[1];
  const lo = u32[0];
  for (let i = start + 1; i < start + n; i++) {
    f64[0] = values[i];
    if (u32[1] !== hi || u32[0] !== lo) return false;
  }
  return true;
}

function encodeDecimal(w: BitWriter, values: Float64Array, start: number, n: number, e: number): void {
  const p = POW10[e];
  const ks = scratchFor(n * 2);
  for (let i = 0; i < n; i++) ks[i] = Math.round(values[start + i] * p) + 0;
  const k0 = ks[0];
  if (n === 1) {
    w.writeBits(V_DECIMAL_DELTA, 8);
    w.writeBits(e, 8);
    w.writeVarint(k0);
    w.writeVarint(0);
    w.writeBits(0, 8);
    return;
  }
  // Deltas into ks[n+1..2n), delta-of-deltas into ks[1..n) (overwriting k as it goes: k_i is
  // not needed once delta_i is known).
  for (let i = 1; i < n; i++) ks[n + i] = ks[i] - ks[i - 1];
  range(ks, n + 1, n - 1);
  const deltaMin = rangeMin;
  const deltaWidth = bitsFor(rangeMax - rangeMin);
  const d1 = ks[n + 1];
  let dodWidth = MAX_WIDTH + 1;
  let dodMin = 0;
  if (n > 2) {
    for (let i = 2; i < n; i++) ks[i] = ks[n + i] - ks[n + i - 1];
    range(ks, 2, n - 2);
    dodMin = rangeMin;
    dodWidth = bitsFor(rangeMax - rangeMin);
  }
  // Sparse: only the non-zero deltas, packed, behind a bitmap of which deltas are non-zero.
  let changed = 0;
  let sparseMin = Infinity;
  let sparseMax = -Infinity;
  for (let i = n + 1; i < 2 * n; i++) {
    const d = ks[i];
    if (d !== 0) {
      changed++;
      if (d < sparseMin) sparseMin = d;
      if (d > sparseMax) sparseMax = d;
    }
  }
  if (changed === 0) sparseMin = sparseMax = 0;
  const sparseWidth = bitsFor(sparseMax - sparseMin);
  // Costs in bits; the delta-of-delta form has one more header varint and one fewer field, the
  // sparse one a bitmap and a second padding. Near-ties go to the plain delta form.
  const deltaCost = deltaWidth * (n - 1);
  const dodCost = dodWidth * (n - 2) + 8;
  const sparseCost = n - 1 + changed * sparseWidth + 16;
  if (sparseCost < deltaCost && sparseCost < dodCost) {
    w.writeBits(V_DECIMAL_SPARSE, 8);
    w.writeBits(e, 8);
    w.writeVarint(k0);
    w.writeVarint(sparseMin);
    w.writeBits(sparseWidth, 8);
    let j = 0;
    for (let i = n + 1; i < 2 * n; i++) {
      const d = ks[i];
      w.writeBit(d !== 0 ? 1 : 0);
      if (d !== 0) ks[j++] = d; // k and delta-of-delta slots are free by now
    }
    w.alignToByte();
    pack(w, ks, 0, changed, sparseMin, sparseWidth);
  } else if (deltaCost <= dodCost) {
    w.writeBits(V_DECIMAL_DELTA, 8);
    w.writeBits(e, 8);
    w.writeVarint(k0);
    w.writeVarint(deltaMin);
    w.writeBits(deltaWidth, 8);
    pack(w, ks, n + 1, n - 1, deltaMin, deltaWidth);
  } else {
    w.writeBits(V_DECIMAL_DOD, 8);
    w.writeBits(e, 8);
    w.writeVarint(k0);
    w.writeVarint(d1);
    w.writeVarint(dodMin);
    w.writeBits(dodWidth, 8);
    pack(w, ks, 2, n - 2, dodMin, dodWidth);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding. Headers are parsed with a byte cursor (`pos`, module state, so the helpers return
// a plain number and nothing is allocated); packed fields are unpacked straight into the output
// arrays and then turned into samples in place, two tight loops over a chunk that sits in L1.

let pos = 0;
const reader = new BitReader();
const xorReader = new XorValueReader();

function corrupt(detail: string): CorruptChunkError {
  return new CorruptChunkError(ChunkEncoding.DENSE, detail);
}

function byteAt(data: Uint8Array): number {
  if (pos >= data.length) throw corrupt(`truncated at byte ${pos}`);
  return data[pos++];
}

function uvarintAt(data: Uint8Array): number {
  let b = byteAt(data);
  if (b < 0x80) return b;
  let x = b & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 8; i++) {
    b = byteAt(data);
    x += (b & 0x7f) * scale;
    if (b < 0x80) return x;
    scale *= 0x80;
  }
  throw corrupt(`over-long varint ending at byte ${pos}`);
}

function varintAt(data: Uint8Array): number {
  const z = uvarintAt(data);
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

function widthAt(data: Uint8Array): number {
  const width = byteAt(data);
  if (width > MAX_WIDTH) throw corrupt(`field width ${width} at byte ${pos - 1}`);
  return width;
}

/**
 * Unpacks `count` fields of `width` bits from `data[pos..]` into `dst[at..]` and moves `pos` past
 * them. Fast path (width <= 25, every real series): the fields are pulled through a 32-bit
 * accumulator refilled a byte at a time; refilling only while fewer than `width` bits are
 * pending keeps at most 32 live bits, so plain int32 shifts suffice, and the loop only reads
 * bytes that hold wanted bits, so it never leaves the section (checked once, up front).
 */
function unpack(data: Uint8Array, count: number, width: number, dst: Float64Array, at: number): void {
  const bytes = Math.ceil((count * width) / 8);
  if (pos + bytes > data.length) throw corrupt(`packed section of ${bytes} bytes at ${pos} runs past the end (${data.length})`);
  if (width === 0) {
    dst.fill(0, at, at + count);
  } else if (width <= 25) {
    const mask = (1 << width) - 1;
    let p = pos;
    let acc = 0;
    let nacc = 0;
    for (let i = at; i < at + count; i++) {
      while (nacc < width) {
        acc = (acc << 8) | data[p++];
        nacc += 8;
      }
      nacc -= width;
      dst[i] = (acc >>> nacc) & mask;
    }
  } else {
    // Wide fields: adversarial data only. The general bit reader, in 32-bit parts.
    const r = reader;
    r.reset(data, pos, pos + bytes);
    if (width <= 32) {
      for (let i = at; i < at + count; i++) dst[i] = r.readBits(width);
    } else {
      for (let i = at; i < at + count; i++) dst[i] = r.readBits(width - 32) * TWO_POW_32 + r.readBits(32);
    }
  }
  pos += bytes;
}

export const decodeDense: ChunkDecoder = (data, numSamples, ts, values, offset) => {
  const n = numSamples;
  if (n === 0) return 0;
  pos = 0;
  decodeTimestamps(data, n, ts, offset);
  decodeValues(data, n, values, offset);
  if (pos !== data.length) throw corrupt(`${data.length - pos} bytes left over after ${n} samples`);
  return n;
};

function decodeTimestamps(data: Uint8Array, n: number, ts: Float64Array, o: number): void {
  const mode = byteAt(data);
  const t0 = varintAt(data);
  ts[o] = t0;
  switch (mode) {
    case TS_SINGLE:
      if (n !== 1) throw corrupt(`a single-sample timestamp section for ${n} samples`);
      return;
    case TS_CONSTANT: {
      const d = uvarintAt(data);
      for (let i = 1; i < n; i++) ts[o + i] = t0 + i * d;
      return;
    }
    case TS_GRID: {
      const d = uvarintAt(data);
      const base = t0 + varintAt(data);
      unpack(data, n - 1, widthAt(data), ts, o + 1);
      for (let i = 1; i < n; i++) ts[o + i] += base + i * d;
      return;
    }
    case TS_DOD: {
      let delta = uvarintAt(data);
      const min = varintAt(data);
      if (n < 2) throw corrupt('a delta-of-delta timestamp section for one sample');
      unpack(data, n - 2, widthAt(data), ts, o + 2);
      let t = t0 + delta;
      ts[o + 1] = t;
      for (let i = 2; i < n; i++) {
        delta += min + ts[o + i];
        t += delta;
        ts[o + i] = t;
      }
      return;
    }
    default:
      throw corrupt(`unknown timestamp mode ${mode}`);
  }
}

function decodeValues(data: Uint8Array, n: number, values: Float64Array, o: number): void {
  const mode = byteAt(data);
  switch (mode) {
    case V_CONSTANT: {
      if (pos + 8 > data.length) throw corrupt('truncated constant value');
      reader.reset(data, pos, pos + 8);
      const v = xorReader.first(reader);
      pos += 8;
      for (let i = 0; i < n; i++) values[o + i] = v;
      return;
    }
    case V_DECIMAL_DELTA: {
      const p = exponentAt(data);
      let k = varintAt(data);
      const min = varintAt(data);
      unpack(data, n - 1, widthAt(data), values, o + 1);
      values[o] = k / p;
      for (let i = 1; i < n; i++) {
        k += min + values[o + i];
        values[o + i] = k / p;
      }
      return;
    }
    case V_DECIMAL_DOD: {
      const p = exponentAt(data);
      let k = varintAt(data);
      let delta = varintAt(data);
      const min = varintAt(data);
      if (n < 2) throw corrupt('a delta-of-delta value section for one sample');
      unpack(data, n - 2, widthAt(data), values, o + 2);
      values[o] = k / p;
      k += delta;
      values[o + 1] = k / p;
      for (let i = 2; i < n; i++) {
        delta += min + values[o + i];
        k += delta;
        values[o + i] = k / p;
      }
      return;
    }
    case V_DECIMAL_SPARSE: {
      const p = exponentAt(data);
      let k = varintAt(data);
      const min = varintAt(data);
      const width = widthAt(data);
      const bitmap = pos;
      const bitmapBytes = (n - 1 + 7) >>> 3;
      if (pos + bitmapBytes > data.length) throw corrupt('truncated bitmap');
      let changed = 0;
      for (let i = 0; i < bitmapBytes; i++) changed += popcount8(data[bitmap + i]);
      pos += bitmapBytes;
      // The non-zero deltas land at the front, then spread out backwards to their positions
      // (a field is never moved forward past an unread one), then a running sum.
      unpack(data, changed, width, values, o + 1);
      let j = o + changed;
      for (let i = n - 1; i >= 1; i--) {
        const bit = (data[bitmap + ((i - 1) >>> 3)] >>> (7 - ((i - 1) & 7))) & 1;
        values[o + i] = bit !== 0 ? min + values[j--] : 0;
      }
      values[o] = k / p;
      for (let i = 1; i < n; i++) {
        k += values[o + i];
        values[o + i] = k / p;
      }
      return;
    }
    case V_XOR: {
      const r = reader;
      r.reset(data, pos, data.length);
      const vr = xorReader;
      values[o] = vr.first(r);
      for (let i = 1; i < n; i++) values[o + i] = vr.next(r);
      if (r.overrun || !vr.windowValid) throw corrupt('the XOR value stream ends early');
      pos = r.alignedOffset();
      return;
    }
    default:
      throw corrupt(`unknown value mode ${mode}`);
  }
}

function popcount8(b: number): number {
  b = b - ((b >>> 1) & 0x55);
  b = (b & 0x33) + ((b >>> 2) & 0x33);
  return (b + (b >>> 4)) & 0x0f;
}

function exponentAt(data: Uint8Array): number {
  const e = byteAt(data);
  if (e > MAX_EXPONENT) throw corrupt(`decimal exponent ${e}`);
  return POW10[e];
}

const TS_MODE_NAMES = ['single', 'constant', 'grid', 'dod'];
const VALUE_MODE_NAMES = ['constant', 'decimal-delta', 'decimal-dod', 'xor', 'decimal-sparse'];

/** Which sub-encodings a DENSE chunk uses and the size of its timestamp section (tests, benchmarks). */
export function describeDense(data: Uint8Array, numSamples: number): { timestamps: string; values: string; timestampBytes: number } {
  pos = 0;
  decodeTimestamps(data, numSamples, new Float64Array(numSamples), 0);
  const timestampBytes = pos;
  return { timestamps: TS_MODE_NAMES[data[0]], values: VALUE_MODE_NAMES[data[timestampBytes]], timestampBytes };
}
