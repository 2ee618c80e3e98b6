import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { countStaleMarkers, writerFor } from '../../model/exposition/writers/index.ts';
import type { ComponentContext, SinkComponent, SinkInstance } from '../../pipelines/component.ts';
import { natsSinkConfig, type NatsSinkConfig } from '../../schemas/nats-sink.ts';
import { FORMAT_HEADER } from '../../sources/nats/message-routing.ts';

export const natsSink: SinkComponent<NatsSinkConfig> = {
  kind: 'sink',
  accepts: ['samples'],
  type: 'nats',
  description: 'Republishes batches to a NATS subject in a chosen exposition format.',
  schema: natsSinkConfig,
  build: (config, ctx) => new NatsSink(config, ctx),
};

/**
 * Republishes samples. A batch is durable when JetStream acknowledged every message of it (with
 * `jetstream: true`) or, on core NATS, when the server has received them (a flush round trip).
 * Staleness markers have no spelling in the text formats, so they are not written and are
 * counted as discarded.
 */
class NatsSink implements SinkInstance {
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private readonly writer;

  constructor(
    private readonly config: NatsSinkConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.writer = writerFor(config.format);
  }

  async start(): Promise<void> {
    const url = this.config.url ?? (await this.ctx.services.natsUrl());
    this.nc = await connect({ servers: url.split(','), name: `sluice:${this.ctx.name}`, maxReconnectAttempts: -1 });
    if (this.config.jetstream) this.js = jetstream(this.nc);
  }

  async write(batch: SampleBatch): Promise<void> {
    const nc = this.nc;
    if (!nc) throw new Error('bug: nats sink written before start');
    const subject = this.config.subject.replaceAll('{tenant}', batch.tenant).replaceAll('{format}', this.config.format);
    const hdrs = natsHeaders();
    hdrs.set(FORMAT_HEADER, this.config.format);
    hdrs.set('Content-Type', this.writer.contentType);
    const labelsOf = (ref: number) => this.ctx.registry.labels(ref);
    const step = this.config.max_samples_per_message;
    const acks: Array<Promise<unknown>> = [];
    for (let start = 0; start < batch.length; start += step) {
      const end = Math.min(batch.length, start + step);
      const part = {
        refs: batch.refs.subarray(start, end),
        ts: batch.ts.subarray(start, end),
        values: batch.values.subarray(start, end),
        length: end - start,
      };
      const payload = this.writer.write(part, labelsOf, start === 0 ? batch.metadata : undefined);
      if (this.js) acks.push(this.js.publish(subject, payload, { headers: hdrs }));
      else nc.publish(subject, payload, { headers: hdrs });
    }
    if (this.js) await Promise.all(acks);
    else await nc.flush();
    this.ctx.metrics.discarded('stale_marker_unrepresentable', countStaleMarkers(batch));
  }

  async close(): Promise<void> {
    if (this.nc && !this.nc.isClosed()) await this.nc.drain();
  }
}
