import { crc32 } from 'node:zlib';
import type { Labels } from '../../model/labels.ts';
import { ByteReader, ByteWriter, CorruptDataError } from '../../sinks/chunks/block/byte-buffer.ts';
import type { DownsampleSnapshot, PendingRollups, TenantSnapshot } from './downsample-state.ts';
import type { CoarseSnapshot } from './coarse-windows.ts';
import type { Rollup, RollupSnapshot } from './rollup-state.ts';

/**
 * Byte layout of the downsample operator's state files (README.md beside this file has the
 * tables). Both kinds of file — the input log and the snapshot — start with an 8-byte header
 *
 *     magic 'SLDS' | format version u8 | file kind u8 | two zero bytes
 *
 * followed by records framed as
 *
 *     type u8 | payload length u32le | payload | crc32 u32le (over type, length and payload)
 *
 * so a reader stops at the first record that is torn or damaged and reports its offset; what
 * came before it is used. Floats travel as their 8 raw bytes, copied from and into Float64Arrays,
 * so every NaN payload (the stale marker included) survives bit-exactly.
 *
 * Series refs are process-local, so files name series by the ref of the process that wrote
 * them and carry each one's labels in a SERIES record before its first use in that file; a
 * reader interns the labels into its own registry and maps the refs.
 */

export const MAGIC = Uint8Array.of(0x53, 0x4c, 0x44, 0x53); // 'SLDS'
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 8;
const FRAME_HEAD = 5;
const FRAME_TAIL = 4;

export const FileKind = { log: 1, snapshot: 2 } as const;
export type FileKind = (typeof FileKind)[keyof typeof FileKind];

export const Rec = {
  series: 1,
  samples: 2,
  settled: 3,
  flush: 4,
  state: 16,
  tenant: 17,
  pending: 18,
  end: 19,
} as const;

/** A file written in a format version this build does not read: not damage, so nothing is repaired. */
export class StateFormatError extends Error {
  override readonly name = 'StateFormatError';
}

// ---------------------------------------------------------------------------------------------
// Writing

const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

function f64(w: ByteWriter, v: number): void {
  scratch[0] = v;
  w.bytes(scratchBytes);
}

function f64s(w: ByteWriter, a: Float64Array, n: number): void {
  w.bytes(new Uint8Array(a.buffer, a.byteOffset, n * 8));
}

export function header(kind: FileKind): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  h.set(MAGIC, 0);
  h[4] = FORMAT_VERSION;
  h[5] = kind;
  return h;
}

/** Frames one record: `body` writes the payload into `w`. */
function record(w: ByteWriter, type: number, body: () => void): void {
  const start = w.length;
  w.u8(type);
  w.u32(0); // length, patched below
  body();
  const payload = w.length - start - FRAME_HEAD;
  const bytes = w.view();
  bytes[start + 1] = payload & 0xff;
  bytes[start + 2] = (payload >>> 8) & 0xff;
  bytes[start + 3] = (payload >>> 16) & 0xff;
  bytes[start + 4] = (payload >>> 24) & 0xff;
  w.u32(crc32(bytes.subarray(start, w.length)));
}

function seriesRecord(w: ByteWriter, refs: readonly number[], labelsOf: (ref: number) => Labels): void {
  record(w, Rec.series, () => {
    w.uvarint(refs.length);
    for (const ref of refs) {
      const labels = labelsOf(ref);
      w.uvarint(ref);
      w.uvarint(labels.length);
      for (const s of labels) w.string(s);
    }
  });
}

function rollup(w: ByteWriter, r: Rollup): void {
  w.uvarint(r.ref);
  f64(w, r.start);
  w.uvarint(r.count);
  f64(w, r.sum);
  f64(w, r.min);
  f64(w, r.max);
  f64(w, r.counter);
  f64(w, r.firstT);
  f64(w, r.firstV);
  f64(w, r.lastT);
  f64(w, r.lastV);
}

/**
 * Encodes input-log records into one reused writer. Tracks which series this log file has named
 * already, so labels are written once per file; `startFile` forgets them for the next file.
 */
export class LogEncoder {
  private named = new Uint8Array(1024);
  private readonly fresh: number[] = [];

  constructor(private readonly labelsOf: (ref: number) => Labels) {}

  startFile(): void {
    this.named.fill(0);
  }

