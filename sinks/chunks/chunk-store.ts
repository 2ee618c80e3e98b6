import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Labels } from '../../model/labels.ts';
import type { MetricMetadata } from '../../model/metadata.ts';
import { Block } from './block/block.ts';
import type { BlockMeta } from './block/block-meta.ts';
import { writeBlock, type BlockSeries } from './block/block-writer.ts';
import { blocksBeyondRetention, compactBlocks, DEFAULT_BLOCK_RANGES, planCompaction } from './block/compaction.ts';
import { isUlid } from './block/ulid.ts';
import { Head, type AppendCounts, type HeadStats } from './head.ts';
import { HeadQuerier } from './head-querier.ts';
import { StoreQuerier } from './store-querier.ts';
import { WriteAheadLog, type ReplayReport, type WalStats } from './wal/wal.ts';
import type { WalRecord } from './wal/records.ts';

export interface ChunkStoreOptions {
  /** Range of a block cut from the head; also the alignment of chunk cuts. Default 2h. */
  readonly blockDurationMs?: number;
  /** Blocks entirely older than this before the newest sample are deleted. */
  readonly retentionMs?: number;
  /** Blocks are deleted, oldest first, while blocks and WAL together exceed this. */
  readonly retentionBytes?: number;
  /** Samples up to this much older than a series' newest are still accepted. Default 0. */
  readonly outOfOrderWindowMs?: number;
  /** WAL fsync policy: every write, group commit (default), or left to the OS. */
  readonly fsync?: 'always' | 'batch' | 'never';
  readonly walSegmentBytes?: number;
  /**
   * Inspect without changing anything (`sluice tsdb`, possibly beside a running sluice): nothing
   * is repaired, cleaned up or moved aside, and appends and maintenance refuse.
   */
  readonly readOnly?: boolean;
  readonly logger: Logger;
}

export interface StoreStats {
  readonly head: HeadStats;
  readonly wal: WalStats;
  readonly blocks: number;
  readonly blockBytes: number;
  readonly blockSamples: number;
  readonly compactions: number;
  readonly blocksCut: number;
  readonly blocksDeletedByRetention: number;
  readonly corruptBlocks: number;
  /** Samples of the WAL replay dropped because their series record was lost to corruption. */
  readonly replayOrphanSamples: number;
}

/**
 * The chunk store: the recent raw tier. Appends go to the write-ahead log first and, once it is
 * durable, into the in-memory head; an append resolves only then, so an acknowledged sample
 * survives a crash (the WAL is replayed on open). Maintenance cuts the head's oldest full block
 * range into an immutable block on disk, truncates the head and checkpoints the WAL, merges
 * blocks into larger ranges, and applies retention by time and size.
 *
 * Layout: `<dir>/wal/` (wal-format.md) and `<dir>/blocks/<ULID>/` (block/block-format.md).
 */
export class ChunkStore {
  private blocks: Block[] = [];
  /** Process series ref (SeriesRegistry) -> head series id, -1 when not resolved yet. */
  private idByRef = new Int32Array(1024).fill(-1);
  /** 1 where the head series' SERIES record has been handed to the WAL. */
  private logged = new Uint8Array(1024);
  private maintaining: Promise<void> = Promise.resolve();
  private closed = false;
  /** Latest metadata per metric family, persisted to metadata.json by maintenance when changed. */
  private readonly metadataByFamily = new Map<string, MetricMetadata>();
  private metadataDirty = false;
  private counters = { compactions: 0, blocksCut: 0, blocksDeletedByRetention: 0, corruptBlocks: 0, replayOrphanSamples: 0 };
  readonly blockDurationMs: number;

  private constructor(
    readonly dir: string,
    private readonly options: ChunkStoreOptions,
    readonly head: Head,
    private readonly wal: WriteAheadLog,
    readonly replay: ReplayReport,
  ) {
    this.blockDurationMs = options.blockDurationMs ?? DEFAULT_BLOCK_RANGES[0];
  }

