import { z } from 'zod';
import { durationMs, expositionFormat, labelMap, natsUrl } from './common.ts';

export const natsJetStreamConfig = z
  .strictObject({
    /** The stream holding the subject; created (file storage) when absent and `create` is set. */
    stream: z.string().regex(/^[^\s.*>]+$/, 'a stream name has no spaces, dots or wildcards'),
    /** The durable pull consumer's name; created when absent. */
    durable: z.string().regex(/^[^\s.*>]+$/, 'a consumer name has no spaces, dots or wildcards'),
    create: z.boolean().default(true),
    /** Deliveries before a message that keeps failing is terminated as poison. */
    max_deliver: z.number().int().min(1).default(5),
    ack_wait: durationMs.default(30_000),
    /** Messages the client asks for ahead of processing (outstanding at most: this plus the in-flight batches' messages). */
    fetch_batch: z.number().int().min(1).max(10_000).default(256),
  });

export const natsSourceConfig = z.strictObject({
  /** Defaults to NATS_URL, else the local nats-server sluice starts. */
  url: natsUrl.optional(),
  /** Subject to read; the convention is `metrics.<tenant>.<format>`. */
  subject: z.string().min(1).default('metrics.>'),
  /** Core NATS queue group (without JetStream), to share a subject among workers. */
  queue: z.string().optional(),
  jetstream: natsJetStreamConfig.optional(),
  /** Payload format for every message; otherwise from the Sluice-Format/Content-Type header or the subject. */
  format: expositionFormat.optional(),
  /** Tenant when the subject does not name one. */
  default_tenant: z.string().min(1).default('default'),
  /** Labels attached to every series (as a scrape attaches target labels). */
  labels: labelMap.default({}),
  exemplars: z.enum(['keep', 'drop']).default('drop'),
  /** Unacknowledged batches allowed before the source stops pulling. */
  max_in_flight: z.number().int().min(1).default(64),
  /** Samples per emitted batch, at most (a batch never splits a message). */
  max_batch_samples: z.number().int().min(1).default(50_000),
  /** Watermark = max event time seen minus this. */
  allowed_lateness: durationMs.default(300_000),
});

export type NatsSourceConfig = z.output<typeof natsSourceConfig>;
