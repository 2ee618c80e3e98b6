import type { ClickHouseClient } from '@clickhouse/client';
import { labelsFromRecord, METRIC_NAME, type Labels } from '../../model/labels.ts';
import type { Rollup } from '../../model/rollup-batch.ts';
import { seriesId } from '../../sinks/clickhouse/series-id.ts';

/**
 * Test fixtures for queries over the rollup tables: writes series and Rollup rows (as the
 * downsample operator's RollupWindows computes them) into sluice's schema in chDB. Through a
 * staging table, times travel as integer milliseconds and values as their IEEE bits, so every
 * value arrives bit for bit (no decimal parsing, NaN payloads kept).
 */

function bits(v: number): string {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  return view.getBigUint64(0).toString();
}

export interface FixtureSeries {
  readonly labels: Record<string, string>;
}

/** Replaces the series table's rows with `series`; returns each series' id (by index). */
export async function writeSeries(client: ClickHouseClient, database: string, series: readonly FixtureSeries[], tenant = 'default'): Promise<bigint[]> {
  await client.command({ query: `TRUNCATE TABLE ${database}.sluice_series` });
  const ids: bigint[] = [];
  const rows = series.map((s) => {
    const labels: Labels = labelsFromRecord(s.labels);
    const id = seriesId(labels);
    ids.push(id);
    const rest: Record<string, string> = {};
    let metric = '';
    for (let i = 0; i < labels.length; i += 2) {
      if (labels[i] === METRIC_NAME) metric = labels[i + 1];
      else rest[labels[i]] = labels[i + 1];
    }
    return { series_id: id.toString(), tenant, metric, labels: rest };
  });
  if (rows.length > 0) await client.insert({ table: `${database}.sluice_series`, values: rows, format: 'JSONEachRow' });
  return ids;
}

/** Replaces the rows of rollup table `table` (e.g. `sluice_rollup_5m`) with `rollups`; `Rollup.ref` indexes `ids`. */
export async function writeRollups(client: ClickHouseClient, database: string, table: string, rollups: readonly Rollup[], ids: readonly bigint[]): Promise<void> {
  const staging = `${database}.sluice_rollup_staging`;
  await client.command({ query: `TRUNCATE TABLE ${database}.${table}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${staging} (id UInt64, start Int64, count UInt32, sum UInt64, min UInt64, max UInt64, counter UInt64, ft Int64, fv UInt64, lt Int64, lv UInt64) ENGINE = Memory`,
  });
  await client.command({ query: `TRUNCATE TABLE ${staging}` });
  const values = rollups.map((r) => ({
    id: ids[r.ref].toString(),
    start: r.start,
    count: r.count,
    sum: bits(r.sum),
    min: bits(r.min),
    max: bits(r.max),
    counter: bits(r.counter),
    ft: r.firstT,
    fv: bits(r.firstV),
    lt: r.lastT,
    lv: bits(r.lastV),
  }));
  if (values.length === 0) return;
  await client.insert({ table: staging, values, format: 'JSONEachRow' });
  await client.command({
    query: `INSERT INTO ${database}.${table} (series_id, window_start, count, sum, min, max, counter, first_ts, first_value, last_ts, last_value)
SELECT id, toDateTime(intDiv(start, 1000)), count, reinterpretAsFloat64(sum), reinterpretAsFloat64(min), reinterpretAsFloat64(max), reinterpretAsFloat64(counter),
  fromUnixTimestamp64Milli(ft), reinterpretAsFloat64(fv), fromUnixTimestamp64Milli(lt), reinterpretAsFloat64(lv) FROM ${staging}`,
  });
}