  static async open(dir: string, options: ChunkStoreOptions): Promise<ChunkStore> {
    const log = options.logger;
    const blocksDir = join(dir, 'blocks');
    const readOnly = options.readOnly === true;
    if (!readOnly) await mkdir(blocksDir, { recursive: true });
    const blockDurationMs = options.blockDurationMs ?? DEFAULT_BLOCK_RANGES[0];
    const head = new Head({ chunkRange: blockDurationMs, outOfOrderWindowMs: options.outOfOrderWindowMs ?? 0 });
    const wal = await WriteAheadLog.open(join(dir, 'wal'), {
      fsync: options.fsync ?? 'batch',
      logger: log,
      readOnly,
      ...(options.walSegmentBytes ? { segmentSize: options.walSegmentBytes } : {}),
    });
    const restored: number[] = [];
    let orphans = 0;
    const replay = await wal.replay((record) => {
      if (record.kind === 'series') {
        for (const s of record.series) {
          head.restoreSeries(s.ref, s.labels);
          restored.push(s.ref);
        }
      } else if (record.kind === 'samples') {
        orphans += appendKnown(head, record);
      }
      // deleted_series: the series was emptied by a truncation; the truncation after replay
      // (below, to the newest block's end) empties and removes it again.
    });
    for (const c of replay.corruptions) {
      log.error({ ...c }, 'WAL corruption found and repaired; data after it in that file is lost');
    }
    if (orphans > 0) log.error({ samples: orphans }, 'WAL samples whose series record was lost were dropped');
    const store = new ChunkStore(dir, options, head, wal, replay);
    store.counters.replayOrphanSamples = orphans;
    await store.loadMetadata();
    for (const id of restored) store.markLogged(id);
    await store.openBlocks(blocksDir);
    const newestBlockEnd = Math.max(-Infinity, ...store.blocks.map((b) => b.meta.maxTime));
    if (Number.isFinite(newestBlockEnd)) head.truncateBefore(newestBlockEnd);
    log.info(
      {
        dir,
        blocks: store.blocks.length,
        headSeries: head.stats().series,
        replayedSamples: replay.samples,
        replayedRecords: replay.records,
      },
      'chunk store opened',
    );
    return store;
  }

  /**
   * Appends samples named by process series refs; `labelsOf` gives a ref's labels the first time
   * it is seen. Resolves with the outcome counts once the samples are in the WAL (durable per the
   * fsync policy) and in the head.
   */
  async append(
    refs: Uint32Array,
    labelsOf: (ref: number) => Labels,
    ts: Float64Array,
    values: Float64Array,
    length: number,
  ): Promise<AppendCounts> {
    if (this.closed) throw new Error('chunk store is closed');
    if (this.options.readOnly) throw new Error('chunk store was opened read-only');
    const ids = new Uint32Array(length);
    let newSeries: Array<{ ref: number; labels: Labels }> | undefined;
    for (let i = 0; i < length; i++) {
      const ref = refs[i];
      if (ref >= this.idByRef.length) this.idByRef = grow(this.idByRef, ref + 1, -1);
      let id = this.idByRef[ref];
      if (id < 0) {
        id = this.head.getOrCreate(labelsOf(ref)).id;
        this.idByRef[ref] = id;
      }
      if (id >= this.logged.length) this.logged = grow(this.logged, id + 1, 0);
      if (this.logged[id] === 0) {
        // Marked before the write so a concurrent append does not log the series twice; the WAL
        // keeps call order, so that append's samples land after this record.
        this.logged[id] = 1;
        (newSeries ??= []).push({ ref: id, labels: this.head.labelsOf(id) });
      }
      ids[i] = id;
    }
    const records: WalRecord[] = [];
    if (newSeries) records.push({ kind: 'series', series: newSeries });
    records.push({ kind: 'samples', refs: ids, ts, values, length });
    try {
      await this.wal.log(records);
    } catch (error) {
      if (newSeries) for (const s of newSeries) this.logged[s.ref] = 0;
      throw error;
    }
    return this.head.appendBatch(ids, ts, values, length);
  }

