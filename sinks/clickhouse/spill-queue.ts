import { mkdir, open, readdir, readFile, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * A durable FIFO of opaque records on local disk: where the ClickHouse sink puts insert blocks
 * while ClickHouse is failing, so they can be acknowledged upstream, and drains them from when
 * ClickHouse answers again. Layout (README.md, "Spill queue"):
 *
 * - segment files `segment-<16-digit sequence>.spill`, each a 16-byte header (magic `SLSPILL\0`,
 *   u32 LE format version 1, u32 LE 0) then records: u32 LE payload length, u32 LE CRC-32 of the
 *   payload, payload. Appends go to the newest segment only (a new one after `segmentBytes`, and
 *   a new one at every open, so a torn tail is never appended to); each append is fsynced before
 *   it resolves.
 * - `cursor`: JSON `{"segment":N,"offset":M}`, the first record not yet drained; replaced by
 *   rename after each drained record, not fsynced: after a crash the queue may hand out a record
 *   again, which the sink tolerates (ClickHouse drops a repeated block by its token).
 *
 * Only record positions are kept in memory; payloads are read back from disk one at a time.
 * A torn or corrupt record (short, bad length, CRC mismatch) ends what is read of its segment: it
 * is reported with file and offset and the rest of that segment is skipped.
 */

export const SPILL_MAGIC = Buffer.from('SLSPILL\0', 'latin1');
export const SPILL_VERSION = 1;
const HEADER_BYTES = 16;
const RECORD_HEADER_BYTES = 8;
/** A length above this is corruption, not a record (the sink's blocks are far smaller). */
const MAX_RECORD_BYTES = 1 << 30;

export interface SpillCorruption {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
}

export interface SpillQueueOptions {
  readonly dir: string;
  /** Bytes of undrained records at which `append` waits. A record larger than this is let in only into an empty queue. */
  readonly maxBytes: number;
  /** Size after which appends move to a new segment. Default 16 MiB. */
  readonly segmentBytes?: number;
  /** Called for every torn or corrupt record found (at open or when reading). */
  readonly onCorrupt?: (c: SpillCorruption) => void;
}

export class SpillQueueError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpillQueueError';
  }
}

interface Entry {
  readonly segment: number;
  readonly offset: number;
  /** Payload bytes (the record adds RECORD_HEADER_BYTES). */
  readonly length: number;
}

/** A record at the head of the queue; `done()` removes it (the sink calls it once the block is in ClickHouse). */
export interface SpillRecord {
  readonly payload: Buffer;
  readonly file: string;
  readonly offset: number;
  done(): Promise<void>;
}

const segmentName = (seq: number) => `segment-${String(seq).padStart(16, '0')}.spill`;

export class SpillQueue {
  private readonly entries: Entry[] = [];
  private undrainedBytes = 0;
  private writeSeq = 0;
  private writeHandle: FileHandle | undefined;
  private writeSize = 0;
  private appendChain: Promise<unknown> = Promise.resolve();
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly recordWaiters: Array<() => void> = [];
  /** Segments holding undrained records (and the write segment), by sequence. */
  private readonly segments = new Set<number>();
  private closed = false;

  private constructor(private readonly options: SpillQueueOptions) {}

  /** Opens (creating) the queue directory and indexes every undrained record in it. */
  static async open(options: SpillQueueOptions): Promise<SpillQueue> {
    const q = new SpillQueue(options);
    await q.load();
    return q;
  }

  /** Bytes of undrained records on disk (record headers included). */
  get bytes(): number {
    return this.undrainedBytes;
  }

  get records(): number {
    return this.entries.length;
  }

  get dir(): string {
    return this.options.dir;
  }

