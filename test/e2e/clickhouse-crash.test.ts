import { expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';
import { RollupWindows } from '../../operators/downsample/rollup-state.ts';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';

/**
 * `sluice run` killed with SIGKILL twice while it ingests (NATS JetStream -> downsample ->
 * clickhouse on embedded chDB), restarted each time, then drained: every raw sample and every
 * closed 5m/1h window is in ClickHouse exactly once, with the aggregates a reference computes
 * from the published samples. What was in flight at a kill is redelivered by JetStream; the
 * operator's checkpoint and the tables' deduplication keep it from counting twice, and the source
 * holds the watermark until that redelivery is back, so no window closes without its samples
 * even though newer messages arrive first.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000);
const STEP = 15_000;
const SCRAPES = 2 * 240 + 40;
const JOBS = ['api', 'db', 'web'];

const valueOf = (job: number, k: number) => (k < 250 ? k : k - 250) * (job + 1); // a counter with a reset

const t = natsPerTest();

/** `sluice run FILE` against the test's nats-server; killed after the test if still running. */
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
    return (await jsm.consumers.info('CRASH', 'd')).ack_floor.stream_seq;
  } catch {
    return 0; // not created yet
  }
}

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
  const js = jetstream(t.nc);
  let first = run(file);
  await eventually(async () => (await jsm.streams.info('CRASH').then(() => true, () => false)), 'the stream exists', 60_000);
  // The publisher keeps going while sluice is killed and restarted, as services would.
  const publishing = (async () => {
    for (let k = 0; k < SCRAPES; k++) {
      const t = T0 + k * STEP;
      await js.publish('metrics.acme.prom', JOBS.map((job, j) => `c_total{job="${job}"} ${valueOf(j, k)} ${t}\n`).join(''));
      if (k % 2 === 1) await new Promise((r) => setTimeout(r, 25));
    }
  })();
  // Two kills, each once some but not all of the stream is acknowledged.
  for (const floor of [SCRAPES / 4, SCRAPES / 2]) {
    await eventually(async () => (await ackFloor(jsm)) >= floor, `ack floor ${floor}`, 60_000);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(await ackFloor(jsm)).toBeLessThan(SCRAPES);
    first = run(file);
  }
  await publishing;
  await eventually(async () => {
    const info = await jsm.consumers.info('CRASH', 'd');
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 'everything acknowledged after the restarts', 90_000);
  first.child.kill('SIGTERM');
  expect(await first.exited, first.log()).toBe(0);

  const client = await openClickHouse('embedded', { dataDir: join(dataDir, 'clickhouse'), logger: pino({ level: 'silent' }) });
  try {
    const count = async (sql: string) => Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0].n);
    expect(await count('SELECT count() AS n FROM sluice.sluice_samples_raw FINAL')).toBe(SCRAPES * JOBS.length);
    expect(await count('SELECT uniqExact(series_id, ts) AS n FROM sluice.sluice_samples_raw')).toBe(SCRAPES * JOBS.length);
    const watermark = T0 + (SCRAPES - 1) * STEP;
    for (const [table, res] of [['sluice_rollup_5m', 300_000], ['sluice_rollup_1h', 3_600_000]] as const) {
      const want = new Map<string, string>();
      JOBS.forEach((job, j) => {
        const w = new RollupWindows(res);
        for (let k = 0; k < SCRAPES; k++) w.add(0, T0 + k * STEP, valueOf(j, k));
        for (const r of w.close(watermark)) want.set(`${job}@${r.start}`, [r.count, r.sum, r.min, r.max, r.counter].join(','));
      });
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
  } finally {
    await client.close();
  }
}, 240_000);