  /** Records metric metadata (`# TYPE`, `# HELP`, `# UNIT`) announced with ingested samples. */
  updateMetadata(metadata: readonly MetricMetadata[]): void {
    for (const m of metadata) {
      const old = this.metadataByFamily.get(m.family);
      if (old && old.type === m.type && old.help === m.help && old.unit === m.unit) continue;
      this.metadataByFamily.set(m.family, m);
      this.metadataDirty = true;
    }
  }

  /** Metadata of one family, or of every family, sorted by family name. */
  metadata(family?: string): MetricMetadata[] {
    if (family !== undefined) {
      const m = this.metadataByFamily.get(family);
      return m ? [m] : [];
    }
    return [...this.metadataByFamily.values()].sort((a, b) => (a.family < b.family ? -1 : a.family > b.family ? 1 : 0));
  }

  /**
   * The oldest sample time the store holds (Infinity when empty): where a query router hands
   * older steps to the long-term tier. O(head series).
   */
  minTime(): number {
    let t = this.head.minTime();
    for (const b of this.blocks) if (b.meta.minTime < t) t = b.meta.minTime;
    return t;
  }

  /** A querier over the head and the blocks overlapping [mint, maxt]; close it when done. */
  querier(mint: number, maxt: number): StoreQuerier {
    const held = this.blocks.filter((b) => b.overlaps(mint, maxt) && b.acquire());
    return new StoreQuerier(new HeadQuerier(this.head), held, (block, error) => {
      this.counters.corruptBlocks++;
      this.options.logger.error({ block: block.ulid, err: error }, 'block is damaged; queries leave it out');
    });
  }

  /** Runs one round of maintenance (cut, compact, retention) after any already under way. */
  maintain(): Promise<void> {
    const run = this.maintaining.then(() => (this.closed || this.options.readOnly ? undefined : this.maintainOnce()));
    this.maintaining = run.catch((error: unknown) => {
      this.options.logger.error({ err: error }, 'chunk store maintenance failed; will retry');
    });
    return run;
  }

  stats(): StoreStats {
    let blockBytes = 0;
    let blockSamples = 0;
    for (const b of this.blocks) {
      blockBytes += b.sizeBytes;
      blockSamples += b.meta.stats.numSamples;
    }
    return {
      head: this.head.stats(),
      wal: this.wal.stats(),
      blocks: this.blocks.length,
      blockBytes,
      blockSamples,
      ...this.counters,
    };
  }

  /** Every distinct label set the store holds (head and blocks), for inspection. */
  allSeriesLabels(): Labels[] {
    const seen = new Map<string, Labels>();
    for (const b of this.blocks) for (const s of b.index.series) seen.set(s.labels.join('\u0000'), s.labels);
    for (const id of this.head.seriesIds()) {
      const labels = this.head.labelsOf(id);
      seen.set(labels.join('\u0000'), labels);
    }
    return [...seen.values()];
  }

  blockMetas(): BlockMeta[] {
    return this.blocks.map((b) => b.meta);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.maintaining;
    if (!this.options.readOnly) await this.saveMetadata();
    await this.wal.close();
    await Promise.all(this.blocks.map((b) => b.close()));
    this.blocks = [];
  }

  /**
   * Writes everything in the head into blocks now, whether or not a range is complete, then
   * compacts: what a shutdown for good or a storage benchmark wants (later samples older than the
   * flushed ones are refused as too old).
   */
  flushHead(): Promise<void> {
    const run = this.maintaining.then(async () => {
      if (this.closed || this.options.readOnly) return;
      const minT = this.head.minTime();
      if (minT === Infinity) return;
      const end = this.head.maxTime() + 1;
      for (let mint = Math.floor(minT / this.blockDurationMs) * this.blockDurationMs; mint < end; mint += this.blockDurationMs) {
        await this.cutRange(mint, Math.min(mint + this.blockDurationMs, end));
      }
      await this.compact();
      await this.applyRetention();
    });
    this.maintaining = run.catch(() => undefined);
    return run;
  }

