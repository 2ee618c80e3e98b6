import type { Migration } from './migration.ts';

/**
 * 001: the series table and the raw samples table (layout: README.md).
 *
 * Raw samples: ReplacingMergeTree on (series_id, ts), so a re-sent sample (a retried insert that
 * ClickHouse had already written) collapses into one row at merge time; readers that must not see
 * a duplicate before the merge read with FINAL (the SQL translator does). Codecs measured on the
 * recorded exporter scrapes (README.md, "Codec measurements"; scripts/measure-clickhouse-codecs.ts).
 */
export const migration001: Migration = {
  version: 1,
  name: 'series_and_raw',
  statements: [
    `CREATE TABLE IF NOT EXISTS {db}.sluice_series (
  series_id UInt64 CODEC(ZSTD(1)),
  tenant LowCardinality(String),
  metric LowCardinality(String),
  labels Map(LowCardinality(String), String) CODEC(ZSTD(3)),
  updated_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (tenant, metric, series_id)`,
    `CREATE TABLE IF NOT EXISTS {db}.sluice_samples_raw (
  series_id UInt64 CODEC(Delta, ZSTD(3)),
  ts DateTime64(3) CODEC(DoubleDelta, ZSTD(3)),
  value Float64 CODEC(ZSTD(3))
) ENGINE = ReplacingMergeTree
PARTITION BY toDate(ts)
ORDER BY (series_id, ts)
{ttl_raw:toDateTime(ts)}
SETTINGS non_replicated_deduplication_window = 1000`,
  ],
};
