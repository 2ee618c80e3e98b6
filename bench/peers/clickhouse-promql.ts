import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { compareLabels, labelsFromPairs, type Labels } from '../../model/labels.ts';

/**
 * ClickHouse's own PromQL as a peer of sluice's translator: a TimeSeries-engine table holding the
 * same raw samples as `sluice_samples_raw`, queried with the `prometheusQueryRange` table
 * function. Both are experimental in ClickHouse and need `allow_experimental_time_series_table`.
 *
 * The TimeSeries table's three target tables are named here (not inner), so the bench can count
 * what they hold; rows go in through the TimeSeries table itself, so ClickHouse computes its own
 * series ids exactly as it does for remote write.
 */

const SETTINGS: ClickHouseSettings = { allow_experimental_time_series_table: 1 } as ClickHouseSettings;

export const PROMQL_TABLE = 'promql_peer';

export interface PromqlPeerSeries {
  readonly labels: Labels;
  readonly ts: Float64Array;
  readonly values: Float64Array;
}

export async function createTimeSeriesTable(client: ClickHouseClient, database: string): Promise<void> {
  const t = `${database}.${PROMQL_TABLE}`;
  const statements = [
    `CREATE TABLE IF NOT EXISTS ${t}_samples (id UUID, timestamp DateTime64(3), value Float64) ENGINE = MergeTree ORDER BY (id, timestamp)`,
    `CREATE TABLE IF NOT EXISTS ${t}_tags (
  id UUID DEFAULT reinterpretAsUUID(sipHash128(metric_name, all_tags)),
  metric_name LowCardinality(String),
  tags Map(LowCardinality(String), String),
  all_tags Map(String, String),
  min_time SimpleAggregateFunction(min, Nullable(DateTime64(3))),
  max_time SimpleAggregateFunction(max, Nullable(DateTime64(3)))
) ENGINE = AggregatingMergeTree PRIMARY KEY metric_name ORDER BY (metric_name, id) SETTINGS allow_dimensions_outside_sorting_key = 1`,
    `CREATE TABLE IF NOT EXISTS ${t}_metrics (metric_family_name String, type LowCardinality(String), unit LowCardinality(String), help String)
ENGINE = ReplacingMergeTree ORDER BY metric_family_name`,
    `CREATE TABLE IF NOT EXISTS ${t} ENGINE = TimeSeries SAMPLES ${t}_samples TAGS ${t}_tags METRICS ${t}_metrics`,
  ];
  for (const query of statements) await client.command({ query, clickhouse_settings: SETTINGS });
}

/**
 * Why `prometheusQueryRange` cannot run in this ClickHouse, or null when it can: a range query
 * over the (possibly empty) TimeSeries table. chDB's published builds leave out the ANTLR4
 * PromQL grammar, and then every PromQL table function fails with SUPPORT_IS_DISABLED.
 */
export async function promqlUnsupportedReason(client: ClickHouseClient, database: string): Promise<string | null> {
  try {
    await runPrometheusQueryRange(client, database, 'vector(1)', 0, 60_000, 60_000);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message.trim() : String(error);
  }
}

/**
 * Copies every sample of `sluice_samples_raw` (with its series' labels) into the TimeSeries table,
 * one INSERT per slice of series so a slice's arrays stay well under memory; `samplesPerInsert`
 * bounds a slice. Returns the samples copied.
 */
export async function copyRawToTimeSeries(client: ClickHouseClient, database: string, samplesPerInsert = 20_000_000): Promise<number> {
  const rs = await client.query({ query: `SELECT count() AS n FROM ${database}.sluice_samples_raw`, format: 'JSONEachRow' });
  const total = Number((await rs.json<{ n: string | number }>())[0].n);
  const slices = Math.max(1, Math.ceil(total / samplesPerInsert));
  for (let slice = 0; slice < slices; slice++) {
    await client.command({
      query: `INSERT INTO ${database}.${PROMQL_TABLE} (metric_name, tags, time_series)
SELECT s.metric, CAST(s.labels, 'Map(String, String)'), r.points
FROM (
  SELECT series_id, arraySort(groupArray((ts, value))) AS points FROM ${database}.sluice_samples_raw FINAL
  WHERE series_id % ${slices} = ${slice} GROUP BY series_id
) AS r
INNER JOIN (SELECT series_id, metric, labels FROM ${database}.sluice_series FINAL) AS s USING (series_id)`,
      clickhouse_settings: { ...SETTINGS, max_threads: 2 },
    });
  }
  return total;
}

/** Samples the TimeSeries table holds (its samples target table). */
export async function countTimeSeriesSamples(client: ClickHouseClient, database: string): Promise<{ samples: number; sum: number }> {
  const rs = await client.query({ query: `SELECT count() AS n, sum(value) AS s FROM ${database}.${PROMQL_TABLE}_samples`, format: 'JSONEachRow' });
  const row = (await rs.json<{ n: string | number; s: number }>())[0];
  return { samples: Number(row.n), sum: Number(row.s) };
}

/** Runs `query` through ClickHouse's PromQL over [startMs, endMs] at `stepMs`; series sorted by labels. */
export async function runPrometheusQueryRange(
  client: ClickHouseClient,
  database: string,
  query: string,
  startMs: number,
  endMs: number,
  stepMs: number,
): Promise<PromqlPeerSeries[]> {
  if (!Number.isInteger(stepMs / 1000)) throw new RangeError(`bug: the clickhouse-promql peer takes whole-second steps, got ${stepMs} ms`);
  const rs = await client.query({
    query: `SELECT tags, arrayMap(p -> toUnixTimestamp64Milli(p.1), time_series) AS T, arrayMap(p -> p.2, time_series) AS V
FROM prometheusQueryRange(${database}.${PROMQL_TABLE}, {q:String},
  fromUnixTimestamp64Milli(toInt64({start:Int64})), fromUnixTimestamp64Milli(toInt64({end:Int64})), toIntervalSecond({step:UInt32}))`,
    query_params: { q: query, start: startMs, end: endMs, step: stepMs / 1000 },
    format: 'JSONEachRow',
    clickhouse_settings: { ...SETTINGS, output_format_json_quote_64bit_integers: 0 },
  });
  const rows = await rs.json<{ tags: Array<[string, string]>; T: number[]; V: number[] }>();
  return rows
    .map((r) => ({ labels: labelsFromPairs(r.tags), ts: Float64Array.from(r.T), values: Float64Array.from(r.V) }))
    .sort((a, b) => compareLabels(a.labels, b.labels));
}
