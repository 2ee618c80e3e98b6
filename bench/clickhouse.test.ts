import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../model/labels.ts';
import { openClickHouse } from '../sinks/clickhouse/connection.ts';
import { seriesId } from '../sinks/clickhouse/series-id.ts';
import type { BenchResult } from './bench-context.ts';
import { assertAgree, BENCH_QUERY, BenchDisagreementError, QUICK, runClickhouseBench, type QueryAnswer } from './clickhouse.ts';
import { benchSeriesLabels, scrapesPerSeries, type BenchShape } from './clickhouse-data.ts';
import { copyRawToTimeSeries, countTimeSeriesSamples, createTimeSeriesTable } from './peers/clickhouse-promql.ts';

// One chDB data directory for this file's process (chDB allows one per process).
const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-clickhouse-test-'));
const database = `bench_smoke_${process.pid}`;
const shape: BenchShape = {
  series: QUICK.series!,
  days: QUICK.days!,
  intervalSeconds: QUICK.intervalSeconds!,
  instancesPerJob: QUICK.instancesPerJob!,
  startMs: Date.UTC(2026, 0, 1),
};
let client: ClickHouseClient;
let results: BenchResult[];

async function rows<T>(query: string): Promise<T[]> {
  const rs = await client.query({ query, format: 'JSONEachRow', clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } });
  return rs.json<T>();
}

beforeAll(async () => {
  client = await openClickHouse('embedded', { dataDir: join(dir, 'chdb'), logger: { info: () => {}, debug: () => {} } });
  results = await runClickhouseBench(client, database, QUICK);
});

afterAll(async () => {
  await client?.close();
  rmSync(dir, { recursive: true, force: true });
});

const find = (metric: string, extra: Record<string, unknown> = {}) =>
  results.filter((r) => r.metric === metric && Object.entries(extra).every(([k, v]) => (v === undefined ? !(k in r) : r[k] === v)));