  /** A batch of samples with the watermark the operator advanced to after it. */
  samples(w: ByteWriter, tenant: string, refs: Uint32Array, ts: Float64Array, values: Float64Array, n: number, watermark: number): void {
    const fresh = this.fresh;
    fresh.length = 0;
    let named = this.named;
    for (let i = 0; i < n; i++) {
      const ref = refs[i];
      if (ref >= named.length) {
        let size = named.length;
        while (size <= ref) size *= 2;
        const grown = new Uint8Array(size);
        grown.set(named);
        this.named = named = grown;
      }
      if (named[ref] === 0) {
        named[ref] = 1;
        fresh.push(ref);
      }
    }
    if (fresh.length > 0) seriesRecord(w, fresh, this.labelsOf);
    record(w, Rec.samples, () => {
      w.string(tenant);
      f64(w, watermark);
      w.uvarint(n);
      for (let i = 0; i < n; i++) w.uvarint(refs[i]);
      f64s(w, ts, n);
      f64s(w, values, n);
    });
  }

  /** Downstream acknowledged pending batch `id`. */
  settled(w: ByteWriter, id: number): void {
    record(w, Rec.settled, () => w.uvarint(id));
  }

  /** A graceful stop closed every open window (`flush_on_stop`). */
  flush(w: ByteWriter): void {
    record(w, Rec.flush, () => {});
  }
}

/** The whole state as a snapshot file; `nextLog` is the generation of the log that follows it. */
export function encodeSnapshot(s: DownsampleSnapshot, nextLog: number, labelsOf: (ref: number) => Labels): Uint8Array {
  const w = new ByteWriter(1 << 16);
  w.bytes(header(FileKind.snapshot));
  let records = 0;
  record(w, Rec.state, () => {
    w.uvarint(s.resolutions.length);
    for (const r of s.resolutions) f64(w, r);
    f64(w, s.watermark);
    w.uvarint(s.nextId);
    w.uvarint(nextLog);
  });
  records++;

  const refs = new Set<number>();
  for (const t of s.tenants) {
    for (const o of t.finest.open) refs.add(o.ref);
    for (const c of t.finest.counters) refs.add(c.ref);
    for (const c of t.coarser) for (const r of c.held) refs.add(r.ref);
  }
  for (const p of s.pending) for (const r of p.rollups) refs.add(r.ref);
  const all = [...refs].sort((a, b) => a - b);
  for (let i = 0; i < all.length; i += 10_000) {
    seriesRecord(w, all.slice(i, i + 10_000), labelsOf);
    records++;
  }

  for (const t of s.tenants) {
    record(w, Rec.tenant, () => {
      w.string(t.tenant);
      f64(w, t.finest.closedBefore);
      w.uvarint(t.finest.open.length);
      for (const o of t.finest.open) {
        f64(w, o.start);
        w.uvarint(o.ref);
        w.uvarint(o.ts.length);
        f64s(w, Float64Array.from(o.ts), o.ts.length);
        f64s(w, Float64Array.from(o.values), o.values.length);
      }
      w.uvarint(t.finest.counters.length);
      for (const c of t.finest.counters) {
        w.uvarint(c.ref);
        f64(w, c.last);
        f64(w, c.counter);
      }
      w.uvarint(t.coarser.length);
      for (const c of t.coarser) {
        f64(w, c.closedBefore);
        w.uvarint(c.held.length);
        for (const r of c.held) rollup(w, r);
      }
    });
    records++;
  }
  for (const p of s.pending) {
    record(w, Rec.pending, () => {
      w.uvarint(p.id);
      w.string(p.tenant);
      f64(w, p.resolutionMs);
      f64(w, p.watermark);
      w.uvarint(p.rollups.length);
      for (const r of p.rollups) rollup(w, r);
    });
    records++;
  }
  record(w, Rec.end, () => w.uvarint(records));
  return w.view().slice();
}

// ---------------------------------------------------------------------------------------------
// Reading

/** Where a file stopped making sense: everything before `offset` was used, nothing after. */
export interface Damage {
  readonly file: string;
  /** Byte offset of the first record not used. */
  readonly offset: number;
  /** Bytes from `offset` to the end of the file. */
  readonly bytesDropped: number;
  readonly reason: string;
}

interface Frame {
  readonly type: number;
  readonly offset: number;
  readonly payload: ByteReader;
}

/**
 * Checks the header and walks the frames of a file, handing each checksum-valid record to
 * `visit`; stops at the first torn, damaged or undecodable record and reports it.
 */
