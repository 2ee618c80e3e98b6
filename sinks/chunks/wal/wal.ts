import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { appendRecord, ByteWriter, decodeRecord, isRecordType, readFrame, RECORD_HEADER_BYTES, RECORD_OVERHEAD_BYTES, type SamplesRecord, type SeriesEntry, type WalRecord } from './records.ts';

/**
 * The write-ahead log of the chunk store. Byte layout and recovery rules: wal-format.md.
 *
 * Records go into numbered segment files (`00000001`, ...), each starting with an 8-byte header
 * that carries the format version. `log()` encodes synchronously into one reused buffer; a
 * single flusher writes what accumulated and fsyncs per policy, so concurrent `log()` calls share
 * one write and one fsync (group commit). A record never spans segments.
 *
 * Lifecycle: `open` → `replay` (before the first `log`, repairs a torn tail) → `log`... with a
 * `checkpoint` after each block cut → `close`.
 */

export type FsyncPolicy = 'always' | 'batch' | 'never';

export interface WalOptions {
  /** A segment is rolled before a record would take it past this size (default 128 MiB). */
  readonly segmentSize?: number;
  /**
   * - `always`: every `log()` call is written and fsynced on its own;
   * - `batch` (default): calls arriving in the same tick, or while the previous write+fsync is
   *   in flight, are written and fsynced together;
   * - `never`: `log()` resolves once the bytes are handed to the OS.
   */
  readonly fsync?: FsyncPolicy;
  readonly logger?: Logger;
  /**
   * For inspecting a WAL another process may be writing (`sluice tsdb`): replay repairs nothing
   * (a torn tail is reported, not truncated), and `log` and `checkpoint` refuse.
   */
  readonly readOnly?: boolean;
}

/** Damage found while reading the log. Reading never throws for bad bytes; it reports them. */
export interface CorruptionReport {
  /** Path relative to the WAL directory (`00000003`, `checkpoint.00000002/00000001`). */
  readonly file: string;
  readonly segment: number;
  /** Byte offset of the first bad byte's record (the last valid record ends here). */
  readonly offset: number;
  /** Bytes from `offset` to the end of the file that were not served. */
  readonly bytesDropped: number;
  /**
   * Records not served: the damaged one plus the checksum-valid records found after it by
   * following length fields (a lower bound when the damage hit a length); 0 for a torn tail.
   */
  readonly recordsLost: number;
  readonly reason: string;
  /** The file was cut at `offset` (the tail of the last segment), so later opens see it clean. */
  readonly repaired: boolean;
}

export interface ReplayReport {
  /** Index N of the checkpoint read (`checkpoint.N`), or null. */
  readonly checkpoint: number | null;
  /** Segment files read, checkpoint files included. */
  readonly segments: number;
  readonly records: number;
  readonly samples: number;
  readonly bytes: number;
  readonly corruptions: readonly CorruptionReport[];
}

export interface CheckpointKeep {
  /** Whether the head still holds series `ref`; other series (and their samples) are dropped. */
  readonly liveSeries: (ref: number) => boolean;
  /** Samples with ts >= minTime are kept; pass Infinity when every sample is in blocks. */
  readonly minTime: number;
}

export interface CheckpointResult {
  /** The checkpoint written (`checkpoint.N` covers segments <= N), or null when there was nothing to do. */
  readonly index: number | null;
  readonly series: number;
  readonly samples: number;
  readonly bytes: number;
  readonly segmentsDeleted: number;
}

/** Self-metrics of one WAL. */
export interface WalStats {
  /** Segment files on disk (checkpoints not included). */
  readonly segments: number;
  /** Bytes on disk: segments and the checkpoint. */
  readonly bytes: number;
  readonly fsyncs: number;
  readonly recordsWritten: number;
  readonly samplesWritten: number;
  readonly bytesWritten: number;
  readonly corruptions: number;
  readonly checkpoints: number;
  readonly segmentsDeleted: number;
}

