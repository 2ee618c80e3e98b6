import type { SampleBatch } from '../../model/sample-batch.ts';
import type { ComponentContext, SinkComponent, SinkInstance } from '../../pipelines/component.ts';
import { chunksSinkConfig, type ChunksSinkConfig } from '../../schemas/chunks-sink.ts';
import { ChunkStore } from './chunk-store.ts';
import { registerStoreMetrics } from './chunks-metrics.ts';

export const chunksSink: SinkComponent<ChunksSinkConfig> = {
  kind: 'sink',
  accepts: ['samples'],
  type: 'chunks',
  description: 'The recent raw tier: compressed chunks with a WAL, cut into blocks, compacted, kept for a retention period.',
  schema: chunksSinkConfig,
  build: (config, ctx) => new ChunksSink(config, ctx),
};

/**
 * Writes batches into a chunk store. A batch is acknowledged once its samples are in the WAL
 * (durable per `fsync`) and the head. Samples the head refuses are counted as discarded by
 * reason: `duplicate` (same time and value: a redelivery, harmless), `conflict` (same time,
 * other value), `too_old` (behind the out-of-order window or already cut into a block).
 */
class ChunksSink implements SinkInstance {
  private store: ChunkStore | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unregister: (() => void) | undefined;

  constructor(
    private readonly config: ChunksSinkConfig,
    private readonly ctx: ComponentContext,
  ) {}

  /** The open store, for the query API served beside the topology. */
  get queryable(): ChunkStore | undefined {
    return this.store;
  }

  async start(): Promise<void> {
    this.store = await ChunkStore.open(this.config.path, {
      blockDurationMs: this.config.block_duration,
      retentionMs: this.config.retention,
      ...(this.config.retention_size !== undefined ? { retentionBytes: this.config.retention_size } : {}),
      outOfOrderWindowMs: this.config.out_of_order_window,
      fsync: this.config.fsync,
      logger: this.ctx.logger,
    });
    this.unregister = registerStoreMetrics(this.ctx.metrics.registry, this.ctx.name, this.store);
    this.timer = setInterval(() => void this.store?.maintain(), this.config.maintenance_interval);
    this.timer.unref();
  }

  async write(batch: SampleBatch): Promise<void> {
    const store = this.store;
    if (!store) throw new Error('bug: chunks sink written before start');
    const registry = this.ctx.registry;
    if (batch.metadata) store.updateMetadata(batch.metadata);
    const counts = await store.append(batch.refs, (ref) => registry.labels(ref), batch.ts, batch.values, batch.length);
    this.ctx.metrics.discarded('duplicate', counts.duplicate);
    this.ctx.metrics.discarded('conflict', counts.conflict);
    this.ctx.metrics.discarded('too_old', counts.too_old);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.unregister?.();
    await this.store?.close();
  }
}
