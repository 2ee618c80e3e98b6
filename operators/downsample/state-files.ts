import { copyFile, mkdir, open, readdir, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Labels } from '../../model/labels.ts';
import { ByteWriter } from '../../sinks/chunks/block/byte-buffer.ts';
import type { DownsampleSnapshot } from './downsample-state.ts';
import { decodeLog, decodeSnapshot, encodeSnapshot, FileKind, header, LogEncoder, type Damage, type LogRecord } from './state-codec.ts';

/**
 * The downsample operator's files in its checkpoint directory (format: state-codec.ts, README.md):
 *
 * - `snapshot`: the whole state as of some input, written to `snapshot.tmp`, fsynced, renamed
 *   over the old one and the directory fsynced, so it is always either the old or the new one;
 * - `log-<generation>`: the inputs since that snapshot, appended and fsynced in group commits.
 *   A snapshot names the generation of the log that follows it; older logs are deleted once it
 *   is durable. Each log file is written by one process only: a restarted operator writes a
 *   snapshot first, then a log of a new generation.
 *
 * Every append gets a sequence number; `onDurable(seq)` reports how far the inputs are durable —
 * in a log fsync or in a snapshot — and the operator acknowledges input batches up to there.
 * I/O runs one operation at a time; appends arriving while one runs join the next, so a burst
 * of batches shares one write and one fsync.
 */

