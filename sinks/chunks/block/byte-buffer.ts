/**
 * Little-endian byte writing and reading with unsigned and zigzag varints: the building blocks of
 * the block index and chunk file formats. Readers check bounds and throw `CorruptDataError`, so
 * a damaged file is reported, never read past.
 */
export class CorruptDataError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(file ? `${file}: ${message}` : message, options);
    this.name = 'CorruptDataError';
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export class ByteWriter {
  private buf: Uint8Array;
  length = 0;

  constructor(capacity = 4096) {
    this.buf = new Uint8Array(capacity);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v;
  }

  u32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const i = this.length;
    b[i] = v & 0xff;
    b[i + 1] = (v >>> 8) & 0xff;
    b[i + 2] = (v >>> 16) & 0xff;
    b[i + 3] = (v >>> 24) & 0xff;
    this.length += 4;
  }

  /** Unsigned varint of a non-negative safe integer (up to 2^53). */
  uvarint(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.length++] = v;
  }

  /** Zigzag varint of a safe integer, so small negative numbers stay short. */
  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  /** A length-prefixed UTF-8 string. */
  string(s: string): void {
    const data = textEncoder.encode(s);
    this.uvarint(data.length);
    this.bytes(data);
  }

  /** The bytes written so far (a view; copy it before writing more if it must be kept). */
  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export class ByteReader {
  pos: number;

  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new CorruptDataError(`truncated at byte ${this.pos} (need ${n} more)`, this.what);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  u32(): number {
    this.need(4);
    const b = this.buf;
    const i = this.pos;
    this.pos += 4;
    return (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
  }

  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let shift = 0; shift < 56; shift += 7) {
      this.need(1);
      const byte = this.buf[this.pos++];
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 0x80;
    }
    throw new CorruptDataError(`varint too long at byte ${this.pos}`, this.what);
  }

  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.uvarint();
    try {
      return textDecoder.decode(this.bytes(n));
    } catch (error) {
      if (error instanceof CorruptDataError) throw error;
      throw new CorruptDataError(`invalid UTF-8 at byte ${this.pos - n}`, this.what, { cause: error });
    }
  }
}