export class WalError extends Error {
  override readonly name: string = 'WalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The WAL was closed, or an earlier write failed (the cause): reopen to recover. */
export class WalClosedError extends WalError {
  override readonly name = 'WalClosedError';
}

/** A segment written in a format version this build does not read (not damage: do not repair). */
export class WalVersionError extends WalError {
  override readonly name = 'WalVersionError';
}

export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;

/** Segment header: magic 'SLWL', format version, three reserved zero bytes. */
const MAGIC = 0x4c574c53; // 'SLWL' read as u32le
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 8;

const SEGMENT_NAME = /^\d{8}$/;
const CHECKPOINT_NAME = /^checkpoint\.(\d{8})$/;
const CHECKPOINT_TMP = /^checkpoint\.\d{8}\.tmp$/;
const READ_CHUNK = 4 * 1024 * 1024;
/** Writer capacity kept between flushes; a larger one (after a huge group) is shrunk back. */
const KEEP_CAPACITY = 16 * 1024 * 1024;
/** Records of a checkpoint are regrouped up to this many series / samples. */
const CHECKPOINT_BATCH = 10_000;

export function segmentName(n: number): string {
  return String(n).padStart(8, '0');
}

function checkpointName(n: number): string {
  return `checkpoint.${segmentName(n)}`;
}

function segmentHeader(): Buffer {
  const h = Buffer.alloc(SEGMENT_HEADER_BYTES);
  h.writeUInt32LE(MAGIC, 0);
  h[4] = FORMAT_VERSION;
  return h;
}

interface Commit {
  /** Offset in the group's buffer up to which this call's records reach. */
  readonly end: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** What accumulates between flushes: encoded records, segment cuts, waiting callers. */
interface Group {
  readonly w: ByteWriter;
  /** Offsets in `w` at which a new segment starts, ascending. */
  cuts: number[];
  commits: Commit[];
}

interface DirListing {
  readonly segments: number[];
  readonly checkpoints: number[];
}

export class WriteAheadLog {
  private readonly segmentSize: number;
  private readonly policy: FsyncPolicy;
  private readonly logger: Logger | undefined;
  private readonly readOnly: boolean;

  private active: Group;
  private spare: Group;
  /** The segment the next encoded record goes to, and the bytes it will hold once pending data lands. */
  private encodeSegment: number;
  private encodeFill = SEGMENT_HEADER_BYTES;
  /** Last segment that existed at open: its tail may be torn, and replay repairs it. */
  private readonly tailSegment: number | null;

  private file: FileHandle | null = null;
  private fileSegment: number;
  private filePos = 0;
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private failure: Error | null = null;
  private closed = false;
  private logged = false;
  /** Serializes replay, checkpoint and close. */
  private opChain: Promise<unknown> = Promise.resolve();

  private segmentCount: number;
  private diskBytes: number;
  private fsyncs = 0;
  private recordsWritten = 0;
  private samplesWritten = 0;
  private bytesWritten = 0;
  private corruptions = 0;
  private checkpoints = 0;
  private segmentsDeleted = 0;

  private constructor(
    readonly dir: string,
    options: WalOptions,
    listing: DirListing,
    diskBytes: number,
  ) {
    this.segmentSize = options.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.policy = options.fsync ?? 'batch';
    this.logger = options.logger;
    this.readOnly = options.readOnly === true;
    const last = listing.segments.length > 0 ? listing.segments[listing.segments.length - 1] : 0;
    const lastCheckpoint = listing.checkpoints.length > 0 ? listing.checkpoints[listing.checkpoints.length - 1] : 0;
    this.tailSegment = listing.segments.length > 0 ? last : null;
    // New writes always start a fresh segment: an old one's tail is never appended to.
    this.encodeSegment = Math.max(last, lastCheckpoint) + 1;
    this.fileSegment = this.encodeSegment;
    this.segmentCount = listing.segments.length;
    this.diskBytes = diskBytes;
    this.active = { w: new ByteWriter(1024 * 1024), cuts: [], commits: [] };
    this.spare = { w: new ByteWriter(1024 * 1024), cuts: [], commits: [] };
  }

  static async open(dir: string, options: WalOptions = {}): Promise<WriteAheadLog> {
    if (options.segmentSize !== undefined && !(options.segmentSize >= 4096)) {
      throw new RangeError(`WAL segmentSize must be at least 4096 bytes, got ${options.segmentSize}`);
    }
    if (options.fsync !== undefined && !['always', 'batch', 'never'].includes(options.fsync)) {
      throw new RangeError(`WAL fsync must be always, batch or never, got ${String(options.fsync)}`);
    }
    if (!options.readOnly) await mkdir(dir, { recursive: true });
    // A checkpoint that was being written when the process died: never renamed, so never used.
    for (const name of existsSync(dir) ? await readdir(dir) : []) {
      if (CHECKPOINT_TMP.test(name) && !options.readOnly) await rm(join(dir, name), { recursive: true, force: true });
    }
    const listing = await listDir(dir);
    let bytes = 0;
    for (const s of listing.segments) bytes += (await stat(join(dir, segmentName(s)))).size;
    for (const c of listing.checkpoints) bytes += await dirBytes(join(dir, checkpointName(c)));
    return new WriteAheadLog(dir, options, listing, bytes);
  }

