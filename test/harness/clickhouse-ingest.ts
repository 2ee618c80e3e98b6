import { expect } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from '@clickhouse/client';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { RollupWindows } from '../../operators/downsample/rollup-state.ts';
import type { NatsPerTest } from './nats.ts';

/**
 * What the end-to-end tests of the ClickHouse tier under failure share: `sluice run` as a process
 * that can be SIGKILLed, a paced stream of counters published to JetStream, and the check that
 * ClickHouse ends up holding every raw sample and every closed 5m/1h window exactly once.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Three counters (one per job), 15 s apart, with a reset at scrape 250; 520 scrapes cover two full hours. */
export const STREAM = {
  t0: 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000),
  step: 15_000,
  scrapes: 2 * 240 + 40,
  jobs: ['api', 'db', 'web'],
  valueOf: (job: number, k: number) => (k < 250 ? k : k - 250) * (job + 1),
} as const;

export interface SluiceProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything it wrote to stderr (JSON log lines). */
  log(): string;
}

/** `sluice run FILE` against the test's nats-server; killed after the test if still running. */
export function runSluice(t: NatsPerTest, file: string): SluiceProcess {
  let log = '';
  const child = spawn(join(ROOT, 'bin/sluice'), ['run', file], { cwd: ROOT, env: { ...process.env, NATS_URL: t.nats.server.url, SLUICE_LOG_FORMAT: 'json' }, stdio: ['ignore', 'ignore', 'pipe'] });
  t.onCleanup(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, log: () => log };
}

/** The consumer's acknowledged stream sequence; 0 before it exists. */
export async function ackFloor(jsm: JetStreamManager, stream: string, durable: string): Promise<number> {
  try {
    return (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq;
  } catch {
    return 0;
  }
}

/**
 * Publishes STREAM, one message per scrape, pausing 25 ms every second scrape as services would.
 * `hold` pauses the publisher before scrape `holdAt` until `until` resolves: on a slow machine sluice
 * can catch up with the whole stream before a test's later fault, which then hits an idle
 * pipeline, so a test that needs traffic during a fault keeps part of the stream back until then.
 *
 * A test that fails before awaiting the returned promise must report its own failure, not the
 * publisher's "no responders" once the server is stopped: the rejection is marked handled here
 * and still reaches whoever awaits it.
 */
export function publishStream(js: JetStreamClient, subject: string, hold?: { holdAt: number; until: Promise<void> }): Promise<void> {
  const publishing = publishAll(js, subject, hold);
  publishing.catch(() => {});
  return publishing;
}

async function publishAll(js: JetStreamClient, subject: string, hold?: { holdAt: number; until: Promise<void> }): Promise<void> {
  for (let k = 0; k < STREAM.scrapes; k++) {
    if (k === hold?.holdAt) await hold.until;
    const ts = STREAM.t0 + k * STREAM.step;
    await js.publish(subject, STREAM.jobs.map((job, j) => `c_total{job="${job}"} ${STREAM.valueOf(j, k)} ${ts}\n`).join(''));
    if (k % 2 === 1) await new Promise((r) => setTimeout(r, 25));
  }
}

/** What each rollup table must hold for STREAM: `job@start` -> count,sum,min,max,counter. */
export function streamRollups(): Map<string, Map<string, string>> {
  const watermark = STREAM.t0 + (STREAM.scrapes - 1) * STREAM.step;
  const tables = new Map<string, Map<string, string>>();
  for (const [table, res] of [['sluice_rollup_5m', 300_000], ['sluice_rollup_1h', 3_600_000]] as const) {
    const want = new Map<string, string>();
    STREAM.jobs.forEach((job, j) => {
      const w = new RollupWindows(res);
      for (let k = 0; k < STREAM.scrapes; k++) w.add(0, STREAM.t0 + k * STREAM.step, STREAM.valueOf(j, k));
      for (const r of w.close(watermark)) want.set(`${job}@${r.start}`, [r.count, r.sum, r.min, r.max, r.counter].join(','));
    });
    tables.set(table, want);
  }
  return tables;
}

export const countRows = async (client: ClickHouseClient, sql: string): Promise<number> =>
  Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0]!.n);

/** ClickHouse (database `sluice`) holds every raw sample of STREAM and every closed window, each once. */
export async function expectStreamStoredOnce(client: ClickHouseClient): Promise<void> {
  const samples = STREAM.scrapes * STREAM.jobs.length;
  expect(await countRows(client, 'SELECT count() AS n FROM sluice.sluice_samples_raw FINAL')).toBe(samples);
  expect(await countRows(client, 'SELECT uniqExact(series_id, ts) AS n FROM sluice.sluice_samples_raw')).toBe(samples);
  for (const [table, want] of streamRollups()) {
    const rows = await (
      await client.query({
        query: `SELECT s.labels['job'] AS job, toUnixTimestamp(r.window_start) * 1000 AS start, r.count AS count, r.sum AS sum, r.min AS min, r.max AS max, r.counter AS counter
          FROM sluice.${table} AS r FINAL INNER JOIN sluice.sluice_series AS s FINAL USING (series_id)`,
        format: 'JSONEachRow',
      })
    ).json<Record<string, string | number>>();
    const got = new Map(rows.map((r) => [`${r.job}@${r.start}`, [r.count, r.sum, r.min, r.max, r.counter].map(Number).join(',')]));
    expect(got, table).toEqual(want);
  }
}
