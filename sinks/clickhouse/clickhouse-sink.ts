import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import type { RollupBatch } from '../../model/rollup-batch.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import type { StreamBatch } from '../../model/stream.ts';
import type { ClickHouseData, ComponentContext, SinkComponent, SinkInstance } from '../../pipelines/component.ts';
import { clickhouseSinkConfig, type ClickHouseSinkConfig } from '../../schemas/clickhouse-sink.ts';
import { ClickHouseSinkMetrics } from './clickhouse-metrics.ts';
import { openClickHouse } from './connection.ts';
import { classifyInsertError, InsertTimeoutError, type InsertFailure } from './insert-errors.ts';
import { BlockFormatError, decodeBlock, encodeBlock, RollupBlockBuilder, SampleBlockBuilder, type InsertBlock } from './insert-block.ts';
import { migrate } from './schema/migrate.ts';
import { SpillQueue, type SpillRecord } from './spill-queue.ts';
import { ClickHouseWriteError, ClickHouseWriter, type PreparedBlock } from './writer.ts';

export const clickhouseSink: SinkComponent<ClickHouseSinkConfig, StreamBatch> = {
  kind: 'sink',
  accepts: ['samples', 'rollups'],
  type: 'clickhouse',
  description:
    'The long-term tier: raw samples and 5m/1h rollups into ClickHouse (embedded chDB or a server), batched, deduplicated by insert token, spilled to a local disk queue while ClickHouse fails.',
  schema: clickhouseSinkConfig,
  build: (config, ctx) => new ClickHouseSink(config, ctx),
};

/** What tests (and embedders) may hand the sink instead of letting it open its own connection. */
export interface ClickHouseSinkDeps {
  /** An open client; the sink does not close it. */
  readonly client?: ClickHouseClient;
  /** Jitter source, [0, 1). */
  readonly random?: () => number;
}

/** A batch waiting for the block it went into to become durable. */
interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

