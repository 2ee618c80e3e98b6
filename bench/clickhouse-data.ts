import type { ClickHouseClient } from '@clickhouse/client';
import { labelsFromRecord } from '../model/labels.ts';
import { seriesId } from '../sinks/clickhouse/series-id.ts';

/**
 * The data of `sluice bench clickhouse`: counter series `m{job, instance}` scraped every
 * `intervalSeconds` for `days`, generated inside ClickHouse (INSERT ... SELECT over numbers())
 * because pushing hundreds of millions of samples through JavaScript would measure the
 * generator, not the query paths.
 *
 * Everything is a function of (series id, scrape index k), so every run loads the same samples:
 * - each series is scraped at its own offset into the interval (1 s .. interval/2, as Prometheus
 *   spreads targets) plus 0..49 ms of jitter, so no sample sits on an hour and the 1h evaluation
 *   grid never meets one (PromQL 2.x and 3.x agree on such data);
 * - a series counts at 1..100 per second with a jitter of up to half a scrape's worth, so
 *   values rise monotonically and stay whole numbers (exact sums in every engine);
 * - every 2000..4999 scrapes (per series) the counter restarts from zero: a reset that rate()
 *   must see.
 */
export interface BenchShape {
  readonly series: number;
  readonly days: number;
  readonly intervalSeconds: number;
  /** Series per job; `instance` runs 0 .. instancesPerJob-1 within a job. */
  readonly instancesPerJob: number;
  /** Unix ms of the first scrape (nominal, before jitter). */
  readonly startMs: number;
}

export const BENCH_METRIC = 'm';

/** Scrapes per series. */
export function scrapesPerSeries(shape: BenchShape): number {
  return Math.floor((shape.days * 86_400) / shape.intervalSeconds);
}

/** The label values of series number `s` (0-based). */
export function benchSeriesLabels(s: number, shape: BenchShape): { job: string; instance: string } {
  return { job: `job-${Math.floor(s / shape.instancesPerJob)}`, instance: `host-${s % shape.instancesPerJob}:9100` };
}

/** Writes the series table: one row per series, ids as sluice computes them (`seriesId`). */
export async function loadBenchSeries(client: ClickHouseClient, database: string, shape: BenchShape): Promise<void> {
  const rows: object[] = [];
  for (let s = 0; s < shape.series; s++) {
    const labels = benchSeriesLabels(s, shape);
    const id = seriesId(labelsFromRecord({ __name__: BENCH_METRIC, ...labels }));
    rows.push({ series_id: id.toString(), tenant: 'default', metric: BENCH_METRIC, labels });
  }
  await client.insert({ table: `${database}.sluice_series`, values: rows, format: 'JSONEachRow' });
}

/**
 * Fills `sluice_samples_raw` from the series table (loadBenchSeries first). Rows are produced
 * scrape-major (all series of scrape k, then k+1), so each insert block covers a short span of
 * time and lands in one or two daily partitions instead of scattering small parts over all of them.
 */
export async function generateRawSamples(client: ClickHouseClient, database: string, shape: BenchShape): Promise<number> {
  const n = scrapesPerSeries(shape);
  const intervalMs = shape.intervalSeconds * 1000;
  // intHash64 mixes well enough for jitter and is several times cheaper than sipHash64 here.
  const query = `INSERT INTO ${database}.sluice_samples_raw (series_id, ts, value)
WITH (SELECT groupArray(series_id) FROM (SELECT series_id FROM ${database}.sluice_series WHERE metric = '${BENCH_METRIC}' ORDER BY series_id)) AS ids
SELECT sid, ts, value FROM (
  SELECT ids[s + 1] AS sid,
    fromUnixTimestamp64Milli(toInt64(${shape.startMs} + k * ${intervalMs} + 1000 + intHash64(sid + 1) % ${Math.floor(intervalMs / 2) - 1000} + intHash64(sid + k * 7919) % 50)) AS ts,
    toFloat64(1 + intHash64(sid) % 100) AS per_second,
    toUInt64(2000 + intHash64(sid + 2) % 3000) AS reset_every,
    toInt64(k) - toInt64((k + intHash64(sid + 3)) % reset_every) AS k_reset,
    floor(per_second * ${shape.intervalSeconds} * (k + (intHash64(sid * 3 + k * 104729) % 1000) / 2000.0))
      - floor(per_second * ${shape.intervalSeconds} * (k_reset + (intHash64(sid * 3 + k_reset * 104729) % 1000) / 2000.0)) AS value
  FROM (SELECT intDiv(number, ${shape.series}) AS k, number % ${shape.series} AS s FROM numbers_mt(${shape.series * n}))
)`;
  await client.command({
    query,
    clickhouse_settings: { max_insert_threads: '2', max_threads: 2, min_insert_block_size_rows: '4194304', max_insert_block_size: '4194304' },
  });
  return shape.series * n;
}
