import { expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';
import { ChdbHttpServer } from '../harness/clickhouse-server.ts';
import { STREAM, ackFloor, countRows, expectStreamStoredOnce, publishStream, runSluice, streamRollups } from '../harness/clickhouse-ingest.ts';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';

/**
 * The ClickHouse server goes away while `sluice run` ingests (NATS JetStream -> downsample ->
 * clickhouse sink over HTTP), twice: once while sluice keeps running, and once with sluice itself
 * SIGKILLed during the outage and started again before the server is back. Blocks ClickHouse does
 * not take go to the sink's spill queue (and are acknowledged upstream from there); when the
 * server answers again they drain. In the end every raw sample and every closed 5m/1h window is
 * in ClickHouse exactly once, with the aggregates a reference computes from what was published.
 *
 * The server is chDB behind ClickHouse's HTTP protocol in a process of its own
 * (test/harness/chdb-http-server.ts), killed with SIGKILL, so inserts in flight at the kill break
 * mid-request and new ones are refused, over the same `@clickhouse/client` HTTP path a ClickHouse
 * server is reached through.
 */

const t = natsPerTest();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('ClickHouse server down twice mid-ingest (once with sluice killed too): every sample and window arrives exactly once', async () => {
  const server = await ChdbHttpServer.start(join(t.nats.dir, 'chdb'));
  t.onCleanup(() => server.kill());
  const file = join(t.nats.dir, 'topology.yaml');
  writeFileSync(
    file,
    `
data_dir: ${join(t.nats.dir, 'data')}
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
    jetstream: { stream: OUTAGE, durable: d, ack_wait: 2s }
    allowed_lateness: 0s
    max_in_flight: 8
operators:
  rollups:
    type: downsample
    inputs: [ingest]
sinks:
  longterm:
    type: clickhouse
    url: ${server.url}
    inputs: [ingest, rollups]
    ttl: { raw: forever, 5m: forever, 1h: forever }
    batch: { max_rows: 200, max_wait: 20ms }
    retry: { max_attempts: 2, initial_backoff: 20ms, max_backoff: 500ms }
    timeout: 5s
`,
  );
  const jsm = await jetstreamManager(t.nc);
  const floor = () => ackFloor(jsm, 'OUTAGE', 'd');
  let sluice = runSluice(t, file);
  await eventually(async () => (await jsm.streams.info('OUTAGE').then(() => true, () => false)), 'the stream exists', 60_000);
  // The last quarter of the stream waits for the second outage, so that outage meets traffic.
  let secondOutageBegun!: () => void;
  const secondOutage = new Promise<void>((resolve) => (secondOutageBegun = resolve));
  const publishing = publishStream(jetstream(t.nc), 'metrics.acme.prom', { holdAt: (3 * STREAM.scrapes) / 4, until: secondOutage });

  // First outage: sluice keeps running; what ClickHouse cannot take is spilled and acknowledged.
  await eventually(async () => (await floor()) >= STREAM.scrapes / 4, 'a quarter acknowledged', 60_000);
  await server.kill();
  const floorAtKill = await floor();
  await eventually(async () => (await floor()) >= floorAtKill + 40, 'ingest goes on while ClickHouse is down', 60_000);
  const logCount = (text: string) => sluice.log().split(text).length - 1;
  const answeredBefore = logCount('ClickHouse answers again');
  await server.start();
  // The sink must be writing to the server again before the second outage: while it still drains
  // the first outage's blocks it spills new ones without trying the server, and the second outage
  // would go unnoticed.
  await eventually(async () => logCount('ClickHouse answers again') > answeredBefore, 'the sink reaches the server again', 60_000);

  // Second outage: sluice is SIGKILLed while the server is down and starts before it is back.
  await eventually(async () => (await floor()) >= STREAM.scrapes / 2, 'half acknowledged', 60_000);
  const spills = () => logCount('spilling the block');
  const spilledBefore = spills();
  await server.kill();
  secondOutageBegun();
  await eventually(async () => spills() > spilledBefore, 'a block spilled in the second outage', 30_000);
  sluice.child.kill('SIGKILL');
  await sluice.exited;
  const firstLog = sluice.log();
  sluice = runSluice(t, file);
  await sleep(2_000);
  await server.start();

  await publishing;
  await eventually(async () => {
    const info = await jsm.consumers.info('OUTAGE', 'd');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 'everything acknowledged', 90_000);

  const client = await openClickHouse(server.url, { logger: pino({ level: 'silent' }) });
  try {
    // The spill queue drains after everything is acknowledged: wait for the last of it.
    await eventually(async () => {
      if ((await countRows(client, 'SELECT count() AS n FROM sluice.sluice_samples_raw FINAL')) < STREAM.scrapes * STREAM.jobs.length) return false;
      for (const [table, want] of streamRollups()) if ((await countRows(client, `SELECT count() AS n FROM sluice.${table} FINAL`)) < want.size) return false;
      return true;
    }, 'the spill queue drained into ClickHouse', 90_000);
    sluice.child.kill('SIGTERM');
    expect(await sluice.exited, sluice.log()).toBe(0);
    await expectStreamStoredOnce(client);
    // The outages were felt: blocks were spilled, and drained once the server was back.
    const logs = firstLog + sluice.log();
    expect(logs).toMatch(/spilling the block|unavailable at start/);
    expect(logs).toMatch(/draining/);
  } finally {
    await client.close();
  }
}, 300_000);