function walk(bytes: Uint8Array, file: string, kind: FileKind, visit: (f: Frame) => void): Damage | undefined {
  const damage = (offset: number, reason: string): Damage => ({ file, offset, bytesDropped: bytes.length - offset, reason });
  if (bytes.length < HEADER_BYTES) return damage(0, `file shorter than its ${HEADER_BYTES}-byte header`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MAGIC[i]) return damage(0, 'not a sluice downsample state file (bad magic)');
  if (bytes[4] !== FORMAT_VERSION) {
    throw new StateFormatError(`${file}: state file format version ${bytes[4]}, this build reads version ${FORMAT_VERSION}; keep the files for a build that reads them or move them away`);
  }
  if (bytes[5] !== kind) return damage(0, `file kind ${bytes[5]} where ${kind} belongs`);
  let pos = HEADER_BYTES;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  while (pos < bytes.length) {
    if (bytes.length - pos < FRAME_HEAD + FRAME_TAIL) return damage(pos, 'torn record (the file ends inside a record header)');
    const type = bytes[pos];
    const length = view.getUint32(pos + 1, true);
    const end = pos + FRAME_HEAD + length;
    if (end + FRAME_TAIL > bytes.length) return damage(pos, `torn record (type ${type}, ${length} payload bytes announced, the file ends first)`);
    if (crc32(bytes.subarray(pos, end)) !== view.getUint32(end, true)) return damage(pos, `checksum mismatch in a record of type ${type}`);
    try {
      visit({ type, offset: pos, payload: new ByteReader(bytes, file, pos + FRAME_HEAD, end) });
    } catch (error) {
      if (error instanceof CorruptDataError || error instanceof RecordError) return damage(pos, error.message);
      throw error;
    }
    pos = end + FRAME_TAIL;
  }
  return undefined;
}

/** A record with a valid checksum whose content does not make sense (treated as damage). */
class RecordError extends Error {
  override readonly name = 'RecordError';
}

function readF64(r: ByteReader): number {
  scratchBytes.set(r.bytes(8));
  return scratch[0];
}

function readF64s(r: ByteReader, n: number): Float64Array {
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(r.bytes(n * 8));
  return out;
}

function readArrayLength(r: ByteReader, bytesEach: number): number {
  const n = r.uvarint();
  if (n * bytesEach > r.remaining) throw new RecordError(`a count of ${n} does not fit the record`);
  return n;
}

/** Maps the refs a file was written with to the reading process's refs. */
class RefMap {
  private readonly refs = new Map<number, number>();
  constructor(private readonly intern: (labels: Labels) => number) {}

  readSeries(r: ByteReader): void {
    const n = readArrayLength(r, 2);
    for (let i = 0; i < n; i++) {
      const ref = r.uvarint();
      const count = readArrayLength(r, 1);
      if (count % 2 !== 0) throw new RecordError(`series ${ref} has an odd number of label strings`);
      const labels: string[] = new Array(count);
      for (let j = 0; j < count; j++) labels[j] = r.string();
      this.refs.set(ref, this.intern(Object.freeze(labels)));
    }
  }

  map(ref: number): number {
    const mapped = this.refs.get(ref);
    if (mapped === undefined) throw new RecordError(`series ref ${ref} used before its SERIES record`);
    return mapped;
  }
}

function readRollup(r: ByteReader, refs: RefMap): Rollup {
  const ref = refs.map(r.uvarint());
  const start = readF64(r);
  const count = r.uvarint();
  return {
    ref,
    start,
    count,
    sum: readF64(r),
    min: readF64(r),
    max: readF64(r),
    counter: readF64(r),
    firstT: readF64(r),
    firstV: readF64(r),
    lastT: readF64(r),
    lastV: readF64(r),
  };
}

export type LogRecord =
  | {
      readonly type: 'samples';
      readonly tenant: string;
      readonly watermark: number;
      readonly refs: Uint32Array;
      readonly ts: Float64Array;
      readonly values: Float64Array;
    }
  | { readonly type: 'settled'; readonly id: number }
  | { readonly type: 'flush' };

export interface DecodedLog {
  readonly records: LogRecord[];
  readonly damage?: Damage;
}

export function decodeLog(bytes: Uint8Array, file: string, intern: (labels: Labels) => number): DecodedLog {
  const refs = new RefMap(intern);
  const records: LogRecord[] = [];
  const damage = walk(bytes, file, FileKind.log, ({ type, payload: r }) => {
    switch (type) {
      case Rec.series:
        refs.readSeries(r);
        break;
      case Rec.samples: {
        const tenant = r.string();
        const watermark = readF64(r);
        const n = readArrayLength(r, 17);
        const ids = new Uint32Array(n);
        for (let i = 0; i < n; i++) ids[i] = refs.map(r.uvarint());
        records.push({ type: 'samples', tenant, watermark, refs: ids, ts: readF64s(r, n), values: readF64s(r, n) });
        break;
      }
      case Rec.settled:
        records.push({ type: 'settled', id: r.uvarint() });
        break;
      case Rec.flush:
        records.push({ type: 'flush' });
        break;
      default:
        throw new RecordError(`unknown record type ${type} in an input log`);
    }
    if (r.remaining !== 0) throw new RecordError(`${r.remaining} stray bytes after a record of type ${type}`);
  });
  return damage ? { records, damage } : { records };
}