  // ---------------------------------------------------------------- writing

  /**
   * Appends records; resolves once they are durable per the fsync policy. The records are
   * encoded before this returns, so the caller may reuse its arrays right away. Rejects with
   * `RangeError` for a malformed record (nothing of the call is logged) and `WalClosedError`
   * after `close()` or a failed write.
   */
  log(records: readonly WalRecord[]): Promise<void> {
    if (this.readOnly) return Promise.reject(new WalError('this WAL was opened read-only'));
    if (this.closed || this.failure) return Promise.reject(this.closedError());
    const group = this.active;
    const w = group.w;
    const callStart = w.pos;
    const cutsBefore = group.cuts.length;
    const { encodeSegment, encodeFill } = this;
    let samples = 0;
    try {
      for (const record of records) {
        const start = w.pos;
        const n = appendRecord(w, record);
        if (this.encodeFill + n > this.segmentSize && this.encodeFill > SEGMENT_HEADER_BYTES) {
          group.cuts.push(start);
          this.encodeSegment++;
          this.encodeFill = SEGMENT_HEADER_BYTES;
        }
        this.encodeFill += n;
        if (record.kind === 'samples') samples += record.length ?? record.refs.length;
      }
    } catch (err) {
      // Leave no part of a rejected call behind.
      w.pos = callStart;
      group.cuts.length = cutsBefore;
      this.encodeSegment = encodeSegment;
      this.encodeFill = encodeFill;
      return Promise.reject(err);
    }
    if (records.length > 0) this.logged = true;
    this.recordsWritten += records.length;
    this.samplesWritten += samples;
    return new Promise<void>((resolve, reject) => {
      group.commits.push({ end: w.pos, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything logged so far is durable per the policy. */
  sync(): Promise<void> {
    return this.log([]);
  }

  private closedError(): WalClosedError {
    if (this.failure) return new WalClosedError(`WAL ${this.dir}: an earlier write failed; reopen to recover`, { cause: this.failure });
    return new WalClosedError(`WAL ${this.dir} is closed`);
  }

  private schedule(): void {
    if (this.flushing || this.scheduled) return;
    this.scheduled = true;
    // One macrotask of delay gathers every log() call of the current tick into one group.
    setImmediate(() => {
      this.scheduled = false;
      if (!this.flushing) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.active.commits.length > 0 && !this.failure) {
        const group = this.active;
        this.active = this.spare;
        this.spare = group;
        try {
          await this.writeGroup(group);
        } catch (err) {
          this.fail(err as Error, group);
        } finally {
          group.w.reset();
          group.w.shrinkTo(KEEP_CAPACITY);
          group.cuts = [];
          group.commits = [];
        }
      }
    } finally {
      this.flushing = null;
    }
  }

  /** A write or fsync failed: what reached the disk is unknown, so nothing more is accepted. */
  private fail(err: Error, group: Group): void {
    this.failure = err;
    this.logger?.error({ err, dir: this.dir }, 'WAL write failed; the log refuses further writes until reopened');
    const error = this.closedError();
    for (const c of group.commits) c.reject(error);
    for (const c of this.active.commits) c.reject(error);
    this.active.commits = [];
    this.active.cuts = [];
    this.active.w.reset();
  }

  private async writeGroup(group: Group): Promise<void> {
    const { w, cuts, commits } = group;
    const len = w.pos;
    const syncEach = this.policy === 'always';
    let pos = 0;
    let ci = 0;
    let ki = 0;
    while (pos < len || ki < commits.length) {
      const nextCut = ci < cuts.length ? cuts[ci] : Infinity;
      const nextCommit = syncEach && ki < commits.length ? commits[ki].end : len;
      const end = Math.min(nextCut, nextCommit, len);
      if (end > pos) {
        await this.writeBytes(w.buf, pos, end);
        pos = end;
      }
      if (pos === nextCut) {
        await this.closeSegment();
        ci++;
        continue;
      }
      if (this.policy !== 'never' && this.file) {
        await this.file.datasync();
        this.fsyncs++;
      }
      while (ki < commits.length && commits[ki].end <= pos) commits[ki++].resolve();
    }
  }

  private async writeBytes(buf: Buffer, from: number, to: number): Promise<void> {
    if (!this.file) await this.openSegment();
    const file = this.file!;
    while (from < to) {
      const { bytesWritten } = await file.write(buf, from, to - from, this.filePos);
      from += bytesWritten;
      this.filePos += bytesWritten;
      this.bytesWritten += bytesWritten;
      this.diskBytes += bytesWritten;
    }
  }

  private async openSegment(): Promise<void> {
    const name = segmentName(this.fileSegment);
    // 'wx': a segment is only ever created, never reopened for writing.
    const file = await open(join(this.dir, name), 'wx');
    try {
      await file.write(segmentHeader(), 0, SEGMENT_HEADER_BYTES, 0);
      if (this.policy !== 'never') await this.syncDir();
    } catch (err) {
      await file.close();
      throw err;
    }
    this.file = file;
    this.filePos = SEGMENT_HEADER_BYTES;
    this.segmentCount++;
    this.diskBytes += SEGMENT_HEADER_BYTES;
  }

  /** Ends the current segment (fsynced unless the policy is `never`); the next write opens the next one. */
  private async closeSegment(): Promise<void> {
    const file = this.file;
    this.file = null;
    this.fileSegment++;
    if (!file) return;
    try {
      if (this.policy !== 'never') {
        await file.datasync();
        this.fsyncs++;
      }
    } finally {
      await file.close();
    }
  }

  private async syncDir(dir = this.dir): Promise<void> {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
      this.fsyncs++;
    } finally {
      await handle.close();
    }
  }

  // ---------------------------------------------------------------- reading

  /**
   * Feeds every record to `handler`: the latest checkpoint, then the segments after it, in
   * order. Must run before the first `log()`. Bad bytes never throw: a torn or corrupt tail of
   * the last segment is cut off (the segment is truncated at its last valid record), damage
   * elsewhere skips the rest of that file, and both are in the report. An error thrown by the
   * handler ends the replay and is rethrown.
   */
  replay(handler: (record: WalRecord) => void): Promise<ReplayReport> {
    return this.exclusive(async () => {
      if (this.closed) throw this.closedError();
      if (this.logged) throw new WalError('bug: WAL replay() must run before the first log()');
      const listing = await listDir(this.dir);
      const cp = listing.checkpoints.length > 0 ? listing.checkpoints[listing.checkpoints.length - 1] : null;
      const corruptions: CorruptionReport[] = [];
      let records = 0;
      let samples = 0;
      let bytes = 0;
      let files = 0;
      const count = (record: WalRecord): void => {
        records++;
        if (record.kind === 'samples') samples += record.refs.length;
        handler(record);
      };
      if (cp !== null) {
        const cpDir = checkpointName(cp);
        for (const s of await listSegments(join(this.dir, cpDir))) {
          const scan = await scanSegment(join(this.dir, cpDir, segmentName(s)), count);
          files++;
          bytes += scan.validEnd;
          if (scan.corruption) corruptions.push({ ...scan.corruption, file: `${cpDir}/${segmentName(s)}`, segment: s, repaired: false });
        }
      }
      let prev = cp;
      for (const s of listing.segments) {
        if (cp !== null && s <= cp) continue; // already in the checkpoint; deletion was interrupted
        if (prev !== null && s !== prev + 1) {
          corruptions.push({ file: segmentName(s), segment: s, offset: 0, bytesDropped: 0, recordsLost: 0, reason: `segments ${prev + 1}..${s - 1} are missing`, repaired: false });
        }
        prev = s;
        const path = join(this.dir, segmentName(s));
        const scan = await scanSegment(path, count);
        files++;
        bytes += scan.validEnd;
        if (!scan.corruption) continue;
        const isTail = s === this.tailSegment;
        const repair = isTail && !this.readOnly;
        if (repair) await this.repairTail(path, scan.validEnd, scan.fileSize);
        corruptions.push({ ...scan.corruption, file: segmentName(s), segment: s, repaired: repair });
      }
      this.corruptions += corruptions.length;
      for (const c of corruptions) this.logger?.warn({ dir: this.dir, ...c }, c.repaired ? 'WAL tail repaired' : 'WAL corruption');
      return { checkpoint: cp, segments: files, records, samples, bytes, corruptions };
    });
  }

  /** Cuts the last segment at its last valid record (rewriting a damaged header). */
  private async repairTail(path: string, validEnd: number, fileSize: number): Promise<void> {
    if (validEnd < SEGMENT_HEADER_BYTES) {
      const file = await open(path, 'r+');
      try {
        await file.truncate(0);
        await file.write(segmentHeader(), 0, SEGMENT_HEADER_BYTES, 0);
        await file.datasync();
      } finally {
        await file.close();
      }
      validEnd = SEGMENT_HEADER_BYTES;
    } else {
      await truncate(path, validEnd);
      const file = await open(path, 'r+');
      try {
        await file.datasync();
      } finally {
        await file.close();
      }
    }
    this.fsyncs++;
    this.diskBytes += validEnd - fileSize;
  }

  // ---------------------------------------------------------------- checkpoints

  /**
   * Compacts everything logged so far into `checkpoint.N` and deletes segments <= N and older
   * checkpoints, so replay stays bounded. Contract with the head: call it after a block cut,
   * with `liveSeries` true for the series the head still holds and `minTime` the first
   * timestamp not yet persisted in a block (Infinity when all are). The checkpoint keeps the
   * SERIES entries of live series, their samples with ts >= minTime, and deletions of refs that
   * are live again (reused), all in log order. `log()` may run concurrently: the current segment
   * is closed first and later records go to segment N+1. Written to `checkpoint.N.tmp`, fsynced,
   * then renamed, so a crash leaves either the old state or the new one.
   */
  checkpoint(keep: CheckpointKeep): Promise<CheckpointResult> {
    if (this.readOnly) return Promise.reject(new WalError('this WAL was opened read-only'));
    // Close the segment being written now, synchronously, so the cut lands exactly here.
    let n: number;
    if (this.encodeFill > SEGMENT_HEADER_BYTES) {
      this.active.cuts.push(this.active.w.pos);
      n = this.encodeSegment;
      this.encodeSegment++;
      this.encodeFill = SEGMENT_HEADER_BYTES;
    } else {
      n = this.encodeSegment - 1;
    }
    const written = this.log([]);
    return this.exclusive(async () => {
      await written;
      return this.writeCheckpoint(n, keep);
    });
  }

  private async writeCheckpoint(n: number, keep: CheckpointKeep): Promise<CheckpointResult> {
    const listing = await listDir(this.dir);
    const previous = listing.checkpoints.filter((c) => c <= n);
    const prevCp = previous.length > 0 ? previous[previous.length - 1] : null;
    const segments = listing.segments.filter((s) => s <= n && (prevCp === null || s > prevCp));
    if (segments.length === 0) return { index: null, series: 0, samples: 0, bytes: 0, segmentsDeleted: 0 };

    const tmpName = `${checkpointName(n)}.tmp`;
    const tmp = join(this.dir, tmpName);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    const out = new CheckpointWriter(tmp, this.segmentSize);
    const filter = new CheckpointFilter(keep, out);
    const sources: { path: string; file: string; segment: number }[] = [];
    if (prevCp !== null) {
      const cpDir = checkpointName(prevCp);
      for (const s of await listSegments(join(this.dir, cpDir))) sources.push({ path: join(this.dir, cpDir, segmentName(s)), file: `${cpDir}/${segmentName(s)}`, segment: s });
    }
    for (const s of segments) sources.push({ path: join(this.dir, segmentName(s)), file: segmentName(s), segment: s });
    try {
      for (const src of sources) {
        const scan = await scanSegment(src.path, (r) => filter.add(r));
        await out.flushIfLarge();
        if (scan.corruption) {
          this.corruptions++;
          this.logger?.warn({ dir: this.dir, file: src.file, ...scan.corruption }, 'WAL corruption while checkpointing');
        }
      }
      filter.finish();
      await out.finish();
      this.fsyncs += out.fsyncs;
      await this.syncDir(tmp);
      await rename(tmp, join(this.dir, checkpointName(n)));
      await this.syncDir();
    } catch (err) {
      await out.abort();
      await rm(tmp, { recursive: true, force: true });
      throw new WalError(`WAL ${this.dir}: writing ${checkpointName(n)} failed`, { cause: err });
    }
    this.diskBytes += out.bytes;
    this.checkpoints++;

    // The checkpoint is in place: what it covers can go. A crash in between leaves extra
    // files that replay skips and the next checkpoint removes.
    let deleted = 0;
    for (const s of listing.segments.filter((x) => x <= n)) {
      const path = join(this.dir, segmentName(s));
      const size = (await stat(path)).size;
      await unlink(path);
      this.diskBytes -= size;
      this.segmentCount--;
      deleted++;
    }
    for (const c of listing.checkpoints.filter((x) => x < n)) {
      const path = join(this.dir, checkpointName(c));
      this.diskBytes -= await dirBytes(path);
      await rm(path, { recursive: true, force: true });
    }
    await this.syncDir();
    this.segmentsDeleted += deleted;
    this.logger?.info({ dir: this.dir, checkpoint: n, series: filter.series, samples: filter.samples, segmentsDeleted: deleted }, 'WAL checkpoint written');
    return { index: n, series: filter.series, samples: filter.samples, bytes: out.bytes, segmentsDeleted: deleted };
  }

  // ---------------------------------------------------------------- the rest

  /** Waits for pending writes, fsyncs the open segment and closes it. Later `log()` calls reject. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      if (!this.failure) await this.sync().catch(() => undefined);
      this.closed = true;
      while (this.flushing) await this.flushing;
      const file = this.file;
      this.file = null;
      if (file) {
        try {
          if (!this.failure) {
            await file.datasync();
            this.fsyncs++;
          }
        } finally {
          await file.close();
        }
      }
    });
  }

  /** Bytes on disk: segments and checkpoint. */
  size(): number {
    return this.diskBytes;
  }

  stats(): WalStats {
    return {
      segments: this.segmentCount,
      bytes: this.diskBytes,
      fsyncs: this.fsyncs,
      recordsWritten: this.recordsWritten,
      samplesWritten: this.samplesWritten,
      bytesWritten: this.bytesWritten,
      corruptions: this.corruptions,
      checkpoints: this.checkpoints,
      segmentsDeleted: this.segmentsDeleted,
    };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.opChain.then(fn, fn);
    this.opChain = run.catch(() => undefined);
    return run;
  }
}

// ------------------------------------------------------------------ segment reading

interface SegmentScan {
  /** End of the last valid record (or of the header); the file's valid prefix. */
  readonly validEnd: number;
  readonly fileSize: number;
  readonly corruption: Omit<CorruptionReport, 'file' | 'segment' | 'repaired'> | null;
}

/**
 * Reads one segment file in chunks, verifying every frame and handing decoded records to
 * `onRecord`. Stops at the first bad frame; past it, follows length fields only to count the
 * checksum-valid records that are lost.
 */
async function scanSegment(path: string, onRecord: (record: WalRecord) => void): Promise<SegmentScan> {
  const file = await open(path, 'r');
  try {
    const fileSize = (await file.stat()).size;
    let buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(fileSize, SEGMENT_HEADER_BYTES)));
    /** File offset of buf[0]; valid bytes in buf. */
    let base = 0;
    let have = 0;
    const fill = async (): Promise<void> => {
      while (have < buf.length && base + have < fileSize) {
        const { bytesRead } = await file.read(buf, have, buf.length - have, base + have);
        if (bytesRead === 0) break;
        have += bytesRead;
      }
    };
    /** Makes bytes [offset, offset + need) of the file available in buf (offset >= base). */
    const ensure = async (offset: number, need: number): Promise<number> => {
      let at = offset - base;
      if (at + need <= have) return at;
      buf.copy(buf, 0, at, have);
      have -= at;
      base = offset;
      at = 0;
      if (need > buf.length) {
        const bigger = Buffer.allocUnsafe(need);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      await fill();
      return at;
    };

    await fill();
    const lost = (offset: number, reason: string, recordsLost: number): SegmentScan => ({
      validEnd: offset,
      fileSize,
      corruption: { offset, bytesDropped: fileSize - offset, recordsLost, reason },
    });
    if (fileSize < SEGMENT_HEADER_BYTES) return lost(0, fileSize === 0 ? 'empty segment file (torn header)' : 'torn segment header', 0);
    if (buf.readUInt32LE(0) !== MAGIC) return lost(0, 'bad segment header magic', 0);
    if (buf[4] !== FORMAT_VERSION) {
      throw new WalVersionError(`${path}: WAL format version ${buf[4]}; this build reads version ${FORMAT_VERSION}`);
    }

    let offset = SEGMENT_HEADER_BYTES;
    while (offset < fileSize) {
      let at = offset - base;
      let f = readFrame(buf, at, have, Infinity);
      if (!f.ok && f.reason === 'incomplete') {
        if (offset + f.need > fileSize) return lost(offset, 'torn record: ends past the end of the file', 0);
        at = await ensure(offset, f.need);
        f = readFrame(buf, at, have, Infinity);
      }
      if (!f.ok) {
        if (f.reason === 'zero' && (await allZero(file, offset, fileSize))) return lost(offset, 'zero-filled tail', 0);
        return lost(offset, FRAME_PROBLEMS[f.reason], 1 + (await countAfter(file, offset, fileSize)));
      }
      let record: WalRecord;
      try {
        record = decodeRecord(f.type, buf, f.payloadStart, f.payloadEnd);
      } catch (err) {
        return lost(offset, `undecodable record: ${(err as Error).message}`, 1 + (await countAfter(file, offset, fileSize)));
      }
      onRecord(record);
      offset += f.next - at;
    }
    return { validEnd: offset, fileSize, corruption: null };
  } finally {
    await file.close();
  }
}

async function allZero(file: FileHandle, from: number, to: number): Promise<boolean> {
  const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, to - from));
  for (let pos = from; pos < to; ) {
    const { bytesRead } = await file.read(buf, 0, Math.min(buf.length, to - pos), pos);
    if (bytesRead === 0) return false;
    for (let i = 0; i < bytesRead; i++) if (buf[i] !== 0) return false;
    pos += bytesRead;
  }
  return true;
}

/**
 * After a bad frame at `offset`: if its header looks sane (known type, length within the file),
 * skips it and walks on by length fields, counting frames whose checksum holds. Stops at the
 * first implausible header. A count, not a recovery: those records are not served.
 */
async function countAfter(file: FileHandle, offset: number, fileSize: number): Promise<number> {
  let count = 0;
  let pos = offset;
  let frame = Buffer.allocUnsafe(64 * 1024);
  for (let first = true; fileSize - pos >= RECORD_OVERHEAD_BYTES; first = false) {
    await file.read(frame, 0, RECORD_HEADER_BYTES, pos);
    const type = frame[0];
    const total = RECORD_OVERHEAD_BYTES + frame.readUInt32LE(1);
    if (!isRecordType(type) || pos + total > fileSize) break;
    if (!first) {
      if (frame.length < total) frame = Buffer.allocUnsafe(total);
      await file.read(frame, 0, total, pos);
      if (readFrame(frame, 0, total, total).ok) count++;
    }
    pos += total;
  }
  return count;
}

const FRAME_PROBLEMS: Record<string, string> = {
  zero: 'record type 0 (zero bytes) before the end of the file',
  'bad type': 'unknown record type',
  'checksum mismatch': 'checksum mismatch',
  'too large': 'record length too large',
  incomplete: 'record cut short',
};

// ------------------------------------------------------------------ checkpoint writing

/** Filters records into the checkpoint, regrouping what survives into full records. */
class CheckpointFilter {
  series = 0;
  samples = 0;
  private pendingSeries: SeriesEntry[] = [];
  private refs = new Uint32Array(CHECKPOINT_BATCH);
  private ts = new Float64Array(CHECKPOINT_BATCH);
  private values = new Float64Array(CHECKPOINT_BATCH);
  private n = 0;

