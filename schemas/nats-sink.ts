import { z } from 'zod';
import { expositionFormat, natsUrl } from './common.ts';

export const natsSinkConfig = z.strictObject({
  /** Defaults to NATS_URL, else the local nats-server sluice starts. */
  url: natsUrl.optional(),
  /** Subject to publish to; `{tenant}` and `{format}` are replaced per batch. */
  subject: z
    .string()
    .min(1)
    .refine((s) => !/[*>\s]/.test(s), 'a publish subject has no wildcards or spaces'),
  format: expositionFormat.default('prom'),
  /** Publish through JetStream and wait for the stream's acknowledgement (durable), or core NATS + flush. */
  jetstream: z.boolean().default(false),
  /** Samples per message, at most, to stay under the server's max_payload. */
  max_samples_per_message: z.number().int().min(1).default(5_000),
});

export type NatsSinkConfig = z.output<typeof natsSinkConfig>;