  /**
   * Appends a record and fsyncs it; resolves once it is durable. Waits first while the queue holds
   * `maxBytes` or more (backpressure: nothing is dropped). Appends are written in call order.
   */
  append(payload: Buffer): Promise<void> {
    const size = RECORD_HEADER_BYTES + payload.length;
    if (payload.length > MAX_RECORD_BYTES) return Promise.reject(new SpillQueueError(`a ${payload.length}-byte record is larger than the spill queue takes`));
    const run = async () => {
      while (this.undrainedBytes > 0 && this.undrainedBytes + size > this.options.maxBytes) {
        if (this.closed) throw new SpillQueueError('spill queue closed while waiting for space');
        await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
      }
      if (this.closed) throw new SpillQueueError('spill queue is closed');
      await this.rotateIfNeeded();
      const handle = this.writeHandle!;
      const head = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
      head.writeUInt32LE(payload.length, 0);
      head.writeUInt32LE(crc32(payload), 4);
      const offset = this.writeSize;
      await handle.writev([head, payload], offset);
      await handle.datasync();
      this.writeSize += size;
      this.entries.push({ segment: this.writeSeq, offset, length: payload.length });
      this.undrainedBytes += size;
      for (const w of this.recordWaiters.splice(0)) w();
    };
    const p = this.appendChain.then(run, run);
    this.appendChain = p.catch(() => {});
    return p;
  }

  /** Resolves once the queue holds a record (at once if it does), or the queue is closed. */
  waitForRecord(): Promise<void> {
    if (this.entries.length > 0 || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.recordWaiters.push(resolve));
  }