export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  constructor(
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const SNAPSHOT_FILE = 'snapshot';
const SNAPSHOT_TMP = 'snapshot.tmp';
const LOG_PATTERN = /^log-(\d{8})$/;

export function logFileName(gen: number): string {
  return `log-${String(gen).padStart(8, '0')}`;
}

export interface Recovered {
  readonly snapshot?: DownsampleSnapshot;
  /** Inputs logged after the snapshot, in order, ready to replay. */
  readonly records: readonly LogRecord[];
  /** Damage found: each file's good part before it was used, nothing after it. */
  readonly damage: readonly Damage[];
  /** Log files read (their names). */
  readonly logs: readonly string[];
}

export interface CheckpointInfo {
  readonly bytes: number;
  readonly seconds: number;
}

export interface StateFilesHooks {
  /** Every append with a sequence number up to `seq` is durable. */
  onDurable(seq: number): void;
  /** A write failed: what reached the disk is unknown, so the files take no more. */
  onFailure(error: StateFileError): void;
  onCheckpoint?(info: CheckpointInfo): void;
}

interface Chunk {
  readonly gen: number;
  readonly writer: ByteWriter;
  lastSeq: number;
}

interface SnapshotJob {
  readonly gen: number;
  readonly seq: number;
  readonly bytes: Uint8Array;
}

export class StateFiles {
  private seq = 0;
  private durableSeq = 0;
  private gen: number;
  private chunks: Chunk[];
  private job: SnapshotJob | undefined;
  private readonly encoder: LogEncoder;
  private logFile: { gen: number; handle: FileHandle } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private failure: StateFileError | undefined;
  private stopped = false;
  /** Files found damaged at open: kept (renamed `.damaged`) rather than deleted, for inspection. */
  private damaged: string[];
  private bytesThisGen = 0;

  private constructor(
    readonly dir: string,
    firstGen: number,
    damaged: string[],
    private readonly labelsOf: (ref: number) => Labels,
    private readonly hooks: StateFilesHooks,
  ) {
    this.gen = firstGen;
    this.chunks = [{ gen: firstGen, writer: new ByteWriter(1 << 16), lastSeq: 0 }];
    this.damaged = damaged;
    this.encoder = new LogEncoder(labelsOf);
  }

  /**
   * Opens (creating) the directory and reads what a previous run left: the snapshot and the logs
   * after it, interning their series with `intern`. Damage is reported, and the good part of each
   * file is used; a log after a damaged one is not read (it would follow a gap). Nothing is
   * written until the caller's first `checkpoint`, which must come before any append.
   */
  static async open(
    dir: string,
    intern: (labels: Labels) => number,
    labelsOf: (ref: number) => Labels,
    hooks: StateFilesHooks,
  ): Promise<{ files: StateFiles; recovered: Recovered }> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (error) {
      throw new StateFileError(`cannot create the downsample checkpoint directory ${dir}: ${(error as Error).message}`, dir, { cause: error });
    }
    const names = await readdir(dir);
    const damage: Damage[] = [];
    const damagedFiles: string[] = [];
    let snapshot: DownsampleSnapshot | undefined;
    let nextLog = 0;
    if (names.includes(SNAPSHOT_FILE)) {
      const path = join(dir, SNAPSHOT_FILE);
      const decoded = decodeSnapshot(await readAll(path), path, intern);
      snapshot = decoded.snapshot;
      nextLog = decoded.nextLog;
      if (decoded.damage) {
        damage.push(decoded.damage);
        damagedFiles.push(SNAPSHOT_FILE);
      }
    }
    const gens = names
      .map((n) => LOG_PATTERN.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const records: LogRecord[] = [];
    const logs: string[] = [];
    let gap: string | undefined;
    for (const gen of gens) {
      const name = logFileName(gen);
      if (snapshot && gen < nextLog) continue; // covered by the snapshot; deleted at the next checkpoint
      const path = join(dir, name);
      if (gap !== undefined) {
        const size = (await readAll(path)).length;
        damage.push({ file: path, offset: 0, bytesDropped: size, reason: `not replayed: it follows the damaged ${gap}` });
        damagedFiles.push(name);
        continue;
      }
      const decoded = decodeLog(await readAll(path), path, intern);
      records.push(...decoded.records);
      logs.push(name);
      if (decoded.damage) {
        damage.push(decoded.damage);
        damagedFiles.push(name);
        gap = path;
      }
    }
    const firstGen = Math.max(nextLog, (gens.at(-1) ?? 0) + 1, 1);
    const files = new StateFiles(dir, firstGen, damagedFiles, labelsOf, hooks);
    return { files, recovered: { ...(snapshot ? { snapshot } : {}), records, damage, logs } };
  }

  /** Bytes appended to the current log generation (what a restart would replay). */
  get logBytes(): number {
    return this.bytesThisGen;
  }

  logSamples(tenant: string, refs: Uint32Array, ts: Float64Array, values: Float64Array, n: number, watermark: number): number {
    const chunk = this.open();
    const before = chunk.writer.length;
    this.encoder.samples(chunk.writer, tenant, refs, ts, values, n, watermark);
    return this.appended(chunk, before);
  }

  logSettled(id: number): number {
    const chunk = this.open();
    const before = chunk.writer.length;
    this.encoder.settled(chunk.writer, id);
    return this.appended(chunk, before);
  }

  logFlush(): number {
    const chunk = this.open();
    const before = chunk.writer.length;
    this.encoder.flush(chunk.writer);
    return this.appended(chunk, before);
  }

  /**
   * Takes a snapshot of the state as of every append so far (encoded now, written by the next
   * I/O operation) and starts a new log generation for what follows. Returns the sequence number
   * the snapshot covers.
   */
  checkpoint(state: DownsampleSnapshot): number {
    const gen = this.gen + 1;
    const bytes = encodeSnapshot(state, gen, this.labelsOf);
    this.job = { gen, seq: this.seq, bytes };
    this.gen = gen;
    this.chunks.push({ gen, writer: new ByteWriter(1 << 16), lastSeq: this.seq });
    this.encoder.startFile();
    this.bytesThisGen = 0;
    this.sync();
    return this.seq;
  }

  /** Schedules a write + fsync of what was appended (joining one already scheduled). */
  sync(): void {
    if (this.failure || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  /** Resolves once no I/O operation is running or scheduled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Writes what was appended and checkpointed, then closes; nothing may be appended after. */
  async close(): Promise<void> {
    if (!this.failure && !this.stopped && (this.job || this.chunks.some((c) => c.writer.length > 0))) this.sync();
    await this.idle();
    await this.abandon();
  }

  /**
   * Stops all I/O after the operation under way and leaves the files as they are, unflushed
   * appends lost: what a crash leaves behind.
   */
  async abandon(): Promise<void> {
    this.stopped = true;
    await this.idle();
    const handle = this.logFile?.handle;
    this.logFile = undefined;
    await handle?.close();
  }

  private open(): Chunk {
    if (this.failure) throw this.failure;
    if (this.stopped) throw new Error('bug: append to closed downsample state files');
    return this.chunks[this.chunks.length - 1];
  }

  private appended(chunk: Chunk, before: number): number {
    chunk.lastSeq = ++this.seq;
    this.bytesThisGen += chunk.writer.length - before;
    return this.seq;
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        if (this.stopped) break;
        await this.runOnce();
      } while (this.again);
    } catch (error) {
      this.failure =
        error instanceof StateFileError ? error : new StateFileError(`downsample state I/O in ${this.dir} failed: ${(error as Error).message}`, this.dir, { cause: error });
      this.hooks.onFailure(this.failure);
    } finally {
      this.running = undefined;
    }
  }

  private async runOnce(): Promise<void> {
    const job = this.job;
    this.job = undefined;
    const chunks = this.chunks;
    const open = chunks[chunks.length - 1];
    this.chunks = [{ gen: open.gen, writer: new ByteWriter(1 << 16), lastSeq: open.lastSeq }];
    let durable = this.durableSeq;

    if (job) {
      await this.writeSnapshot(job);
      durable = Math.max(durable, job.seq);
    }
    let wrote = false;
    for (const c of chunks) {
      // A later snapshot holds these appends; writing them to a log it already covers is waste.
      if (job && c.gen < job.gen) continue;
      if (c.writer.length === 0) continue;
      const handle = await this.logHandle(c.gen);
      await writeAll(handle, c.writer.view(), join(this.dir, logFileName(c.gen)));
      wrote = true;
      durable = Math.max(durable, c.lastSeq);
    }
    if (wrote) await guard(this.logFile!.handle.datasync(), 'fsyncing', join(this.dir, logFileName(this.logFile!.gen)));
    if (durable > this.durableSeq) {
      this.durableSeq = durable;
      this.hooks.onDurable(durable);
    }
  }

  private async logHandle(gen: number): Promise<FileHandle> {
    if (this.logFile?.gen === gen) return this.logFile.handle;
    if (this.logFile) {
      await this.logFile.handle.close();
      this.logFile = undefined;
    }
    const path = join(this.dir, logFileName(gen));
    const handle = await guard(open(path, 'w'), 'creating', path);
    await writeAll(handle, header(FileKind.log), path);
    this.logFile = { gen, handle };
    return handle;
  }

  private async writeSnapshot(job: SnapshotJob): Promise<void> {
    const started = performance.now();
    const tmp = join(this.dir, SNAPSHOT_TMP);
    const final = join(this.dir, SNAPSHOT_FILE);
    const handle = await guard(open(tmp, 'w'), 'creating', tmp);
    try {
      await writeAll(handle, job.bytes, tmp);
      await guard(handle.datasync(), 'fsyncing', tmp);
    } finally {
      await handle.close();
    }
    // Keep a damaged snapshot for inspection before the new one replaces it.
    if (this.damaged.includes(SNAPSHOT_FILE)) await guard(copyFile(final, `${final}.damaged`), 'copying', final);
    await guard(rename(tmp, final), 'renaming', tmp);
    await fsyncDir(this.dir);
    // The logs this snapshot covers are no longer needed; damaged ones are kept, renamed.
    if (this.logFile && this.logFile.gen < job.gen) {
      await this.logFile.handle.close();
      this.logFile = undefined;
    }
    for (const name of await readdir(this.dir)) {
      const m = LOG_PATTERN.exec(name);
      if (!m || Number(m[1]) >= job.gen) continue;
      const path = join(this.dir, name);
      if (this.damaged.includes(name)) await guard(rename(path, `${path}.damaged`), 'renaming', path);
      else await guard(rm(path, { force: true }), 'deleting', path);
    }
    this.damaged = [];
    this.hooks.onCheckpoint?.({ bytes: job.bytes.length, seconds: (performance.now() - started) / 1000 });
  }
}

/** Writes every byte (a write may take fewer than asked). */
async function writeAll(handle: FileHandle, bytes: Uint8Array, path: string): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await guard(handle.write(bytes, off, bytes.length - off), 'writing', path);
    off += bytesWritten;
  }
}

async function readAll(path: string): Promise<Uint8Array> {
  return guard(readFile(path), 'reading', path);
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await guard(open(dir, 'r'), 'opening', dir);
  try {
    await guard(handle.sync(), 'fsyncing', dir);
  } finally {
    await handle.close();
  }
}

async function guard<T>(op: Promise<T>, doing: string, path: string): Promise<T> {
  try {
    return await op;
  } catch (error) {
    throw new StateFileError(`downsample state: ${doing} ${path} failed: ${(error as Error).message}`, path, { cause: error });
  }
}
