import { expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';
import { ChdbHttpServer } from '../harness/clickhouse-server.ts';
import { RollupWindows } from '../../operators/downsample/rollup-state.ts';
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

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000);
const STEP = 15_000;
const SCRAPES = 2 * 240 + 40;
const JOBS = ['api', 'db', 'web'];

const valueOf = (job: number, k: number) => (k < 250 ? k : k - 250) * (job + 1); // a counter with a reset

const t = natsPerTest();

function run(file: string): { child: ChildProcess; exited: Promise<number | null>; log: () => string } {
  let log = '';
  const c = spawn(join(ROOT, 'bin/sluice'), ['run', file], { cwd: ROOT, env: { ...process.env, NATS_URL: t.nats.server.url, SLUICE_LOG_FORMAT: 'json' }, stdio: ['ignore', 'ignore', 'pipe'] });
  t.onCleanup(() => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'));
  c.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)));
  return { child: c, exited, log: () => log };
}

async function ackFloor(jsm: JetStreamManager): Promise<number> {
  try {
    return (await jsm.consumers.info('OUTAGE', 'd')).ack_floor.stream_seq;
  } catch {
    return 0; // not created yet
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('ClickHouse server down twice mid-ingest (once with sluice killed too): every sample and window arrives exactly once', async () => {
  const server = await ChdbHttpServer.start(join(t.nats.dir, 'chdb'));
  t.onCleanup(() => server.kill());
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
  const js = jetstream(t.nc);
  let sluice = run(file);
  await eventually(async () => (await jsm.streams.info('OUTAGE').then(() => true, () => false)), 'the stream exists', 60_000);
  const publishing = (async () => {
    for (let k = 0; k < SCRAPES; k++) {
      const ts = T0 + k * STEP;
      await js.publish('metrics.acme.prom', JOBS.map((job, j) => `c_total{job="${job}"} ${valueOf(j, k)} ${ts}\n`).join(''));
      if (k % 2 === 1) await sleep(25);
    }
  })();

  // First outage: sluice keeps running; what ClickHouse cannot take is spilled and acknowledged.
  await eventually(async () => (await ackFloor(jsm)) >= SCRAPES / 4, 'a quarter acknowledged', 60_000);
  await server.kill();
  const floorAtKill = await ackFloor(jsm);
  await eventually(async () => (await ackFloor(jsm)) >= floorAtKill + 40, 'ingest goes on while ClickHouse is down', 60_000);
  await server.start();

  // Second outage: sluice is SIGKILLed while the server is down and starts before it is back.
  await eventually(async () => (await ackFloor(jsm)) >= SCRAPES / 2, 'half acknowledged', 60_000);
  const spills = () => sluice.log().split('spilling the block').length - 1;
  const spilledBefore = spills();
  await server.kill();
  await eventually(async () => spills() > spilledBefore, 'a block spilled in the second outage', 30_000);
  sluice.child.kill('SIGKILL');
  await sluice.exited;
  const firstLog = sluice.log();
  sluice = run(file);
  await sleep(2_000);
  await server.start();

  await publishing;
  await eventually(async () => {
    const info = await jsm.consumers.info('OUTAGE', 'd');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 'everything acknowledged', 90_000);

  const client = await openClickHouse(server.url, { logger: pino({ level: 'silent' }) });
  try {
    const count = async (sql: string) => Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);
    const watermark = T0 + (SCRAPES - 1) * STEP;
    const reference = new Map<string, Map<string, string>>();
    for (const [table, res] of [['sluice_rollup_5m', 300_000], ['sluice_rollup_1h', 3_600_000]] as const) {
      const want = new Map<string, string>();
      JOBS.forEach((job, j) => {
        const w = new RollupWindows(res);
        for (let k = 0; k < SCRAPES; k++) w.add(0, T0 + k * STEP, valueOf(j, k));
        for (const r of w.close(watermark)) want.set(`${job}@${r.start}`, [r.count, r.sum, r.min, r.max, r.counter].join(','));
      });
      reference.set(table, want);
    }
    // The spill queue drains after everything is acknowledged: wait for the last of it.
    await eventually(async () => {
      if ((await count('SELECT count() AS n FROM sluice.sluice_samples_raw FINAL')) < SCRAPES * JOBS.length) return false;
      for (const [table, want] of reference) if ((await count(`SELECT count() AS n FROM sluice.${table} FINAL`)) < want.size) return false;
      return true;
    }, 'the spill queue drained into ClickHouse', 90_000);
    sluice.child.kill('SIGTERM');
    expect(await sluice.exited, sluice.log()).toBe(0);

    expect(await count('SELECT count() AS n FROM sluice.sluice_samples_raw FINAL')).toBe(SCRAPES * JOBS.length);
    expect(await count('SELECT uniqExact(series_id, ts) AS n FROM sluice.sluice_samples_raw')).toBe(SCRAPES * JOBS.length);
    for (const [table, want] of reference) {
      const rows = await (
        await client.query({
          query: `SELECT s.labels['job'] AS job, toUnixTimestamp(r.window_start) * 1000 AS start, r.count AS count, r.sum AS sum, r.min AS min, r.max AS max, r.counter AS counter
            FROM sluice.${table} AS r FINAL INNER JOIN sluice.sluice_series AS s FINAL USING (series_id)`,
          format: 'JSONEachRow',
        })
      ).json<Record<string, string | number>>();
      const got = new Map(rows.map((r) => [`${r.job}@${r.start}`, [r.count, r.sum, r.min, r.max, r.counter].map(Number).join(',')]));
      expect(got).toEqual(want);
    }
    // The outages were felt: blocks were spilled, and drained once the server was back.
    const logs = firstLog + sluice.log();
    expect(logs).toMatch(/spilling the block|unavailable at start/);
    expect(logs).toMatch(/draining/);
  } finally {
    await client.close();
  }
}, 300_000);