export interface DecodedSnapshot {
  /** Undefined when not even the snapshot's first record could be read. */
  readonly snapshot?: DownsampleSnapshot;
  /** Generation of the first input log written after this snapshot. */
  readonly nextLog: number;
  readonly damage?: Damage;
}

export function decodeSnapshot(bytes: Uint8Array, file: string, intern: (labels: Labels) => number): DecodedSnapshot {
  const refs = new RefMap(intern);
  let resolutions: number[] | undefined;
  let watermark = -Infinity;
  let nextId = 1;
  let nextLog = 0;
  let records = 0;
  let ended = false;
  const tenants: TenantSnapshot[] = [];
  const pending: PendingRollups[] = [];
  let damage = walk(bytes, file, FileKind.snapshot, ({ type, payload: r }) => {
    if (ended) throw new RecordError('a record after the END record');
    if (resolutions === undefined && type !== Rec.state) throw new RecordError(`the first record is of type ${type}, not STATE`);
    switch (type) {
      case Rec.state: {
        if (resolutions !== undefined) throw new RecordError('a second STATE record');
        const n = readArrayLength(r, 8);
        resolutions = [];
        for (let i = 0; i < n; i++) resolutions.push(readF64(r));
        watermark = readF64(r);
        nextId = r.uvarint();
        nextLog = r.uvarint();
        break;
      }
      case Rec.series:
        refs.readSeries(r);
        break;
      case Rec.tenant: {
        const tenant = r.string();
        const closedBefore = readF64(r);
        const open: Array<RollupSnapshot['open'][number]> = [];
        const nOpen = readArrayLength(r, 10);
        for (let i = 0; i < nOpen; i++) {
          const start = readF64(r);
          const ref = refs.map(r.uvarint());
          const n = readArrayLength(r, 16);
          open.push({ start, ref, ts: Array.from(readF64s(r, n)), values: Array.from(readF64s(r, n)) });
        }
        const counters: Array<RollupSnapshot['counters'][number]> = [];
        const nCounters = readArrayLength(r, 17);
        for (let i = 0; i < nCounters; i++) counters.push({ ref: refs.map(r.uvarint()), last: readF64(r), counter: readF64(r) });
        const nCoarser = r.uvarint();
        if (nCoarser !== resolutions!.length - 1) throw new RecordError(`tenant ${JSON.stringify(tenant)} has ${nCoarser} coarser levels, the STATE record ${resolutions!.length - 1}`);
        const coarser: CoarseSnapshot[] = [];
        for (let i = 0; i < nCoarser; i++) {
          const cb = readF64(r);
          const n = readArrayLength(r, 74);
          const held: Rollup[] = [];
          for (let j = 0; j < n; j++) held.push(readRollup(r, refs));
          coarser.push({ resolutionMs: resolutions![i + 1], finerMs: resolutions![i], closedBefore: cb, held });
        }
        tenants.push({ tenant, finest: { resolutionMs: resolutions![0], closedBefore, open, counters }, coarser });
        break;
      }
      case Rec.pending: {
        const id = r.uvarint();
        const tenant = r.string();
        const resolutionMs = readF64(r);
        const wm = readF64(r);
        const n = readArrayLength(r, 74);
        const rollups: Rollup[] = [];
        for (let j = 0; j < n; j++) rollups.push(readRollup(r, refs));
        pending.push({ id, tenant, resolutionMs, watermark: wm, rollups });
        break;
      }
      case Rec.end: {
        const n = r.uvarint();
        if (n !== records) throw new RecordError(`END counts ${n} records, the file holds ${records}`);
        ended = true;
        break;
      }
      default:
        throw new RecordError(`unknown record type ${type} in a snapshot`);
    }
    if (r.remaining !== 0) throw new RecordError(`${r.remaining} stray bytes after a record of type ${type}`);
    records++;
  });
  if (!damage && !ended) damage = { file, offset: bytes.length, bytesDropped: 0, reason: 'the snapshot ends without its END record (truncated)' };
  const snapshot = resolutions === undefined ? undefined : { resolutions, watermark, nextId, tenants, pending };
  return { ...(snapshot ? { snapshot } : {}), nextLog, ...(damage ? { damage } : {}) };
}
