import { crc32 } from 'node:zlib';
import type { Labels } from '../../../model/labels.ts';

/**
 * WAL records and their binary encoding. Byte layout and recovery rules: wal-format.md beside
 * this file. Every record is framed as
 *
 *     type u8 | length u32le | payload (length bytes) | crc u32le
 *
 * where the CRC-32 (IEEE, `node:zlib`) covers type, length and payload, so a damaged length is
 * caught as surely as a damaged payload.
 *
 * Encoding writes into one growing `ByteWriter` the caller reuses across calls: the samples path
 * reserves its worst case once per record, then writes varints into the buffer with no bounds
 * checks and copies the value column with one `set` (bit-exact for every NaN payload).
 */

/** Record type bytes. Never renumber: they are written to disk. 0 is never a record (zero fill). */
export const RecordType = {
  SERIES: 1,
  SAMPLES: 2,
  DELETED_SERIES: 3,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

export function isRecordType(type: number): type is RecordType {
  return type === RecordType.SERIES || type === RecordType.SAMPLES || type === RecordType.DELETED_SERIES;
}

/** Framing overhead of one record: type, length, CRC. */
export const RECORD_HEADER_BYTES = 5;
export const RECORD_TRAILER_BYTES = 4;
export const RECORD_OVERHEAD_BYTES = RECORD_HEADER_BYTES + RECORD_TRAILER_BYTES;

/** A series the store interned: its ref (the store's uint32 series id) and its label set. */
export interface SeriesEntry {
  readonly ref: number;
  readonly labels: Labels;
}

/** New series; replay registers them before any sample that names their refs. */
export interface SeriesRecord {
  readonly kind: 'series';
  readonly series: readonly SeriesEntry[];
}

/**
 * Samples in columns, as a `SampleBatch` carries them. `length` (default `refs.length`) lets a
 * caller log the first `length` entries of larger arrays without a copy. Timestamps are integer
 * unix ms; other timestamps (fractions, beyond ±2^52 apart) are still stored exactly, less compactly.
 */
export interface SamplesRecord {
  readonly kind: 'samples';
  readonly refs: Uint32Array;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly length?: number;
}

/** Series the head dropped (garbage collected); a later SERIES record may reuse a ref. */
export interface DeletedSeriesRecord {
  readonly kind: 'deleted_series';
  readonly refs: Uint32Array;
}

export type WalRecord = SeriesRecord | SamplesRecord | DeletedSeriesRecord;

/** A record whose bytes checked out (CRC) but do not decode: a CRC collision or a writer bug. */
export class WalDecodeError extends Error {
  override readonly name = 'WalDecodeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  // The value column is copied as raw bytes, which are little-endian only on a little-endian host.
  throw new Error('sluice WAL: big-endian hosts are not supported');
}

// Samples payload flags (first payload byte).
/** Timestamps as zigzag varint deltas from the record's first timestamp. */
const TS_DELTA = 0;
/** Timestamps as raw float64 (non-integer or far-apart timestamps). */
const TS_RAW = 1;

/** |delta| below this keeps a zigzag varint under 2^53, exact in a double. */
const MAX_TS_DELTA = 2 ** 52;

// Worst-case encoded sizes, for reserving once per record.
const MAX_UVARINT32 = 5;
const MAX_VARINT53 = 8;

/** A growing byte buffer, reused across encodes (reset, not reallocated). */
export class ByteWriter {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  reset(): void {
    this.pos = 0;
  }

  /** The bytes written so far; a view, valid until the next write or reset. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Makes room for `n` more bytes (doubling), so the caller can write without checks. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Drops capacity above `capacity` (after an unusually large record), keeping the contents. */
  shrinkTo(capacity: number): void {
    if (this.buf.length <= capacity || this.pos > capacity) return;
    const next = Buffer.allocUnsafe(capacity);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  uvarint(v: number): void {
    this.ensure(MAX_VARINT53);
    this.pos = putUvarint(this.buf, this.pos, v);
  }

  string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.uvarint(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos, n, 'utf8');
  }
}

/**
 * Writes an unsigned varint (7 bits a byte, low group first) of a non-negative integer below
 * 2^53; returns the next position. No bounds check: the caller reserved room.
 */
function putUvarint(buf: Uint8Array, pos: number, v: number): number {
  if (v < 0x80000000) {
    // Fast path with 32-bit arithmetic: all refs and the usual timestamp deltas.
    while (v >= 0x80) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    return pos;
  }
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

/** Zigzag mapping of an integer with |v| < 2^52, so the result stays exact below 2^53. */
function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

function unzigzag(u: number): number {
  // u < 2^53; odd means negative. `% 2` and `/ 2` stay exact where bit operators would wrap.
  return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
}

/**
 * Appends one framed record to `w`; returns the number of bytes appended.
 * The frame's CRC is computed over the bytes just written.
 */
export function appendRecord(w: ByteWriter, record: WalRecord): number {
  const start = w.pos;
  w.ensure(RECORD_HEADER_BYTES);
  w.pos += RECORD_HEADER_BYTES;
  let type: RecordType;
  switch (record.kind) {
    case 'series':
      type = RecordType.SERIES;
      encodeSeries(w, record);
      break;
    case 'samples':
      type = RecordType.SAMPLES;
      encodeSamples(w, record);
      break;
    case 'deleted_series':
      type = RecordType.DELETED_SERIES;
      encodeRefs(w, record.refs, record.refs.length);
      break;
    default:
      throw new Error(`bug: unknown WAL record kind ${(record as { kind: unknown }).kind}`);
  }
  const payloadLength = w.pos - start - RECORD_HEADER_BYTES;
  const buf = w.buf;
  buf[start] = type;
  buf.writeUInt32LE(payloadLength, start + 1);
  w.ensure(RECORD_TRAILER_BYTES);
  w.buf.writeUInt32LE(crc32(w.buf.subarray(start, w.pos)), w.pos);
  w.pos += RECORD_TRAILER_BYTES;
  return w.pos - start;
}

/** Encodes records into a fresh buffer (tests and tools; the WAL reuses its writer). */
export function encodeRecords(records: readonly WalRecord[]): Buffer {
  const w = new ByteWriter(1024);
  for (const r of records) appendRecord(w, r);
  return Buffer.from(w.bytes());
}

/*
 * SERIES payload: a symbol table of the record's distinct strings, then the series as indices.
 *   nsymbols uvarint | nsymbols × (len uvarint, utf-8 bytes)
 *   nseries uvarint  | nseries × (ref uvarint, nstrings uvarint, nstrings × symbol uvarint)
 * Label names (and often values) repeat across the series of one record, so each is written once.
 */
function encodeSeries(w: ByteWriter, record: SeriesRecord): void {
  const symbols = new Map<string, number>();
  const list: string[] = [];
  for (const s of record.series) {
    for (const str of s.labels) {
      if (!symbols.has(str)) {
        symbols.set(str, list.length);
        list.push(str);
      }
    }
  }
  w.uvarint(list.length);
  for (const str of list) w.string(str);
  w.uvarint(record.series.length);
  for (const s of record.series) {
    if (!Number.isInteger(s.ref) || s.ref < 0 || s.ref > 0xffffffff) throw new RangeError(`series ref ${s.ref} is not a uint32`);
    if (s.labels.length % 2 !== 0) throw new RangeError(`series ${s.ref}: labels must alternate names and values`);
    w.uvarint(s.ref);
    w.uvarint(s.labels.length);
    for (const str of s.labels) w.uvarint(symbols.get(str)!);
  }
}

/*
 * SAMPLES payload:
 *   flags u8 (0: ts deltas, 1: raw ts) | n uvarint
 *   values: n × float64le, bit-exact
 *   refs:   n × zigzag varint, delta from the previous ref (the first from 0)
 *   ts:     flags 0: base zigzag varint, then n × zigzag varint delta from base
 *           flags 1: n × float64le
 * The value column comes first and is copied with one `set`.
 */
function encodeSamples(w: ByteWriter, record: SamplesRecord): void {
  const n = record.length ?? record.refs.length;
  const { refs, ts, values } = record;
  if (n > refs.length || n > ts.length || n > values.length) {
    throw new RangeError(`samples record: length ${n} exceeds its columns (${refs.length}, ${ts.length}, ${values.length})`);
  }
  // Worst case: flags, count, values, refs, base + ts deltas.
  w.ensure(1 + MAX_VARINT53 + n * (8 + MAX_UVARINT32 + 1 + MAX_VARINT53) + MAX_VARINT53);
  const buf = w.buf;
  const flagsPos = w.pos;
  let pos = flagsPos + 1;
  pos = putUvarint(buf, pos, n);
  if (n > 0) buf.set(new Uint8Array(values.buffer, values.byteOffset, n * 8), pos);
  pos += n * 8;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const r = refs[i];
    const d = r - prev;
    prev = r;
    pos = putUvarint(buf, pos, d >= 0 ? d * 2 : -d * 2 - 1);
  }
  const tsStart = pos;
  let flags = TS_DELTA;
  if (n > 0) {
    const base = ts[0];
    if (Number.isInteger(base) && Math.abs(base) < MAX_TS_DELTA) {
      pos = putUvarint(buf, pos, zigzag(base));
      for (let i = 0; i < n; i++) {
        const t = ts[i];
        const d = t - base;
        // An integer timestamp, near enough to the base for an exact zigzag; NaN fails both tests.
        if (t !== Math.floor(t) || !(d < MAX_TS_DELTA && d > -MAX_TS_DELTA)) {
          flags = TS_RAW;
          break;
        }
        pos = putUvarint(buf, pos, d >= 0 ? d * 2 : -d * 2 - 1);
      }
    } else {
      flags = TS_RAW;
    }
    if (flags === TS_RAW) {
      pos = tsStart;
      buf.set(new Uint8Array(ts.buffer, ts.byteOffset, n * 8), pos);
      pos += n * 8;
    }
  }
  buf[flagsPos] = flags;
  w.pos = pos;
}

/* DELETED_SERIES payload: n uvarint | n × zigzag varint ref deltas. */
function encodeRefs(w: ByteWriter, refs: Uint32Array, n: number): void {
  w.ensure(MAX_VARINT53 + n * MAX_UVARINT32 + 1);
  const buf = w.buf;
  let pos = putUvarint(buf, w.pos, n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const d = refs[i] - prev;
    prev = refs[i];
    pos = putUvarint(buf, pos, d >= 0 ? d * 2 : -d * 2 - 1);
  }
  w.pos = pos;
}

/** A reader over one record's payload; every read checks bounds and throws `WalDecodeError`. */
class ByteReader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  u8(): number {
    if (this.pos >= this.end) throw new WalDecodeError('payload ends early');
    return this.buf[this.pos++];
  }

  uvarint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < MAX_VARINT53; i++) {
      if (pos >= this.end) throw new WalDecodeError('varint runs past the payload');
      const b = buf[pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) break;
        this.pos = pos;
        return result;
      }
      mul *= 0x80;
    }
    throw new WalDecodeError('varint too long');
  }

  /** A count of items that take at least `minBytes` each: bounded by what is left. */
  count(minBytes: number): number {
    const n = this.uvarint();
    if (n * minBytes > this.end - this.pos) throw new WalDecodeError(`count ${n} exceeds the payload`);
    return n;
  }

  bytes(n: number): Buffer {
    if (n > this.end - this.pos) throw new WalDecodeError('payload ends early');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Decodes one payload of `type`. Arrays in the result are fresh; the handler may keep them. */
export function decodeRecord(type: number, buf: Buffer, start: number, end: number): WalRecord {
  const r = new ByteReader(buf, start, end);
  let record: WalRecord;
  switch (type) {
    case RecordType.SERIES:
      record = decodeSeries(r);
      break;
    case RecordType.SAMPLES:
      record = decodeSamples(r);
      break;
    case RecordType.DELETED_SERIES:
      record = { kind: 'deleted_series', refs: decodeRefs(r, r.count(1)) };
      break;
    default:
      throw new WalDecodeError(`unknown record type ${type}`);
  }
  if (r.pos !== end) throw new WalDecodeError(`${end - r.pos} trailing bytes after a ${record.kind} record`);
  return record;
}

function decodeSeries(r: ByteReader): SeriesRecord {
  const nsym = r.count(1);
  const symbols: string[] = new Array(nsym);
  for (let i = 0; i < nsym; i++) {
    const len = r.uvarint();
    symbols[i] = r.bytes(len).toString('utf8');
  }
  const n = r.count(2);
  const series: SeriesEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const ref = r.uvarint();
    if (ref > 0xffffffff) throw new WalDecodeError(`series ref ${ref} is not a uint32`);
    const nstr = r.count(1);
    if (nstr % 2 !== 0) throw new WalDecodeError(`series ${ref}: odd number of label strings`);
    const labels: string[] = new Array(nstr);
    for (let j = 0; j < nstr; j++) {
      const idx = r.uvarint();
      if (idx >= nsym) throw new WalDecodeError(`series ${ref}: symbol ${idx} out of range`);
      labels[j] = symbols[idx];
    }
    series[i] = { ref, labels: Object.freeze(labels) };
  }
  return { kind: 'series', series };
}