  private async maintainOnce(): Promise<void> {
    await this.saveMetadata();
    await this.cutBlocks();
    await this.compact();
    await this.applyRetention();
  }

  /** Writes every head range that is ready into a block, then truncates the head and the WAL. */
  private async cutBlocks(): Promise<void> {
    for (let range = this.head.cutReady(this.blockDurationMs); range; range = this.head.cutReady(this.blockDurationMs)) {
      await this.cutRange(range.mint, range.maxt);
    }
  }

  /** Writes the head's samples in [mint, maxt) into a block, then truncates head and WAL to maxt. */
  private async cutRange(mint: number, maxt: number): Promise<void> {
    const series: BlockSeries[] = [];
    this.head.forEachSeriesInRange(mint, maxt, (_id, labels, ts, values, n) => {
      series.push({ labels, ts: ts.slice(0, n), values: values.slice(0, n), length: n });
    });
    if (series.length > 0) {
      const meta = await writeBlock(join(this.dir, 'blocks'), series, { minTime: mint, maxTime: maxt });
      this.blocks = [...this.blocks, await Block.open(join(this.dir, 'blocks', meta.ulid))];
      this.counters.blocksCut++;
      this.options.logger.info({ block: meta.ulid, ...meta.stats, minTime: meta.minTime, maxTime: meta.maxTime }, 'block cut from the head');
    }
    const removed = this.head.truncateBefore(maxt);
    if (removed.length > 0) {
      // The head never reuses an id, but the ref -> id cache must not point at removed ones.
      this.idByRef.fill(-1);
      for (const id of removed) this.logged[id] = 0;
      await this.wal.log([{ kind: 'deleted_series', refs: removed }]);
    }
    await this.wal.checkpoint({ liveSeries: (id) => this.head.has(id), minTime: maxt });
  }

  private async compact(): Promise<void> {
    // Merged blocks stay at most a tenth of the retention long, so retention can still remove
    // old data block by block instead of keeping a huge block alive for its newest sample.
    const maxRange = this.options.retentionMs === undefined ? Infinity : this.options.retentionMs / 10;
    const ranges = [
      this.blockDurationMs,
      ...DEFAULT_BLOCK_RANGES.slice(1).filter((r) => r > this.blockDurationMs && r % this.blockDurationMs === 0 && r <= maxRange),
    ];
    for (;;) {
      const plan = planCompaction(this.blocks.map((b) => b.meta), ranges, this.head.minTime());
      if (!plan) return;
      const chosen = this.blocks.filter((b) => plan.includes(b.meta));
      for (const b of chosen) b.acquire();
      let meta: BlockMeta;
      try {
        meta = await compactBlocks(join(this.dir, 'blocks'), chosen);
      } finally {
        for (const b of chosen) b.release();
      }
      const merged = await Block.open(join(this.dir, 'blocks', meta.ulid));
      this.blocks = [...this.blocks.filter((b) => !chosen.includes(b)), merged].sort((a, b) => a.meta.minTime - b.meta.minTime);
      for (const b of chosen) await b.markDeleted();
      this.counters.compactions++;
      this.options.logger.info({ block: meta.ulid, sources: chosen.map((b) => b.ulid), ...meta.stats }, 'blocks compacted');
    }
  }

