import type { Migration } from './migration.ts';

/**
 * 005: the rollup tables' codecs as measured (scripts/measure-clickhouse-codecs.ts, README.md):
 * on recorded exporter data, Delta+ZSTD(3) series ids and counts and plain ZSTD(3) floats take
 * 5.08 bytes per 5m window against 5.78 with 002's DoubleDelta/T64/Gorilla+ZSTD(1), the same
 * finding as for raw values (exporter values repeat exactly, which ZSTD's matching finds and
 * Gorilla's XOR stream hides). New parts are written so; existing ones change at their next merge.
 */
const FLOATS = ['sum', 'min', 'max', 'counter', 'first_value', 'last_value'];

function recodec(table: string): string[] {
  return [
    `ALTER TABLE {db}.${table} MODIFY COLUMN series_id UInt64 CODEC(Delta, ZSTD(3))`,
    `ALTER TABLE {db}.${table} MODIFY COLUMN window_start DateTime CODEC(DoubleDelta, ZSTD(3))`,
    `ALTER TABLE {db}.${table} MODIFY COLUMN count UInt32 CODEC(Delta, ZSTD(3))`,
    `ALTER TABLE {db}.${table} MODIFY COLUMN first_ts DateTime64(3) CODEC(DoubleDelta, ZSTD(3))`,
    `ALTER TABLE {db}.${table} MODIFY COLUMN last_ts DateTime64(3) CODEC(DoubleDelta, ZSTD(3))`,
    ...FLOATS.map((c) => `ALTER TABLE {db}.${table} MODIFY COLUMN ${c} Float64 CODEC(ZSTD(3))`),
  ];
}

export const migration005: Migration = {
  version: 5,
  name: 'rollup_codecs',
  statements: [...recodec('sluice_rollup_5m'), ...recodec('sluice_rollup_1h')],
};
