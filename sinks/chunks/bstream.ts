/**
 * Bit I/O for the chunk codecs: a growable bit writer and a bit reader over a `Uint8Array`.
 * Bits are stored most significant first, so a stream reads in the order it was written and a
 * byte-aligned run of `writeBits(b, 8)` is exactly the bytes `b`. Formats: chunk-format.md.
 *
 * Only bit and byte-granular stream I/O lives here (bits, varints); what the bits mean belongs to
 * the codecs. Both classes are reused across chunks (`reset`) so decoding allocates nothing.
 *
 * JavaScript bitwise operators work on 32-bit integers and take shift counts modulo 32, so every
 * call moves at most 32 bits, and wider quantities (64-bit float patterns, large integers) are
 * written as a high and a low part by the caller.
 */

const TWO_POW_32 = 4294967296;

/** An append-only bit stream; the buffer grows by doubling. */
export class BitWriter {
  private buf: Uint8Array;
  /** Next byte of `buf` to fill; bytes before it are complete. */
  private pos: number;
  /** Pending bits not yet forming a whole byte, low-aligned; `nacc` is 0..7 between calls. */
  private acc = 0;
  private nacc = 0;

  /** `reserve` leading bytes are left zero for a header the owner fills in (see `bytes`). */
  constructor(initialCapacity = 32, reserve = 0) {
    this.buf = new Uint8Array(Math.max(initialCapacity, reserve + 1));
    this.pos = reserve;
  }

  /** Bits written so far, the reserved bytes included. */
  get bitLength(): number {
    return this.pos * 8 + this.nacc;
  }

  /** Bytes the stream occupies so far, a trailing partial byte counted whole. */
  get byteLength(): number {
    return this.pos + (this.nacc > 0 ? 1 : 0);
  }

  writeBit(bit: number): void {
    this.writeBits(bit, 1);
  }

  /**
   * Writes the low `n` bits of `value`, 0 <= n <= 32. Fast path: at most 24 bits go through the
   * accumulator at once, so its 7 pending bits plus the new ones stay within 31 bits of a
   * non-negative int32 and no shift ever exceeds the word.
   */
  writeBits(value: number, n: number): void {
    if (n > 24) {
      this.writeBits(value >>> 16, n - 16);
      value &= 0xffff;
      n = 16;
    }
    let acc = (this.acc << n) | (value & ((1 << n) - 1));
    let nacc = this.nacc + n;
    if (nacc >= 8) {
      if (this.pos + 4 > this.buf.length) this.grow();
      const buf = this.buf;
      do {
        nacc -= 8;
        buf[this.pos++] = acc >>> nacc; // the Uint8Array store keeps the low 8 bits
      } while (nacc >= 8);
      acc &= (1 << nacc) - 1;
    }
    this.acc = acc;
    this.nacc = nacc;
  }

  /** Appends whole bytes (at any bit position). */
  writeBytes(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) this.writeBits(bytes[i], 8);
  }

  /** Pads with zero bits to the next byte boundary. */
  alignToByte(): void {
    if (this.nacc > 0) this.writeBits(0, 8 - this.nacc);
  }

  /** Unsigned LEB128 of a non-negative integer up to 2^53 (arithmetic, not bit operators, above 2^31). */
  writeUvarint(x: number): void {
    while (x >= 0x80) {
      this.writeBits((x % 0x80) | 0x80, 8);
      x = Math.floor(x / 0x80);
    }
    this.writeBits(x, 8);
  }

  /** Zigzag then LEB128 of an integer with |x| <= 2^52 (the zigzag of larger ones is not exact). */
  writeVarint(x: number): void {
    this.writeUvarint(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  /**
   * A copy of the stream, the trailing partial byte zero-padded; the writer is left as it was,
   * so appending can continue after a snapshot.
   */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.byteLength);
    out.set(this.buf.subarray(0, this.pos));
    if (this.nacc > 0) out[this.pos] = this.acc << (8 - this.nacc);
    return out;
  }

  /** Empties the stream (keeping the buffer), leaving `reserve` zero bytes at the front. */
  reset(reserve = 0): void {
    if (reserve >= this.buf.length) this.buf = new Uint8Array(reserve * 2);
    this.buf.fill(0, 0, reserve);
    this.pos = reserve;
    this.acc = 0;
    this.nacc = 0;
  }

  private grow(): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + 8));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}