  constructor(
    private readonly keep: CheckpointKeep,
    private readonly out: CheckpointWriter,
  ) {}

  add(record: WalRecord): void {
    const { liveSeries, minTime } = this.keep;
    switch (record.kind) {
      case 'series':
        for (const s of record.series) {
          if (!liveSeries(s.ref)) continue;
          // Series go ahead of any sample that follows them in the log.
          this.flushSamples();
          this.pendingSeries.push(s);
          this.series++;
          if (this.pendingSeries.length >= CHECKPOINT_BATCH) this.flushSeries();
        }
        break;
      case 'samples': {
        this.flushSeries();
        const { refs, ts, values } = record;
        for (let i = 0; i < refs.length; i++) {
          if (!(ts[i] >= minTime) || !liveSeries(refs[i])) continue;
          const j = this.n++;
          this.refs[j] = refs[i];
          this.ts[j] = ts[i];
          this.values[j] = values[i];
          if (this.n === CHECKPOINT_BATCH) this.flushSamples();
        }
        break;
      }
      case 'deleted_series': {
        // A deletion matters only if the ref is live again (reused by a later SERIES record).
        const live = record.refs.filter((r) => liveSeries(r));
        if (live.length > 0) {
          this.flushSeries();
          this.flushSamples();
          this.out.add({ kind: 'deleted_series', refs: live });
        }
        break;
      }
    }
  }