describe('sluice bench clickhouse, smoke size', () => {
  it('answers the query three ways (or says why ClickHouse PromQL cannot) and the answers agree', () => {
    const sluice = find('p50_seconds', { peer: undefined });
    const engine = find('p50_seconds', { peer: 'engine' });
    const promql = find('p50_seconds', { peer: 'clickhouse-promql' });
    expect(sluice).toHaveLength(1);
    expect(engine).toHaveLength(1);
    expect(promql).toHaveLength(1);
    for (const r of [...sluice, ...engine]) {
      expect(r.query).toBe(BENCH_QUERY);
      expect(r.value).toBeGreaterThan(0);
    }
    if (promql[0].value < 0) expect(String(promql[0].skipped)).toMatch(/prometheusQueryRange fails in this ClickHouse: .+/);
    const agree = find('answers_agree');
    expect(agree).toHaveLength(1);
    expect(String(agree[0].peers)).toMatch(/^sluice,(clickhouse-promql,)?engine$/);
    // 4 jobs x every hour from the second to the last of 2 days.
    expect(agree[0].value).toBe(4 * (QUICK.days! * 24));
  });

  it('reports the writer figures and the rollup bytes per row', () => {
    const rollupRows = 20 * QUICK.days! * 288;
    const rawRows = 20 * scrapesPerSeries(shape);
    const [rollupRate] = find('insert_rows_per_second', { table: 'sluice_rollup_5m' });
    const [rawRate] = find('insert_rows_per_second', { table: 'sluice_samples_raw' });
    expect(rollupRate).toMatchObject({ rows: rollupRows, path: expect.stringContaining('writer.ts') });
    expect(rawRate).toMatchObject({ rows: rawRows });
    expect(rollupRate.value).toBeGreaterThan(0);
    const [bytes] = find('bytes_per_row', { table: 'sluice_rollup_5m' });
    expect(bytes.rows).toBe(rollupRows);
    expect(bytes.value).toBeGreaterThan(1);
    expect(bytes.value).toBeLessThan(200);
  });

  it('generates every scrape of every series, with sluice series ids, off the hour, with counter resets', async () => {
    const [stats] = await rows<{ n: number; series: number; on_hour: number }>(
      `SELECT count() AS n, uniqExact(series_id) AS series, countIf(toUnixTimestamp64Milli(ts) % 3600000 = 0) AS on_hour FROM ${database}.sluice_samples_raw`,
    );
    expect(stats).toEqual({ n: shape.series * scrapesPerSeries(shape), series: shape.series, on_hour: 0 });
    const ids = await rows<{ series_id: string; job: string; instance: string }>(
      `SELECT toString(series_id) AS series_id, labels['job'] AS job, labels['instance'] AS instance FROM ${database}.sluice_series FINAL WHERE series_id IN (SELECT series_id FROM ${database}.sluice_samples_raw)`,
    );
    expect(ids).toHaveLength(shape.series);
    for (const s of [0, 17, shape.series - 1]) {
      const labels = benchSeriesLabels(s, shape);
      const row = ids.find((r) => r.job === labels.job && r.instance === labels.instance);
      expect(row?.series_id).toBe(seriesId(labelsFromRecord({ __name__: 'm', ...labels })).toString());
    }
    const [resets] = await rows<{ resets: number }>(
      `SELECT sum(arraySum(arrayMap((a, b) -> b < a, arrayPopBack(v), arrayPopFront(v)))) AS resets
FROM (SELECT arraySort((x, t) -> t, groupArray(value), groupArray(ts)) AS v FROM ${database}.sluice_samples_raw GROUP BY series_id)`,
    );
    expect(resets.resets).toBeGreaterThan(0);
  });

  it('copies the raw samples into a TimeSeries table unchanged', async () => {
    await createTimeSeriesTable(client, database);
    const copied = await copyRawToTimeSeries(client, database, 10_000);
    const [raw] = await rows<{ n: number; s: number }>(`SELECT count() AS n, sum(value) AS s FROM ${database}.sluice_samples_raw`);
    expect(copied).toBe(raw.n);
    expect(await countTimeSeriesSamples(client, database)).toEqual({ samples: raw.n, sum: raw.s });
    const [tags] = await rows<{ n: number }>(`SELECT uniqExact(id) AS n FROM ${database}.promql_peer_tags`);
    expect(tags.n).toBe(shape.series);
  });
});

describe('assertAgree', () => {
  const answer = (peer: QueryAnswer['peer'], entries: Array<[string, number[]]>): QueryAnswer => ({
    peer,
    grid: new Map(entries.map(([job, values]) => [job, Float64Array.from(values)])),
  });
  const base = answer('sluice', [
    ['job-0', [1, 2, NaN]],
    ['job-1', [1e6, 0, 3]],
  ]);
  it.each([
    { name: 'equal', other: [['job-0', [1, 2, NaN]], ['job-1', [1e6, 0, 3]]], fails: null },
    { name: 'within 1e-6 relative', other: [['job-0', [1 + 5e-7, 2, NaN]], ['job-1', [1e6 + 0.5, 0, 3]]], fails: null },
    { name: 'beyond 1e-6 relative', other: [['job-0', [1, 2, NaN]], ['job-1', [1e6 + 2, 0, 3]]], fails: /job "job-1" at 2026-01-01T00:00:00.000Z: sluice says 1000000, engine says 1000002/ },
    { name: 'a point missing', other: [['job-0', [1, 2, 5]], ['job-1', [1e6, 0, 3]]], fails: /job "job-0" at 2026-01-01T02:00:00.000Z: sluice says NaN, engine says 5/ },
    { name: 'a job missing', other: [['job-0', [1, 2, NaN]]], fails: /job "job-1" is in sluice's answer only/ },
  ] as const)('$name', ({ other, fails }) => {
    const check = () => assertAgree(base, answer('engine', other.map(([j, v]) => [j, [...v]])), Date.UTC(2026, 0, 1));
    if (fails === null) {
      expect(check).not.toThrow();
    } else {
      expect(check).toThrow(BenchDisagreementError);
      expect(check).toThrow(fails);
    }
  });
});