  /**
   * The oldest undrained record, read from disk, or undefined when the queue is empty. A record
   * that no longer checks out on disk is reported and skipped.
   */
  async head(): Promise<SpillRecord | undefined> {
    while (this.entries.length > 0) {
      const e = this.entries[0];
      const file = join(this.options.dir, segmentName(e.segment));
      const handle = await open(file, 'r');
      let raw: Buffer;
      try {
        raw = Buffer.alloc(RECORD_HEADER_BYTES + e.length);
        const { bytesRead } = await handle.read(raw, 0, raw.length, e.offset);
        if (bytesRead !== raw.length) raw = raw.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
      const payload = raw.subarray(RECORD_HEADER_BYTES);
      const ok = raw.length === RECORD_HEADER_BYTES + e.length && raw.readUInt32LE(0) === e.length && raw.readUInt32LE(4) === crc32(payload);
      if (ok) return { payload, file, offset: e.offset, done: () => this.remove(e) };
      this.options.onCorrupt?.({ file, offset: e.offset, reason: 'record changed on disk since it was written (CRC mismatch or short read)' });
      await this.remove(e);
    }
    return undefined;
  }

  /** Wakes waiters and closes files; undrained records stay on disk for the next open. */
  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.spaceWaiters.splice(0)) w();
    for (const w of this.recordWaiters.splice(0)) w();
    await this.appendChain;
    await this.writeHandle?.close();
    this.writeHandle = undefined;
  }

  private async remove(e: Entry): Promise<void> {
    if (this.entries[0] !== e) throw new Error('bug: spill records must be removed in order');
    this.entries.shift();
    this.undrainedBytes -= RECORD_HEADER_BYTES + e.length;
    const next = this.entries[0];
    const cursor = next ? { segment: next.segment, offset: next.offset } : { segment: this.writeSeq, offset: this.writeSize };
    await this.writeCursor(cursor.segment, cursor.offset);
    // Drop segments every record of which is drained (never the one being appended to).
    for (const seq of [...this.segments]) {
      if (seq < cursor.segment && seq !== this.writeSeq) {
        this.segments.delete(seq);
        await unlink(join(this.options.dir, segmentName(seq))).catch(() => {});
      }
    }
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private async writeCursor(segment: number, offset: number): Promise<void> {
    const tmp = join(this.options.dir, 'cursor.tmp');
    await writeFile(tmp, JSON.stringify({ segment, offset }));
    await rename(tmp, join(this.options.dir, 'cursor'));
  }

  private async rotateIfNeeded(): Promise<void> {
    if (this.writeHandle && this.writeSize < (this.options.segmentBytes ?? 16 << 20)) return;
    await this.writeHandle?.close();
    this.writeSeq++;
    const file = join(this.options.dir, segmentName(this.writeSeq));
    const handle = await open(file, 'wx');
    const header = Buffer.alloc(HEADER_BYTES);
    SPILL_MAGIC.copy(header, 0);
    header.writeUInt32LE(SPILL_VERSION, 8);
    await handle.write(header, 0, HEADER_BYTES, 0);
    await handle.datasync();
    // The new file's directory entry must be durable too, or a crash could lose a synced record.
    const dir = await open(this.options.dir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.writeHandle = handle;
    this.writeSize = HEADER_BYTES;
    this.segments.add(this.writeSeq);
  }

  private async load(): Promise<void> {
    const { dir } = this.options;
    await mkdir(dir, { recursive: true });
    let cursor = { segment: 0, offset: 0 };
    try {
      const parsed = JSON.parse(await readFile(join(dir, 'cursor'), 'utf8')) as { segment?: unknown; offset?: unknown };
      if (Number.isSafeInteger(parsed.segment) && Number.isSafeInteger(parsed.offset)) cursor = { segment: parsed.segment as number, offset: parsed.offset as number };
      else this.options.onCorrupt?.({ file: join(dir, 'cursor'), offset: 0, reason: 'cursor is not {"segment":N,"offset":M}; reading every segment' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.options.onCorrupt?.({ file: join(dir, 'cursor'), offset: 0, reason: `cursor unreadable (${(error as Error).message}); reading every segment` });
      }
    }
    const seqs = (await readdir(dir))
      .map((f) => /^segment-(\d{16})\.spill$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    for (const seq of seqs) {
      this.writeSeq = Math.max(this.writeSeq, seq);
      const file = join(dir, segmentName(seq));
      if (seq < cursor.segment) {
        await unlink(file).catch(() => {});
        continue;
      }
      const from = seq === cursor.segment ? cursor.offset : 0;
      const { found, damaged } = this.scan(file, await readFile(file), seq, from);
      if (found > 0) this.segments.add(seq);
      // A damaged segment with nothing left to drain is kept aside for inspection, not deleted.
      else if (damaged) await rename(file, `${file}.damaged`).catch(() => {});
      else await unlink(file).catch(() => {});
    }
  }

  /** Indexes the records of one segment at or after `from`. */
  private scan(file: string, buf: Buffer, seq: number, from: number): { found: number; damaged: boolean } {
    let damaged = false;
    const report = (offset: number, reason: string) => {
      damaged = true;
      this.options.onCorrupt?.({ file, offset, reason });
    };
    if (buf.length < HEADER_BYTES || !buf.subarray(0, 8).equals(SPILL_MAGIC)) {
      report(0, 'not a sluice spill segment (bad magic); skipped');
      return { found: 0, damaged };
    }
    const version = buf.readUInt32LE(8);
    if (version !== SPILL_VERSION) {
      report(8, `spill format version ${version}, this sluice reads ${SPILL_VERSION}; skipped`);
      return { found: 0, damaged };
    }
    let found = 0;
    let pos = HEADER_BYTES;
    while (pos < buf.length) {
      if (buf.length - pos < RECORD_HEADER_BYTES) {
        report(pos, `torn record header (${buf.length - pos} bytes at the end); the tail is skipped`);
        break;
      }
      const length = buf.readUInt32LE(pos);
      if (length > MAX_RECORD_BYTES || pos + RECORD_HEADER_BYTES + length > buf.length) {
        report(pos, `record of ${length} bytes runs past the end of the file (${buf.length} bytes); the tail is skipped`);
        break;
      }
      const payload = buf.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + length);
      if (crc32(payload) !== buf.readUInt32LE(pos + 4)) {
        report(pos, 'record CRC mismatch; the rest of the segment is skipped');
        break;
      }
      if (pos >= from) {
        this.entries.push({ segment: seq, offset: pos, length });
        this.undrainedBytes += RECORD_HEADER_BYTES + length;
        found++;
      }
      pos += RECORD_HEADER_BYTES + length;
    }
    return { found, damaged };
  }
}
