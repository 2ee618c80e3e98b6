import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  StorageType,
  jetstream,
  jetstreamManager,
  type Consumer,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface JetStreamBinding {
  readonly stream: string;
  readonly durable: string;
  readonly subject: string;
  readonly create: boolean;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
}

function isNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.status === 404;
}

/**
 * The durable pull consumer a JetStream source reads from. With `create`, a missing stream is
 * made (file storage, so a server restart keeps unacknowledged messages) and so is a missing
 * consumer (explicit acks, `max_deliver` and `ack_wait` as configured). An existing stream must
 * already capture the subject.
 */
export async function bindConsumer(nc: NatsConnection, binding: JetStreamBinding): Promise<Consumer> {
  const jsm = await jetstreamManager(nc);
  try {
    const info = await jsm.streams.info(binding.stream);
    if (!info.config.subjects?.some((s) => subjectCovers(s, binding.subject))) {
      throw new Error(
        `JetStream stream ${binding.stream} does not capture subject ${binding.subject} (it has ${info.config.subjects?.join(', ') || 'no subjects'})`,
      );
    }
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (!binding.create) throw new Error(`JetStream stream ${binding.stream} does not exist (and create: false)`, { cause: error });
    await jsm.streams.add({ name: binding.stream, subjects: [binding.subject], storage: StorageType.File });
  }
  try {
    await jsm.consumers.info(binding.stream, binding.durable);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    if (!binding.create) throw new Error(`JetStream consumer ${binding.durable} does not exist (and create: false)`, { cause: error });
    await jsm.consumers.add(binding.stream, {
      durable_name: binding.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: binding.subject,
      max_deliver: binding.maxDeliver,
      ack_wait: binding.ackWaitMs * 1_000_000,
    });
  }
  return jetstream(nc).consumers.get(binding.stream, binding.durable);
}

/** Whether subject filter `filter` (with `*` and `>` wildcards) matches every subject `subject` matches. */
export function subjectCovers(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return i < s.length;
    if (i >= s.length) return false;
    if (f[i] === '*') {
      if (s[i] === '>') return false;
      continue;
    }
    if (f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}