  finish(): void {
    this.flushSeries();
    this.flushSamples();
  }

  private flushSeries(): void {
    if (this.pendingSeries.length === 0) return;
    this.out.add({ kind: 'series', series: this.pendingSeries });
    this.pendingSeries = [];
  }

  private flushSamples(): void {
    if (this.n === 0) return;
    const record: SamplesRecord = { kind: 'samples', refs: this.refs, ts: this.ts, values: this.values, length: this.n };
    this.out.add(record);
    this.samples += this.n;
    this.n = 0;
  }
}

/** Writes checkpoint records into segment files of the checkpoint's temp directory. */
class CheckpointWriter {
  bytes = 0;
  fsyncs = 0;
  private readonly w = new ByteWriter(1024 * 1024);
  private segment = 0;
  private file: FileHandle | null = null;
  private filePos = 0;

  constructor(
    private readonly dir: string,
    private readonly segmentSize: number,
  ) {}

  /** Encodes a record into the buffer (written out by `flushIfLarge` / `finish`). */
  add(record: WalRecord): void {
    appendRecord(this.w, record);
  }

  async flushIfLarge(): Promise<void> {
    if (this.w.pos >= 4 * 1024 * 1024) await this.flush();
  }

  private async flush(): Promise<void> {
    const w = this.w;
    if (w.pos === 0) return;
    if (!this.file || (this.filePos > SEGMENT_HEADER_BYTES && this.filePos + w.pos > this.segmentSize)) await this.next();
    await writeFully(this.file!, w.buf, 0, w.pos, this.filePos);
    this.filePos += w.pos;
    this.bytes += w.pos;
    w.reset();
  }