  private async applyRetention(): Promise<void> {
    const { retentionMs, retentionBytes } = this.options;
    if (retentionMs === undefined && retentionBytes === undefined) return;
    const newest = Math.max(this.head.maxTime(), ...this.blocks.map((b) => b.meta.maxTime - 1));
    const doomed = blocksBeyondRetention(
      this.blocks.map((b) => b.meta),
      { timeMs: retentionMs, maxBytes: retentionBytes, otherBytes: this.wal.size() },
      newest,
    );
    if (doomed.length === 0) return;
    const gone = this.blocks.filter((b) => doomed.includes(b.meta));
    this.blocks = this.blocks.filter((b) => !doomed.includes(b.meta));
    for (const b of gone) {
      await b.markDeleted();
      this.counters.blocksDeletedByRetention++;
      this.options.logger.info({ block: b.ulid, minTime: b.meta.minTime, maxTime: b.meta.maxTime }, 'block deleted by retention');
    }
  }

  /** Opens every complete block; removes leftovers of interrupted writes and deletions. */
  private async openBlocks(blocksDir: string): Promise<void> {
    const readOnly = this.options.readOnly === true;
    const names = readOnly ? await readdir(blocksDir).catch(() => [] as string[]) : await readdir(blocksDir);
    for (const name of names.sort()) {
      const path = join(blocksDir, name);
      if (name.endsWith('.tmp') || name.endsWith('.deleted')) {
        if (!readOnly) await rm(path, { recursive: true, force: true });
        continue;
      }
      if (!isUlid(name)) continue;
      try {
        this.blocks.push(await Block.open(path));
      } catch (error) {
        // Kept for inspection under another name, and out of the way of every later start.
        this.counters.corruptBlocks++;
        if (readOnly) {
          this.options.logger.error({ block: name, err: error }, 'block is damaged; not served');
          continue;
        }
        this.options.logger.error({ block: name, err: error }, 'block is damaged; moved aside as .corrupt and not served');
        await rename(path, `${path}.corrupt`).catch(() => {});
      }
    }
    this.blocks.sort((a, b) => a.meta.minTime - b.meta.minTime);
  }

  /**
   * metadata.json: `[{family, type, help, unit}]`. Metadata is descriptive, not data: losing the
   * latest change in a crash only means the next payload that announces it writes it again.
   */
  private async saveMetadata(): Promise<void> {
    if (!this.metadataDirty) return;
    this.metadataDirty = false;
    const path = join(this.dir, 'metadata.json');
    await writeFile(`${path}.tmp`, `${JSON.stringify(this.metadata())}\n`);
    await rename(`${path}.tmp`, path);
  }

  private async loadMetadata(): Promise<void> {
    let text: string;
    try {
      text = await readFile(join(this.dir, 'metadata.json'), 'utf8');
    } catch {
      return; // none yet
    }
    try {
      for (const m of JSON.parse(text) as MetricMetadata[]) this.metadataByFamily.set(m.family, m);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'metadata.json is damaged; metric metadata starts empty');
    }
  }

  private markLogged(id: number): void {
    if (id >= this.logged.length) this.logged = grow(this.logged, id + 1, 0);
    this.logged[id] = 1;
  }
}

/** Appends a replayed SAMPLES record, skipping samples of series the head does not know. */
function appendKnown(head: Head, record: Extract<WalRecord, { kind: 'samples' }>): number {
  const n = record.length ?? record.refs.length;
  let unknown = 0;
  for (let i = 0; i < n; i++) if (!head.has(record.refs[i])) unknown++;
  if (unknown === 0) {
    head.appendBatch(record.refs, record.ts, record.values, n);
    return 0;
  }
  const refs = new Uint32Array(n - unknown);
  const ts = new Float64Array(n - unknown);
  const values = new Float64Array(n - unknown);
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (!head.has(record.refs[i])) continue;
    refs[k] = record.refs[i];
    ts[k] = record.ts[i];
    values[k] = record.values[i];
    k++;
  }
  head.appendBatch(refs, ts, values, k);
  return unknown;
}

function grow<T extends Int32Array | Uint8Array>(array: T, min: number, fill: number): T {
  let size = array.length * 2;
  while (size < min) size *= 2;
  const next = new (array.constructor as new (n: number) => T)(size);
  next.fill(fill);
  next.set(array);
  return next;
}

