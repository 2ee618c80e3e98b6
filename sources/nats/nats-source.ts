import { Subject, type Observable } from 'rxjs';
import { connect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { Msg } from '@nats-io/nats-core';
import { AckHandle, type AckOutcome } from '../../model/ack.ts';
import { BatchBuilder, maxTimestamp, type SampleBatch } from '../../model/sample-batch.ts';
import type { ComponentContext, SourceComponent, SourceInstance } from '../../pipelines/component.ts';
import { InFlightGate } from '../../pipelines/runtime/in-flight-gate.ts';
import { natsSourceConfig, type NatsSourceConfig } from '../../schemas/nats-source.ts';
import { BatchFlusher } from './batch-flusher.ts';
import { bindConsumer } from './jetstream-setup.ts';
import { PayloadDecoder, type TenantBatch } from './payload-decoder.ts';

export const natsSource: SourceComponent<NatsSourceConfig> = {
  kind: 'source',
  emits: 'samples',
  type: 'nats',
  description: 'Reads exposition payloads from NATS subjects (core or a JetStream durable pull consumer).',
  schema: natsSourceConfig,
  build: (config, ctx) => new NatsSource(config, ctx),
};

/** Messages whose samples share one pending batch, acknowledged together. */
interface PendingBatch extends TenantBatch {
  readonly tenant: string;
  readonly messages: JsMsg[];
}

/**
 * A NATS source. With `jetstream`, it pulls from a durable consumer only while fewer than
 * `max_in_flight` batches are unacknowledged, and acknowledges a message only when every sink on
 * its path made its samples durable; a failed write naks it for redelivery, and a message that
 * keeps failing is terminated after `max_deliver` deliveries and counted as poison. Without
 * `jetstream` it subscribes to core NATS: at-most-once, as core NATS itself is.
 */
class NatsSource implements SourceInstance {
  private readonly batches = new Subject<SampleBatch>();
  readonly output: Observable<SampleBatch> = this.batches.asObservable();
  private readonly gate: InFlightGate;
  private readonly decoder: PayloadDecoder;
  private nc: NatsConnection | undefined;
  private subscription: Subscription | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  /** The pull request under way, ended early when the source stops. */
  private fetching: { stop(): void } | undefined;
  private maxEventTime = -Infinity;
  /**
   * After a restart, messages delivered to the previous run but never acknowledged come back only
   * once their ack wait expires, behind newer messages. Until they are back the watermark is held
   * (batches say -Infinity), so no window downstream closes before its redelivered samples arrive.
   */
  private hold: { untilSeq: number; remaining: number; deadline: number } | undefined;

  constructor(
    private readonly config: NatsSourceConfig,
    private readonly ctx: ComponentContext,
  ) {
    this.gate = new InFlightGate(config.max_in_flight);
    this.decoder = new PayloadDecoder(
      {
        format: config.format,
        defaultTenant: config.default_tenant,
        labels: config.labels,
        exemplars: config.exemplars,
      },
      ctx.registry,
      ctx.metrics,
      ctx.logger,
    );
  }

  async start(): Promise<void> {
    const url = this.config.url ?? (await this.ctx.services.natsUrl());
    const nc = await connect({
      servers: url.split(','),
      name: `sluice:${this.ctx.name}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    this.nc = nc;
    void this.watchStatus(nc);
    this.running = true;
    if (this.config.jetstream) {
      const js = this.config.jetstream;
      const consumer = await bindConsumer(nc, {
        stream: js.stream,
        durable: js.durable,
        subject: this.config.subject,
        create: js.create,
        maxDeliver: js.max_deliver,
        ackWaitMs: js.ack_wait,
      });
      const info = await consumer.info();
      if (info.num_ack_pending > 0) {
        this.hold = { untilSeq: info.delivered.stream_seq, remaining: info.num_ack_pending, deadline: Date.now() + 2 * js.ack_wait + 10_000 };
        this.ctx.logger.info(
          { unacknowledged: info.num_ack_pending, upToSeq: info.delivered.stream_seq, ackWaitMs: js.ack_wait },
          'messages of an earlier run are unacknowledged: the watermark is held until JetStream redelivers them',
        );
      }
      this.loop = this.pullLoop(consumer, js.fetch_batch, js.max_deliver);
    } else {
      this.subscription = nc.subscribe(this.config.subject, this.config.queue ? { queue: this.config.queue } : {});
      this.loop = this.subscribeLoop(this.subscription);
      // A round trip, so the server holds the subscription before start() resolves: core NATS
      // delivers nothing published before then, and "started" should mean "receiving".
      await nc.flush();
    }
    this.ctx.logger.info({ url, subject: this.config.subject, jetstream: !!this.config.jetstream }, 'nats source started');
  }

  async stop(): Promise<void> {
    this.running = false;
    this.fetching?.stop();
    if (this.subscription) await this.subscription.drain().catch(() => {});
    await this.loop;
    this.batches.complete();
  }

  async close(): Promise<void> {
    await this.gate.drained();
    if (this.nc && !this.nc.isClosed()) await this.nc.drain().catch(() => this.nc?.close());
  }

  /**
   * Reads the durable consumer with a continuous pull (`consume`): the client keeps at most
   * `fetch_batch` messages requested ahead, and asks for more only as this loop takes them. Messages
   * are gathered into per-tenant batches; a batch is emitted when it is full or when nothing more
   * is waiting (see BatchFlusher), so batches grow under load and stay prompt when traffic is light.
   * Emitting takes a credit: with `max_in_flight` batches unacknowledged the loop waits, stops
   * taking messages, and JetStream keeps the rest. A batch whose emission fails is never settled
   * (no ack, no nak), so JetStream delivers its messages again after their ack wait.
   */
  private async pullLoop(consumer: Consumer, fetchBatch: number, maxDeliver: number): Promise<void> {
    const pending = new Map<string, PendingBatch>();
    const flusher = this.flusher(async () => {
      for (const batch of [...pending.values()]) {
        pending.delete(batch.tenant);
        await this.gate.acquire();
        this.emit(batch, (outcome) => this.settleJetStream(batch.messages, outcome, maxDeliver));
      }
    });
    while (this.running) {
      try {
        const messages = await consumer.consume({ max_messages: fetchBatch, expires: 30_000 });
        this.fetching = messages;
        if (!this.running) messages.stop();
        for await (const m of messages) {
          if (this.hold && m.redelivered && m.seq <= this.hold.untilSeq && --this.hold.remaining <= 0) this.releaseHold('redelivered');
          const outcome = this.decoder.decode(m.subject, m.headers, m.data, Number(m.timestampNanos / 1_000_000n), (tenant) =>
            this.pendingFor(pending, tenant),
          );
          if (outcome.kind === 'unusable') {
            this.ctx.metrics.error('message_terminated');
            m.term(outcome.reason);
          } else if (outcome.kind === 'empty') {
            m.ack();
          } else {
            pending.get(outcome.tenant)!.messages.push(m);
          }
          let full = false;
          for (const b of pending.values()) if (b.builder.length >= this.config.max_batch_samples) full = true;
          if (full || messages.getPending() === 0) await flusher.flush();
          else if (pending.size > 0) flusher.flushWhenIdle();
        }
      } catch (error) {
        this.ctx.metrics.error('fetch_failed');
        this.ctx.logger.warn({ err: error }, 'JetStream consume failed; retrying');
        await sleep(250);
      } finally {
        this.fetching = undefined;
      }
      await flusher.flush();
    }
  }

  private async subscribeLoop(sub: Subscription): Promise<void> {
    const pending = new Map<string, PendingBatch>();
    const flusher = this.flusher(async () => {
      for (const batch of [...pending.values()]) {
        pending.delete(batch.tenant);
        await this.gate.acquire();
        this.emit(batch, () => {});
      }
    });
    for await (const m of sub as AsyncIterable<Msg>) {
      this.decoder.decode(m.subject, m.headers, m.data, Date.now(), (tenant) => this.pendingFor(pending, tenant));
      // Emit when the subscription has nothing more queued (or a batch is full): batches
      // grow under load and stay small and prompt when traffic is light.
      let full = false;
      for (const b of pending.values()) if (b.builder.length >= this.config.max_batch_samples) full = true;
      if (full || sub.getPending() <= 1) await flusher.flush();
      else if (pending.size > 0) flusher.flushWhenIdle();
    }
    await flusher.flush();
  }

  private flusher(flushOpenBatches: () => Promise<void>): BatchFlusher {
    return new BatchFlusher(flushOpenBatches, (error) => {
      this.ctx.metrics.error('emit_failed');
      this.ctx.logger.error({ err: error }, 'emitting a batch failed');
    });
  }

  private pendingFor(pending: Map<string, PendingBatch>, tenant: string): PendingBatch {
    let batch = pending.get(tenant);
    if (!batch) {
      batch = { tenant, builder: new BatchBuilder(4096), metadata: [], messages: [] };
      pending.set(tenant, batch);
    }
    return batch;
  }

  private emit(pending: PendingBatch, onSettled: (outcome: AckOutcome) => void): void {
    if (pending.builder.length === 0) {
      this.gate.release();
      onSettled({ ok: true });
      return;
    }
    const ack = new AckHandle((outcome) => {
      this.gate.release();
      this.ctx.metrics.setInFlight(this.gate.inFlight);
      onSettled(outcome);
    });
    for (const meta of pending.metadata) this.ctx.metadata.update(meta);
    const provisional = pending.builder.finish({ tenant: pending.tenant, ack, metadata: pending.metadata });
    const newest = maxTimestamp(provisional);
    if (newest > this.maxEventTime) this.maxEventTime = newest;
    if (this.hold && Date.now() >= this.hold.deadline) this.releaseHold('deadline');
    const watermark = this.hold ? -Infinity : this.maxEventTime - this.config.allowed_lateness;
    const batch: SampleBatch = { ...provisional, watermark };
    this.ctx.metrics.setInFlight(this.gate.inFlight);
    this.ctx.metrics.setWatermark(watermark);
    this.ctx.metrics.sent(batch.length);
    this.batches.next(batch);
  }

  private releaseHold(why: 'redelivered' | 'deadline'): void {
    if (why === 'deadline') {
      this.ctx.logger.warn({ missing: this.hold?.remaining }, 'watermark hold ended at its deadline before every earlier message came back');
    } else {
      this.ctx.logger.info('every message of the earlier run is back: the watermark moves again');
    }
    this.hold = undefined;
  }

  private settleJetStream(messages: JsMsg[], outcome: AckOutcome, maxDeliver: number): void {
    for (const m of messages) {
      if (outcome.ok) {
        m.ack();
      } else if (m.info.deliveryCount >= maxDeliver) {
        // Redelivery has not helped max_deliver times: stop the message from blocking the stream.
        this.ctx.metrics.error('poison_message');
        this.ctx.logger.error({ subject: m.subject, seq: m.seq, err: outcome.error }, 'poison message terminated');
        m.term(`sluice: failed ${m.info.deliveryCount} times: ${outcome.error.message}`);
      } else {
        this.ctx.metrics.error('message_redelivery');
        m.nak(Math.min(30_000, 250 * 2 ** (m.info.deliveryCount - 1)));
      }
    }
    if (!outcome.ok) this.ctx.logger.warn({ err: outcome.error, messages: messages.length }, 'sink failed; messages not acknowledged');
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.ctx.logger.warn({ server: status.server }, 'nats disconnected');
      else if (status.type === 'reconnect') this.ctx.logger.info({ server: status.server }, 'nats reconnected');
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
