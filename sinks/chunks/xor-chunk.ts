import { BitReader, BitWriter, TWO_POW_32 } from './bstream.ts';
import { ChunkEncoding, type Chunk, type ChunkAppender, type ChunkDecoder } from './chunk.ts';
import { CorruptChunkError } from './chunk-errors.ts';

/**
 * Encoding 1 (XOR): the Gorilla chunk as the Prometheus TSDB writes it, so sluice's head chunks
 * have the well-understood size and behaviour of Prometheus's. Layout: chunk-format.md.
 *
 *   u16 sample count (big-endian) | t0 zigzag varint | v0 raw 64 bits
 *   | t1 - t0 uvarint | v1 xor | then per sample: delta-of-delta bucket, xor value
 *
 * Timestamps must be integers with |t| <= 2^51 ms (about 71,000 years either side of 1970): all
 * deltas and delta-of-deltas are then exact in float64 arithmetic.
 */

/** The count field is 16 bits; the head cuts chunks long before this. */
export const XOR_MAX_SAMPLES = 0xffff;
export const MAX_ABS_TIMESTAMP = 2 ** 51;

// float64 <-> two uint32 words. Little-endian hosts only (every platform Node runs on): [0] is
// the low word. Going through typed arrays keeps NaN payloads (the stale marker) intact.
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * The value half of the Gorilla encoding, shared with the DENSE codec's fallback: each value is
 * XORed with the previous one; '0' = identical, '10' = meaningful bits fit the previous window of
 * leading/trailing zeros, '11' = new window (5-bit leading count, 6-bit length, 64 stored as 0).
 */
export class XorValueWriter {
  private hi = 0;
  private lo = 0;
  /** Current window; leading 0xff means none yet. */
  private leading = 0xff;
  private trailing = 0;

  /** The first value, raw. */
  first(w: BitWriter, v: number): void {
    f64[0] = v;
    this.hi = u32[1];
    this.lo = u32[0];
    this.leading = 0xff;
    this.trailing = 0;
    w.writeBits(this.hi, 32);
    w.writeBits(this.lo, 32);
  }

  next(w: BitWriter, v: number): void {
    f64[0] = v;
    const hi = u32[1];
    const lo = u32[0];
    const xh = (hi ^ this.hi) >>> 0;
    const xl = (lo ^ this.lo) >>> 0;
    this.hi = hi;
    this.lo = lo;
    if (xh === 0 && xl === 0) {
      w.writeBit(0);
      return;
    }
    let leading = xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl);
    const trailing = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    if (leading > 31) leading = 31; // 5 bits hold at most 31; the rest travel as significant bits
    if (this.leading !== 0xff && leading >= this.leading && trailing >= this.trailing) {
      w.writeBits(0b10, 2);
      writeShifted(w, xh, xl, this.trailing, 64 - this.leading - this.trailing);
      return;
    }
    this.leading = leading;
    this.trailing = trailing;
    const sig = 64 - leading - trailing;
    w.writeBits(0b11, 2);
    w.writeBits(leading, 5);
    w.writeBits(sig & 63, 6); // 64 significant bits are written as 0
    writeShifted(w, xh, xl, trailing, sig);
  }
}