  private async next(): Promise<void> {
    await this.closeFile();
    this.segment++;
    this.file = await open(join(this.dir, segmentName(this.segment)), 'wx');
    await writeFully(this.file, segmentHeader(), 0, SEGMENT_HEADER_BYTES, 0);
    this.filePos = SEGMENT_HEADER_BYTES;
    this.bytes += SEGMENT_HEADER_BYTES;
  }

  private async closeFile(): Promise<void> {
    if (!this.file) return;
    const file = this.file;
    this.file = null;
    try {
      await file.sync();
      this.fsyncs++;
    } finally {
      await file.close();
    }
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.closeFile();
  }

  async abort(): Promise<void> {
    const file = this.file;
    this.file = null;
    await file?.close().catch(() => undefined);
  }
}

async function writeFully(file: FileHandle, buf: Buffer, from: number, to: number, position: number): Promise<void> {
  while (from < to) {
    const { bytesWritten } = await file.write(buf, from, to - from, position);
    from += bytesWritten;
    position += bytesWritten;
  }
}

// ------------------------------------------------------------------ directory listing

async function listDir(dir: string): Promise<DirListing> {
  const segments: number[] = [];
  const checkpoints: number[] = [];
  // Only a read-only WAL can lack its directory (a writer creates it): nothing was logged.
  if (!existsSync(dir)) return { segments, checkpoints };
  for (const name of await readdir(dir)) {
    if (SEGMENT_NAME.test(name)) segments.push(Number(name));
    else {
      const m = CHECKPOINT_NAME.exec(name);
      if (m) checkpoints.push(Number(m[1]));
    }
  }
  segments.sort((a, b) => a - b);
  checkpoints.sort((a, b) => a - b);
  return { segments, checkpoints };
}

async function listSegments(dir: string): Promise<number[]> {
  return (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).map(Number).sort((a, b) => a - b);
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}
