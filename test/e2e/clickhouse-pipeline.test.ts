import { expect, it } from 'vitest';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { ClickHouseClient } from '@clickhouse/client';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';
import { RollupWindows } from '../../operators/downsample/rollup-state.ts';
import { Engine } from '../../query/promql/engine/engine.ts';
import { MemoryQueryable } from '../../query/promql/engine/testing/memory-queryable.ts';
import { parseExpr } from '../../query/promql/parser/index.ts';
import { clickhouseTier, tablesOf } from '../../query/sql/clickhouse-tier.ts';

/**
 * The whole long-term path through real parts: exposition text published to a real nats-server
 * (JetStream), a topology with the downsample operator and the clickhouse sink on embedded chDB
 * (raw samples and rollups), everything acknowledged; then the stored rows against a reference
 * computed from the published samples, and PromQL over them through the translator.
 */

const t = natsPerTest();

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % 3_600_000); // on the hour
const STEP = 15_000;
const SCRAPES = 2 * 240 + 40; // two hours and ten minutes of event time
const JOBS = ['api', 'db'];

/** Counters with a reset at scrape 300, and a gauge; what each scrape exposes. */
function valueOf(job: number, metric: 'c' | 'g', k: number): number {
  if (metric === 'c') return (k < 300 ? k : k - 300) * (job + 1) * 3;
  return ((k * 7 + job * 13) % 50) - 10;
}

