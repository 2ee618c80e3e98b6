import { expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';
import { STREAM, ackFloor, expectStreamStoredOnce, publishStream, runSluice } from '../harness/clickhouse-ingest.ts';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';

/**
 * `sluice run` killed with SIGKILL twice while it ingests (NATS JetStream -> downsample ->
 * clickhouse on embedded chDB), restarted each time, then drained: every raw sample and every
 * closed 5m/1h window is in ClickHouse exactly once, with the aggregates a reference computes
 * from the published samples. What was in flight at a kill is redelivered by JetStream; the
 * operator's checkpoint and the tables' deduplication keep it from counting twice, and the source
 * holds the watermark until that redelivery is back, so no window closes without its samples
 * even though newer messages arrive first. Blocks the sink spilled to disk while inserts were slow
 * are drained before the final clean stop, so ClickHouse alone must hold everything.
 */

const t = natsPerTest();

it('SIGKILL twice mid-ingest, restart, drain: ClickHouse holds every sample and every window exactly once', async () => {
  const dataDir = join(t.nats.dir, 'data');
  const file = join(t.nats.dir, 'topology.yaml');
  writeFileSync(
    file,
    `
data_dir: ${dataDir}
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
    jetstream: { stream: CRASH, durable: d, ack_wait: 2s }
    allowed_lateness: 0s
    max_in_flight: 8
operators:
  rollups:
    type: downsample
    inputs: [ingest]
sinks:
  longterm:
    type: clickhouse
    inputs: [ingest, rollups]
    ttl: { raw: forever, 5m: forever, 1h: forever }
    batch: { max_rows: 200, max_wait: 20ms }
`,
  );
  const jsm = await jetstreamManager(t.nc);
  let sluice = runSluice(t, file);
  await eventually(async () => (await jsm.streams.info('CRASH').then(() => true, () => false)), 'the stream exists', 60_000);
  // The publisher keeps going while sluice is killed and restarted, as services would; its last
  // quarter waits for the second kill, so a slow machine cannot have everything acknowledged before it.
  let killedTwice!: () => void;
  const publishing = publishStream(jetstream(t.nc), 'metrics.acme.prom', { holdAt: (3 * STREAM.scrapes) / 4, until: new Promise<void>((resolve) => (killedTwice = resolve)) });
  // Two kills, each once some but not all of the stream is acknowledged.
  for (const floor of [STREAM.scrapes / 4, STREAM.scrapes / 2]) {
    await eventually(async () => (await ackFloor(jsm, 'CRASH', 'd')) >= floor, `ack floor ${floor}`, 60_000);
    sluice.child.kill('SIGKILL');
    await sluice.exited;
    expect(await ackFloor(jsm, 'CRASH', 'd')).toBeLessThan(STREAM.scrapes);
    sluice = runSluice(t, file);
  }
  killedTwice();
  await publishing;
  await eventually(async () => {
    const info = await jsm.consumers.info('CRASH', 'd');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 'everything acknowledged after the restarts', 90_000);
  sluice.child.kill('SIGTERM');
  expect(await sluice.exited, sluice.log()).toBe(0);

  const client = await openClickHouse('embedded', { dataDir: join(dataDir, 'clickhouse'), logger: pino({ level: 'silent' }) });
  try {
    await expectStreamStoredOnce(client);
  } finally {
    await client.close();
  }
}, 240_000);