interface Pending {
  readonly builder: SampleBlockBuilder | RollupBlockBuilder;
  readonly waiters: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

/** The retries of a block ran out on errors that may pass: the block goes to the spill queue. */
class RetriesExhausted extends Error {
  constructor(cause: unknown) {
    super(`insert failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/**
 * The `clickhouse` sink. Incoming batches are combined per kind (samples; rollups per
 * resolution) into insert blocks of up to `batch.max_rows` rows, flushed at that size or after
 * `batch.max_wait`. A batch's write() resolves when the block holding it is durable:
 *
 * - ClickHouse accepted it (the writer's inserts, retried with exponential backoff and full
 *   jitter, every attempt under the same content-derived deduplication token), or
 * - it was appended and fsynced to the spill queue, which then owns it: when ClickHouse kept
 *   failing, when it is known to be failing (the drain loop is backing off), or when
 *   `batch.max_in_flight` inserts are already under way (so rows held in memory stay bounded).
 *
 * A background loop drains the spill queue in order as soon as ClickHouse answers, each block
 * under the same token as its first attempt (the token is a hash of its rows), so a block
 * ClickHouse had written before the failure reached the sink is dropped at insert, not added
 * twice. When the queue holds `spill.max_bytes`, write() waits: backpressure, never a drop.
 * The delivery argument is written out in README.md.
 */
export class ClickHouseSink implements SinkInstance<StreamBatch> {
  /**
   * Batches the runtime may hand over before the first is acknowledged: they are combined into
   * one block, so this must exceed the number of batches a block usually takes.
   */
  readonly concurrency = 64;

  private client: ClickHouseClient | undefined;
  private ownsClient = false;
  private writer: ClickHouseWriter | undefined;
  private spill: SpillQueue | undefined;
  private readonly metrics: ClickHouseSinkMetrics;
  private unwatch: (() => void) | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly deliveries = new Set<Promise<void>>();
  private inFlight = 0;
  /** Batches in open (not yet flushed) blocks. */
  private waiting = 0;
  /** False while ClickHouse is known to fail (retries ran out and the drain has not succeeded since). */
  private healthy = true;
  /** False until migrate() succeeded (and again after ClickHouse lost the tables). */
  private schemaReady = false;
  private closing = false;
  private drainLoop: Promise<void> | undefined;
  /** Backoff sleeps under way; close() cuts them short. */
  private readonly sleepers = new Set<() => void>();
  private readonly random: () => number;
  private rejectedCount = 0;
  /** Failed drain attempts so far (a planned stop stops waiting for the drain at the next one). */
  private drainFailures = 0;

  constructor(
    private readonly config: ClickHouseSinkConfig,
    private readonly ctx: ComponentContext,
    private readonly deps: ClickHouseSinkDeps = {},
  ) {
    this.metrics = new ClickHouseSinkMetrics(ctx.metrics.registry, ctx.name);
    this.random = deps.random ?? Math.random;
  }

  /** The client and database, for the query API (present once started). */
  get clickhouse(): ClickHouseData | undefined {
    return this.client ? { client: this.client, database: this.config.database } : undefined;
  }

  get spillDir(): string {
    return this.config.spill.path ?? join(this.ctx.dataDir, this.ctx.name, 'spill');
  }

  /** Undrained spill queue size, and inserts under way (for tests and diagnostics). */
  stats(): { spillBytes: number; spillBlocks: number; inFlight: number; healthy: boolean } {
    return { spillBytes: this.spill?.bytes ?? 0, spillBlocks: this.spill?.records ?? 0, inFlight: this.inFlight, healthy: this.healthy };
  }

  async start(): Promise<void> {
    const c = this.config;
    if (this.deps.client) this.client = this.deps.client;
    else {
      const dataDir = c.url === 'embedded' ? (c.data_dir ?? join(this.ctx.dataDir, 'clickhouse')) : undefined;
      if (dataDir) await mkdir(dataDir, { recursive: true });
      this.client = await openClickHouse(c.url, { logger: this.ctx.logger, ...(dataDir ? { dataDir } : {}) });
      this.ownsClient = true;
    }
    this.writer = new ClickHouseWriter(this.client, { database: c.database, raw: c.raw, rollupResolutionsMs: c.rollups });
    this.spill = await SpillQueue.open({
      dir: this.spillDir,
      maxBytes: c.spill.max_bytes,
      onCorrupt: (k) => {
        this.metrics.corrupt();
        this.ctx.logger.error({ file: k.file, offset: k.offset }, `clickhouse sink: spill queue damaged: ${k.reason}`);
      },
    });
    this.unwatch = this.metrics.watchQueue(() => ({ bytes: this.spill?.bytes ?? 0, records: this.spill?.records ?? 0 }));
    if (this.spill.records > 0) this.ctx.logger.info({ blocks: this.spill.records, bytes: this.spill.bytes }, 'clickhouse sink: draining blocks spilled before the restart');
    try {
      await this.ensureSchema();
    } catch (error) {
      const f = classifyInsertError(error);
      if (!f.retryable) throw new ClickHouseWriteError(`clickhouse sink "${this.ctx.name}": cannot create the schema in database ${c.database}: ${(error as Error).message}`, { cause: error });
      // ClickHouse is not answering: start anyway; blocks spill until the drain loop gets the schema in.
      this.healthy = false;
      this.metrics.insertError(f.reason);
      this.ctx.logger.warn({ err: error }, 'clickhouse sink: ClickHouse unavailable at start; spilling until it answers');
    }
    this.drainLoop = this.drain();
  }

  async write(batch: StreamBatch): Promise<void> {
    if (!this.writer || this.closing) throw new Error(`bug: clickhouse sink "${this.ctx.name}" written ${this.closing ? 'after close' : 'before start'}`);
    if (batch.kind === 'samples' && !this.config.raw) {
      this.ctx.metrics.discarded('raw_not_stored', batch.length);
      return;
    }
    if (batch.kind === 'rollups' && !this.config.rollups.includes(batch.resolutionMs)) {
      this.ctx.metrics.error('rollup_resolution');
      const kept = this.config.rollups.map((r) => `${r / 60_000}m`).join(', ') || 'none';
      throw new ClickHouseWriteError(`clickhouse sink "${this.ctx.name}": a rollup batch of resolution ${batch.resolutionMs} ms arrived; this sink stores ${kept} (rollups:)`);
    }
    if (batch.length === 0) return;
    const key = batch.kind === 'samples' ? 'samples' : `rollups:${batch.resolutionMs}`;
    let p = this.pending.get(key);
    if (!p) {
      p = { builder: batch.kind === 'samples' ? new SampleBlockBuilder() : new RollupBlockBuilder(batch.resolutionMs), waiters: [], timer: undefined };
      this.pending.set(key, p);
    }
    const labelsOf = (ref: number) => this.ctx.registry.labels(ref);
    if (p.builder instanceof SampleBlockBuilder) p.builder.append(batch as SampleBatch, labelsOf);
    else p.builder.append(batch as RollupBatch, labelsOf);
    const done = new Promise<void>((resolve, reject) => p.waiters.push({ resolve, reject }));
    this.waiting++;
    if (p.builder.length >= this.config.batch.max_rows) this.flush(key);
    else if (this.waiting >= this.concurrency) {
      // The runtime hands over no more batches until one is acknowledged: waiting for max_wait
      // would only cap throughput at `concurrency` batches per max_wait.
      for (const k of [...this.pending.keys()]) this.flush(k);
    } else p.timer ??= setTimeout(() => this.flush(key), this.config.batch.max_wait);
    return done;
  }

  /** Resolves once nothing is pending, in flight or spilled (tests; a drain before a planned stop). */
  async idle(pollMs = 10): Promise<void> {
    while (this.pending.size > 0 || this.deliveries.size > 0 || (this.spill?.records ?? 0) > 0) {
      for (const key of [...this.pending.keys()]) this.flush(key);
      await Promise.all([...this.deliveries]);
      if ((this.spill?.records ?? 0) > 0) await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  async close(): Promise<void> {
    for (const key of [...this.pending.keys()]) this.flush(key);
    await Promise.allSettled([...this.deliveries]);
    await this.drainBeforeStop();
    this.closing = true;
    for (const wake of this.sleepers) wake();
    await this.spill?.close();
    await this.drainLoop;
    this.unwatch?.();
    if (this.ownsClient) await this.client?.close();
    this.client = undefined;
  }

  /**
   * A planned stop leaves the data where readers look for it: the drain loop gets until
   * `spill.drain_on_stop` to empty the spill queue. A backoff under way is cut short so it tries
   * at once; the first failure after that ends the wait, since ClickHouse is not back. Blocks still
   * queued are durable on disk and drain at the next start; the log says how many.
   */
  private async drainBeforeStop(): Promise<void> {
    const spill = this.spill;
    if (!spill || spill.records === 0) return;
    const deadline = Date.now() + this.config.spill.drain_on_stop;
    const failures = this.drainFailures;
    for (const wake of this.sleepers) wake();
    while (spill.records > 0 && this.drainFailures === failures && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (spill.records > 0) {
      this.ctx.logger.warn(
        { blocks: spill.records, bytes: spill.bytes, clickhouseFailing: this.drainFailures !== failures },
        'clickhouse sink: stopping with blocks in the spill queue; they stay on disk and drain at the next start',
      );
    }
  }

  private flush(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.pending.delete(key);
    this.waiting -= p.waiters.length;
    if (p.timer) clearTimeout(p.timer);
    const block = p.builder instanceof SampleBlockBuilder ? p.builder.build() : p.builder.build();
    const delivery = this.deliver(block).then(
      () => {
        for (const w of p.waiters) w.resolve();
      },
      (error: Error) => {
        for (const w of p.waiters) w.reject(error);
      },
    );
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  /** Makes a block durable: in ClickHouse, or in the spill queue. Rejects only when neither is possible. */
  private async deliver(block: InsertBlock): Promise<void> {
    const prepared = this.writer!.prepare(block);
    if (this.healthy && this.schemaReady && this.inFlight < this.config.batch.max_in_flight) {
      this.inFlight++;
      try {
        await this.insertWithRetries(prepared);
        return;
      } catch (error) {
        if (!(error instanceof RetriesExhausted)) throw error;
      } finally {
        this.inFlight--;
      }
    }
    await this.spill!.append(encodeBlock(block));
    this.metrics.spilled();
  }

  private async insertWithRetries(prepared: PreparedBlock): Promise<void> {
    const { max_attempts } = this.config.retry;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.insertOnce(prepared);
        return;
      } catch (error) {
        const f = this.noteFailure(error);
        if (!f.retryable) throw new ClickHouseWriteError(`clickhouse sink "${this.ctx.name}": ClickHouse refused a block for ${prepared.table}: ${(error as Error).message}`, { cause: error });
        if (attempt >= max_attempts || !this.schemaReady || this.closing) {
          this.healthy = false;
          this.ctx.logger.warn({ err: error, attempts: attempt, table: prepared.table }, 'clickhouse sink: insert failed; spilling the block');
          throw new RetriesExhausted(error);
        }
        this.metrics.retry();
        await this.sleep(this.backoff(attempt));
      }
    }
  }

  /** One insert of a block, bounded by `timeout`; an abandoned attempt may still land (its token covers that). */
  private async insertOnce(prepared: PreparedBlock): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const attempt = this.writer!.write(prepared);
    attempt.catch(() => {});
    const result = await Promise.race([
      attempt,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new InsertTimeoutError(this.config.timeout)), this.config.timeout);
      }),
    ]).finally(() => clearTimeout(timer));
    this.metrics.rowsInserted(result.table, result.rows);
    if (result.series > 0) this.metrics.rowsInserted('sluice_series', result.series);
  }

  private noteFailure(error: unknown): InsertFailure {
    const f = classifyInsertError(error);
    this.metrics.insertError(f.reason);
    if (f.reason === 'unknown_table') {
      this.schemaReady = false;
      this.writer!.forgetSeries();
    }
    return f;
  }

  private async ensureSchema(): Promise<void> {
    const ttl = (ms: number | null) => (ms === null ? null : ms / 1000);
    const t = this.config.ttl;
    await migrate(this.client!, { database: this.config.database, rawTtlSeconds: ttl(t.raw), rollup5mTtlSeconds: ttl(t['5m']), rollup1hTtlSeconds: ttl(t['1h']) });
    this.schemaReady = true;
  }

  /** Drains the spill queue, oldest first, backing off while ClickHouse fails. */
  private async drain(): Promise<void> {
    const spill = this.spill!;
    let failures = 0;
    while (!this.closing) {
      await spill.waitForRecord();
      if (this.closing) break;
      try {
        if (!this.schemaReady) await this.ensureSchema();
        const record = await spill.head();
        if (!record) continue;
        await this.drainOne(record);
        if (failures > 0) this.ctx.logger.info({ blocks: spill.records }, 'clickhouse sink: ClickHouse answers again; draining the spill queue');
        failures = 0;
        this.healthy = true;
      } catch (error) {
        if (this.closing) break;
        failures++;
        this.drainFailures++;
        this.healthy = false;
        if (!(error instanceof RetriesExhausted)) this.noteFailure(error);
        if (failures === 1) {
          this.ctx.logger.warn({ err: error, blocks: spill.records, bytes: spill.bytes }, 'clickhouse sink: ClickHouse is failing; spilled blocks wait, retrying with backoff');
        }
        this.metrics.retry();
        await this.sleep(this.backoff(failures));
      }
    }
  }

  /** Inserts one spilled block and removes it; a block that can never go in is set aside. Throws to back off. */
  private async drainOne(record: SpillRecord): Promise<void> {
    let prepared: PreparedBlock;
    try {
      prepared = this.writer!.prepare(decodeBlock(record.payload));
    } catch (error) {
      if (!(error instanceof BlockFormatError || error instanceof ClickHouseWriteError)) throw error;
      await this.setAside(record, error);
      return;
    }
    try {
      await this.insertOnce(prepared);
    } catch (error) {
      const f = this.noteFailure(error);
      if (f.retryable) throw new RetriesExhausted(error);
      await this.setAside(record, error as Error);
      return;
    }
    await record.done();
    this.metrics.drained();
  }

  /** Keeps a spilled block that can never be inserted in `<spill>/rejected/`, says where, and moves on. */
  private async setAside(record: SpillRecord, error: Error): Promise<void> {
    const dir = join(this.spillDir, 'rejected');
    await mkdir(dir, { recursive: true });
    const file = join(dir, `block-${Date.now()}-${this.rejectedCount++}.bin`);
    await writeFile(file, record.payload);
    this.metrics.corrupt();
    this.ctx.logger.error(
      { err: error, spilled: record.file, offset: record.offset, keptAs: file },
      'clickhouse sink: a spilled block cannot be inserted; set aside and skipped',
    );
    await record.done();
  }

  private backoff(attempt: number): number {
    const { initial_backoff, max_backoff } = this.config.retry;
    return this.random() * Math.min(max_backoff, initial_backoff * 2 ** (attempt - 1));
  }

  private sleep(ms: number): Promise<void> {
    if (this.closing) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }
}