it('NATS -> downsample -> clickhouse: raw samples and 5m/1h rollups stored once each, equal to a reference, answered by the translator', async () => {
  const yaml = `
data_dir: ${t.nats.dir}
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
    jetstream: { stream: CH, durable: d }
    allowed_lateness: 0s
operators:
  rollups:
    type: downsample
    inputs: [ingest]
sinks:
  longterm:
    type: clickhouse
    inputs: [ingest, rollups]
    data_dir: ${join(t.nats.dir, 'clickhouse')}
    ttl: { raw: forever, 5m: forever, 1h: forever }
    batch: { max_rows: 5000, max_wait: 50ms }
`;
  const topo = await t.startTopology(yaml);
  const js = jetstream(t.nc);
  for (let k = 0; k < SCRAPES; k++) {
    const t = T0 + k * STEP;
    const lines = JOBS.map((job, j) => `c_total{job="${job}"} ${valueOf(j, 'c', k)} ${t}\ng{job="${job}"} ${valueOf(j, 'g', k)} ${t}\n`).join('');
    await js.publish('metrics.acme.prom', lines);
  }
  const jsm = await jetstreamManager(t.nc);
  await eventually(async () => (await jsm.consumers.info('CH', 'd')).num_ack_pending === 0 && (await jsm.consumers.info('CH', 'd')).num_pending === 0, 'all acknowledged', 60_000);
  const data = topo.runtime.clickhouseSinks()[0]?.data;
  expect(data).toBeDefined();
  const client: ClickHouseClient = data!.client;
  const db = data!.database;
  const rows = async (sql: string) => (await (await client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>());

  // Raw: every published sample once.
  await eventually(async () => Number((await rows(`SELECT count() AS n FROM ${db}.sluice_samples_raw FINAL`))[0].n) === SCRAPES * 4, 'raw rows', 30_000);
  expect(Number((await rows(`SELECT count() AS n FROM ${db}.sluice_samples_raw`))[0].n)).toBe(SCRAPES * 4);

  // Rollups: the windows the watermark closed (the last sample's 5m window, and the third hour, stay open).
  const ref = new Map<string, RollupWindows>();
  for (const [j, job] of JOBS.entries()) {
    for (const metric of ['c', 'g'] as const) {
      for (const res of [300_000, 3_600_000]) {
        const w = new RollupWindows(res);
        for (let k = 0; k < SCRAPES; k++) w.add(0, T0 + k * STEP, valueOf(j, metric, k));
        ref.set(`${metric === 'c' ? 'c_total' : 'g'}/${job}/${res}`, w);
      }
    }
  }
  const watermark = T0 + (SCRAPES - 1) * STEP;
  for (const [table, res] of [['sluice_rollup_5m', 300_000], ['sluice_rollup_1h', 3_600_000]] as const) {
    const want = new Map<string, string>();
    for (const [key, w] of ref) {
      if (!key.endsWith(`/${res}`)) continue;
      for (const r of w.close(watermark)) want.set(`${key.split('/').slice(0, 2).join('/')}@${r.start}`, [r.count, r.sum, r.min, r.max, r.counter, r.firstT, r.lastT, r.lastV].join(','));
    }
    await eventually(async () => Number((await rows(`SELECT count() AS n FROM ${db}.${table} FINAL`))[0].n) === want.size, `${table} rows`, 30_000);
    const got = await rows(`SELECT s.metric AS metric, s.labels['job'] AS job, toUnixTimestamp(r.window_start) * 1000 AS start, r.count AS count, r.sum AS sum, r.min AS min, r.max AS max, r.counter AS counter,
        toUnixTimestamp64Milli(r.first_ts) AS first_ts, toUnixTimestamp64Milli(r.last_ts) AS last_ts, r.last_value AS last_value
      FROM ${db}.${table} AS r FINAL INNER JOIN ${db}.sluice_series AS s FINAL USING (series_id)`);
    const gotMap = new Map(got.map((r) => [`${r.metric}/${r.job}@${r.start}`, [r.count, r.sum, r.min, r.max, r.counter, r.first_ts, r.last_ts, r.last_value].map(Number).join(',')]));
    expect(gotMap).toEqual(want);
    // Nothing written twice, even before merges.
    expect(Number((await rows(`SELECT count() AS n FROM ${db}.${table}`))[0].n)).toBe(want.size);
  }

  // PromQL over the stored tiers: raw answers as the engine over the published samples; 5m rollups as asked.
  const all = new MemoryQueryable();
  for (const [j, job] of JOBS.entries()) {
    for (const metric of ['c', 'g'] as const) {
      const ts = Array.from({ length: SCRAPES }, (_, k) => T0 + k * STEP);
      all.add({ labels: { __name__: metric === 'c' ? 'c_total' : 'g', job }, ts, values: ts.map((_, k) => valueOf(j, metric, k)) });
    }
  }
  const tier = clickhouseTier(client, { tables: tablesOf(db) });
  const engine = new Engine();
  const expr = parseExpr('sum by (job) (rate(c_total[5m]))');
  const got = await tier.rangeQuery(expr, T0 + 600_000, T0 + 7_200_000, 60_000);
  const want = await engine.rangeQuery(all, expr, T0 + 600_000, T0 + 7_200_000, 60_000);
  expect(got.value).toEqual(want.value);
  const overRollups = await tier.withResolution('5m').rangeQuery(parseExpr('sum_over_time(g[1h])'), T0 + 3_600_000, T0 + 7_200_000, 900_000);
  expect(overRollups.infos.join()).toContain('5m rollups');
  // A rollup point sits at its window's last sample, so at a window-aligned step t the range reads
  // the whole windows of [t - 1h, t): the raw samples the engine reads in (t - 1h - 1ms, t - 1ms].
  const exact = await engine.rangeQuery(all, parseExpr('sum_over_time(g[1h])'), T0 + 3_600_000 - 1, T0 + 7_200_000 - 1, 900_000);
  if (overRollups.value.type !== 'matrix' || exact.value.type !== 'matrix') throw new Error('bug: range queries return matrices');
  expect(overRollups.value.series.map((s) => [s.labels, Array.from(s.values)])).toEqual(exact.value.series.map((s) => [s.labels, Array.from(s.values)]));
  expect(overRollups.value.series[0].values.length).toBe(5);
}, 120_000);