/** Writes the `sig` bits of (xh:xl) >> shift. */
function writeShifted(w: BitWriter, xh: number, xl: number, shift: number, sig: number): void {
  if (shift >= 32) {
    xl = xh >>> (shift - 32);
    xh = 0;
  } else if (shift > 0) {
    xl = ((xl >>> shift) | (xh << (32 - shift))) >>> 0;
    xh = xh >>> shift;
  }
  if (sig > 32) {
    w.writeBits(xh, sig - 32);
    w.writeBits(xl, 32);
  } else {
    w.writeBits(xl, sig);
  }
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/**
 * Reads values written by `XorValueWriter`. One module-level instance serves every decode (they
 * never nest), so decoding allocates nothing.
 */
export class XorValueReader {
  private hi = 0;
  private lo = 0;
  private leading = 0;
  private trailing = 0;
  /** Set when a window does not fit in 64 bits: only corrupt data does that. */
  private bad = false;

  first(r: BitReader): number {
    this.hi = r.readBits(32);
    this.lo = r.readBits(32);
    this.leading = 0;
    this.trailing = 0;
    this.bad = false;
    u32[1] = this.hi;
    u32[0] = this.lo;
    return f64[0];
  }

  /** Fast path first: an unchanged value costs one bit read and no float conversion work. */
  next(r: BitReader): number {
    if (r.readBit() !== 0) {
      if (r.readBit() !== 0) {
        this.leading = r.readBits(5);
        let sig = r.readBits(6);
        if (sig === 0) sig = 64;
        this.trailing = 64 - this.leading - sig;
        if (this.trailing < 0) {
          this.bad = true;
          this.trailing = 0;
        }
      }
      const trailing = this.trailing;
      const sig = 64 - this.leading - trailing;
      let xh = 0;
      let xl: number;
      if (sig > 32) {
        xh = r.readBits(sig - 32);
        xl = r.readBits(32);
      } else {
        xl = r.readBits(sig);
      }
      if (trailing >= 32) {
        xh = xl << (trailing - 32);
        xl = 0;
      } else if (trailing > 0) {
        xh = (xh << trailing) | (xl >>> (32 - trailing));
        xl = xl << trailing;
      }
      this.hi ^= xh;
      this.lo ^= xl;
      u32[1] = this.hi;
      u32[0] = this.lo;
    }
    return f64[0];
  }

  /** False if some window read since `first` could not have been written by the encoder. */
  get windowValid(): boolean {
    return !this.bad;
  }
}

class XorAppender implements ChunkAppender {
  readonly encoding = ChunkEncoding.XOR;
  numSamples = 0;
  // Empty: an empty range, so `t > maxT` holds for the first sample.
  minT = Infinity;
  maxT = -Infinity;
  /** Two reserved bytes at the front take the sample count when sealing. */
  private readonly w = new BitWriter(64, 2);
  private readonly values = new XorValueWriter();
  private tDelta = 0;

  get byteLength(): number {
    return this.w.byteLength;
  }

  append(t: number, v: number): void {
    const n = this.numSamples;
    if (!(Math.abs(t) <= MAX_ABS_TIMESTAMP) || (n > 0 && !(t > this.maxT)) || n === XOR_MAX_SAMPLES) {
      throw new Error(`bug: XOR chunk append of t=${t} after ${n} samples (maxT ${this.maxT}); timestamps must increase within ±2^51 and a chunk holds at most ${XOR_MAX_SAMPLES}`);
    }
    const w = this.w;
    if (n === 0) {
      w.writeVarint(t);
      this.values.first(w, v);
      this.minT = t;
    } else if (n === 1) {
      this.tDelta = t - this.maxT;
      w.writeUvarint(this.tDelta);
      this.values.next(w, v);
    } else {
      const delta = t - this.maxT;
      const dod = delta - this.tDelta;
      this.tDelta = delta;
      if (dod === 0) {
        w.writeBit(0);
      } else if (dod >= -8191 && dod <= 8192) {
        w.writeBits(0b10, 2);
        w.writeBits(dod, 14);
      } else if (dod >= -65535 && dod <= 65536) {
        w.writeBits(0b110, 3);
        w.writeBits(dod, 17);
      } else if (dod >= -524287 && dod <= 524288) {
        w.writeBits(0b1110, 4);
        w.writeBits(dod, 20);
      } else {
        // 64-bit two's complement: the high word is floor(dod / 2^32), the low word the rest.
        w.writeBits(0b1111, 4);
        const hi = Math.floor(dod / TWO_POW_32);
        w.writeBits(hi, 32);
        w.writeBits(dod - hi * TWO_POW_32, 32);
      }
      this.values.next(w, v);
    }
    this.maxT = t;
    this.numSamples = n + 1;
  }

  seal(): Chunk {
    const data = this.w.bytes();
    data[0] = this.numSamples >>> 8;
    data[1] = this.numSamples & 0xff;
    return { encoding: ChunkEncoding.XOR, data, numSamples: this.numSamples, minT: this.minT, maxT: this.maxT };
  }
}

export function newXorAppender(): ChunkAppender {
  return new XorAppender();
}

const reader = new BitReader();
const valueReader = new XorValueReader();

/**
 * Decodes an XOR chunk. Allocation-free: the bit reader and value state are module-level and
 * reset per chunk; samples go straight into the caller's arrays.
 */
export const decodeXor: ChunkDecoder = (data, numSamples, ts, values, offset) => {
  if (data.length < 2) throw new CorruptChunkError(ChunkEncoding.XOR, `${data.length} bytes, shorter than the 2-byte header`);
  const stored = (data[0] << 8) | data[1];
  if (numSamples > stored) throw new CorruptChunkError(ChunkEncoding.XOR, `${numSamples} samples asked for, the chunk holds ${stored}`);
  if (numSamples === 0) return 0;
  const r = reader;
  const vr = valueReader;
  r.reset(data, 2, data.length);
  let t = r.readVarint();
  ts[offset] = t;
  values[offset] = vr.first(r);
  if (numSamples > 1) {
    let delta = r.readUvarint();
    t += delta;
    ts[offset + 1] = t;
    values[offset + 1] = vr.next(r);
    for (let i = 2; i < numSamples; i++) {
      // Buckets are tried in order of frequency: regular scrapes give dod 0 almost always.
      if (r.readBit() !== 0) {
        let dod: number;
        if (r.readBit() === 0) {
          dod = r.readBits(14);
          if (dod > 8192) dod -= 16384;
        } else if (r.readBit() === 0) {
          dod = r.readBits(17);
          if (dod > 65536) dod -= 131072;
        } else if (r.readBit() === 0) {
          dod = r.readBits(20);
          if (dod > 524288) dod -= 1048576;
        } else {
          const hi = r.readBits(32) | 0; // signed high word
          dod = hi * TWO_POW_32 + r.readBits(32);
        }
        delta += dod;
      }
      t += delta;
      ts[offset + i] = t;
      values[offset + i] = vr.next(r);
    }
  }
  if (r.overrun || !vr.windowValid) throw new CorruptChunkError(ChunkEncoding.XOR, `the data ends before sample ${numSamples}`);
  return numSamples;
};