function decodeRefs(r: ByteReader, n: number): Uint32Array {
  const refs = new Uint32Array(n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const ref = prev + unzigzag(r.uvarint());
    if (ref < 0 || ref > 0xffffffff) throw new WalDecodeError(`ref ${ref} is not a uint32`);
    refs[i] = ref;
    prev = ref;
  }
  return refs;
}

function decodeSamples(r: ByteReader): SamplesRecord {
  const flags = r.u8();
  if (flags !== TS_DELTA && flags !== TS_RAW) throw new WalDecodeError(`unknown samples flags ${flags}`);
  const n = r.count(10); // value 8 + ref ≥1 + ts ≥1
  const values = new Float64Array(n);
  new Uint8Array(values.buffer).set(r.bytes(n * 8));
  const refs = decodeRefs(r, n);
  const ts = new Float64Array(n);
  if (n > 0) {
    if (flags === TS_RAW) {
      new Uint8Array(ts.buffer).set(r.bytes(n * 8));
    } else {
      const base = unzigzag(r.uvarint());
      for (let i = 0; i < n; i++) ts[i] = base + unzigzag(r.uvarint());
    }
  }
  return { kind: 'samples', refs, ts, values };
}

/** The outcome of reading one frame at an offset. */
export type FrameResult =
  | { readonly ok: true; readonly type: RecordType; readonly payloadStart: number; readonly payloadEnd: number; readonly next: number }
  /** The bytes end inside the frame: `need` bytes from `offset` would complete it. */
  | { readonly ok: false; readonly reason: 'incomplete'; readonly need: number }
  | { readonly ok: false; readonly reason: 'zero' | 'bad type' | 'checksum mismatch' | 'too large' };

