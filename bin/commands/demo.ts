import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { DemoPublisher } from '../demo-publisher.ts';

/** `sluice demo`: publishes demo metrics to NATS until interrupted. */
export async function commandDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      url: { type: 'string' },
      tenant: { type: 'string', default: 'demo' },
      instances: { type: 'string', default: '3' },
      interval: { type: 'string', default: '1000' },
    },
  });
  const url = values.url ?? process.env.NATS_URL ?? readLocalUrl() ?? 'nats://127.0.0.1:4222';
  const publisher = await DemoPublisher.connect(url, values.tenant, Number(values.instances));
  publisher.start(Number(values.interval));
  process.stderr.write(`publishing demo metrics to ${url} subject metrics.${values.tenant}.prom; Ctrl-C stops\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await publisher.stop();
  process.stderr.write(`published ${publisher.published} messages\n`);
  return 0;
}

/** The URL of the nats-server a local `sluice run` started, if any. */
function readLocalUrl(): string | undefined {
  try {
    return readFileSync('data/nats.url', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