/**
 * Reads a bit stream written by `BitWriter`. Reading past the end yields zero bits rather than
 * throwing (the hot loops stay free of checks); `overrun` tells afterwards whether that happened,
 * which a decoder reports as a corrupt chunk.
 */
export class BitReader {
  private data: Uint8Array = new Uint8Array(0);
  private end = 0;
  private start = 0;
  /** Next byte to load into `word`. May pass `end` once the tail has been loaded zero-padded. */
  private pos = 0;
  /** Up to 32 unread bits, low-aligned; `nbits` of them are valid. */
  private word = 0;
  private nbits = 0;

  constructor(data?: Uint8Array, start = 0, end = data?.length ?? 0) {
    if (data) this.reset(data, start, end);
  }

  /** Points the reader at `data[start, end)`; lets one reader serve every chunk of a query. */
  reset(data: Uint8Array, start = 0, end = data.length): void {
    this.data = data;
    this.start = start;
    this.end = end;
    this.pos = start;
    this.word = 0;
    this.nbits = 0;
  }

  /** Bits consumed since `start`. */
  get bitPosition(): number {
    return (this.pos - this.start) * 8 - this.nbits;
  }

  /** True if more bits were read than the stream holds. */
  get overrun(): boolean {
    return this.bitPosition > (this.end - this.start) * 8;
  }

  /** Byte offset (in `data`) of the first byte not yet touched, after skipping to a byte boundary. */
  alignedOffset(): number {
    return this.start + ((this.bitPosition + 7) >>> 3);
  }

  /** Fast path kept tiny so it inlines into decode loops: one bit straight from the word. */
  readBit(): number {
    if (this.nbits > 0) {
      this.nbits--;
      return (this.word >>> this.nbits) & 1;
    }
    return this.readBits(1);
  }

  /**
   * Reads `n` bits, 1 <= n <= 32, as an unsigned number. The common case takes them from the
   * word already loaded; otherwise the remaining bits are joined with a freshly loaded word.
   */
  readBits(n: number): number {
    const nbits = this.nbits;
    if (n <= nbits) {
      this.nbits = nbits - n;
      // n === 32 only when nbits === 32: the mask then covers the whole word.
      return ((this.word >>> this.nbits) & (n === 32 ? -1 : (1 << n) - 1)) >>> 0;
    }
    const high = nbits > 0 ? this.word & ((1 << nbits) - 1) : 0;
    this.load();
    const need = n - nbits; // 1..32
    this.nbits = 32 - need;
    const low = (this.word >>> this.nbits) & (need === 32 ? -1 : (1 << need) - 1);
    // need < 32 whenever high has bits, so the shift below never wraps.
    return (nbits > 0 ? (high << need) | low : low) >>> 0;
  }

  /** Unsigned LEB128 up to 2^53. */
  readUvarint(): number {
    let b = this.readBits(8);
    if (b < 0x80) return b;
    let x = b & 0x7f;
    let scale = 0x80;
    for (let i = 1; i < 8; i++) {
      b = this.readBits(8);
      x += (b & 0x7f) * scale;
      if (b < 0x80) return x;
      scale *= 0x80;
    }
    this.nbits = 0;
    this.pos = this.end + 8; // an over-long varint: make the reader report an overrun
    return 0;
  }

  /** Zigzag LEB128 (see `BitWriter.writeVarint`). */
  readVarint(): number {
    const z = this.readUvarint();
    // z % 2 rather than z & 1: z may exceed 2^32.
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /**
   * Loads the next 32 bits big-endian by composing four byte loads. Composing, not a DataView:
   * the chunk is usually a subarray of a larger file buffer at any offset, and a DataView per
   * chunk would be an allocation per decode; V8 compiles the byte loads and shifts into a few
   * instructions. Whole words mean one refill per 32 bits instead of one per byte.
   */
  private load(): void {
    const p = this.pos;
    const d = this.data;
    if (p + 4 <= this.end) {
      this.word = ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;
    } else {
      // The tail: only bytes that exist are read (an out-of-bounds typed-array read would
      // deoptimise the caller), the rest of the word is zero.
      let w = 0;
      for (let i = 0; i < 4; i++) w = (w << 8) | (p + i < this.end ? d[p + i] : 0);
      this.word = w >>> 0;
    }
    this.pos = p + 4;
    this.nbits = 32;
  }
}

/** Splits a non-negative integer below 2^53 into its high and low 32-bit parts. */
export function high32(x: number): number {
  return Math.floor(x / TWO_POW_32);
}

export { TWO_POW_32 };