/**
 * Checks the frame starting at `offset` in `buf[0, end)`: a known type, a length within
 * `maxLength`, all bytes present, the CRC matching. Decoding the payload is separate.
 */
export function readFrame(buf: Buffer, offset: number, end: number, maxLength: number): FrameResult {
  if (end - offset < RECORD_HEADER_BYTES) {
    if (end > offset && buf[offset] === 0) return { ok: false, reason: 'zero' };
    return { ok: false, reason: 'incomplete', need: RECORD_HEADER_BYTES };
  }
  const type = buf[offset];
  if (type === 0) return { ok: false, reason: 'zero' };
  if (!isRecordType(type)) return { ok: false, reason: 'bad type' };
  const length = buf.readUInt32LE(offset + 1);
  if (length > maxLength) return { ok: false, reason: 'too large' };
  const total = RECORD_OVERHEAD_BYTES + length;
  if (end - offset < total) return { ok: false, reason: 'incomplete', need: total };
  const payloadEnd = offset + RECORD_HEADER_BYTES + length;
  if (crc32(buf.subarray(offset, payloadEnd)) !== buf.readUInt32LE(payloadEnd)) return { ok: false, reason: 'checksum mismatch' };
  return { ok: true, type, payloadStart: offset + RECORD_HEADER_BYTES, payloadEnd, next: payloadEnd + RECORD_TRAILER_BYTES };
}

/** Decodes every record of `bytes` (framed as `encodeRecords` writes them); throws on any damage. */
export function decodeRecords(bytes: Uint8Array): WalRecord[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: WalRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const f = readFrame(buf, pos, buf.length, buf.length);
    if (!f.ok) throw new WalDecodeError(`record at ${pos}: ${f.reason}`);
    out.push(decodeRecord(f.type, buf, f.payloadStart, f.payloadEnd));
    pos = f.next;
  }
  return out;
}
