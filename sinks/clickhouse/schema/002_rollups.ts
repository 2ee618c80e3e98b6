import type { Migration } from './migration.ts';

/**
 * 002: rollup tables per resolution (5m, 1h) with Thanos's downsampling aggregates
 * (`pkg/compact/downsample`): per (series, window start) count, sum, min, max, the reset-corrected
 * counter value at the window's last sample, and the window's first and last raw samples. Written
 * later by the downsample operator; layout in README.md. One row per (series_id, window_start):
 * ReplacingMergeTree, so a re-sent window replaces itself instead of adding.
 */
function rollupTable(name: string, ttl: string): string {
  return `CREATE TABLE IF NOT EXISTS {db}.${name} (
  series_id UInt64 CODEC(DoubleDelta, ZSTD(1)),
  window_start DateTime CODEC(DoubleDelta, ZSTD(1)),
  count UInt32 CODEC(T64, ZSTD(1)),
  sum Float64 CODEC(Gorilla, ZSTD(1)),
  min Float64 CODEC(Gorilla, ZSTD(1)),
  max Float64 CODEC(Gorilla, ZSTD(1)),
  counter Float64 CODEC(Gorilla, ZSTD(1)),
  first_ts DateTime64(3) CODEC(DoubleDelta, ZSTD(1)),
  first_value Float64 CODEC(Gorilla, ZSTD(1)),
  last_ts DateTime64(3) CODEC(DoubleDelta, ZSTD(1)),
  last_value Float64 CODEC(Gorilla, ZSTD(1))
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(window_start)
ORDER BY (series_id, window_start)
{${ttl}:window_start}`;
}

export const migration002: Migration = {
  version: 2,
  name: 'rollups_5m_1h',
  statements: [rollupTable('sluice_rollup_5m', 'ttl_5m'), rollupTable('sluice_rollup_1h', 'ttl_1h')],
};
