/**
 * Bytes per row of the raw samples table under several column codec choices, on the recorded
 * exporter scrapes stretched to 15 s (691,994 rows), in embedded chDB after OPTIMIZE FINAL. The
 * numbers behind the codecs of migration 001 (sinks/clickhouse/schema/README.md).
 * Run: npx tsx scripts/measure-clickhouse-codecs.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadDatasetSeries } from '../bench/dataset-series.ts';
import { openClickHouse } from '../sinks/clickhouse/connection.ts';
const data = loadDatasetSeries(15);
const client = await openClickHouse('embedded', { dataDir: mkdtempSync(join(tmpdir(), 'codec-')), logger: pino({ level: 'silent' }) });
const variants: Record<string, [string, string, string]> = {
  'dd+zstd1 / gorilla+zstd1': ['DoubleDelta, ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'Gorilla, ZSTD(1)'],
  'dd+zstd3 / gorilla+zstd3': ['DoubleDelta, ZSTD(3)', 'DoubleDelta, ZSTD(3)', 'Gorilla, ZSTD(3)'],
  'delta+zstd / zstd (chosen)': ['Delta, ZSTD(3)', 'DoubleDelta, ZSTD(3)', 'ZSTD(3)'],
  'dd+zstd / fpc+zstd': ['DoubleDelta, ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'FPC, ZSTD(1)'],
  'dd+zstd / gorilla+lz4': ['DoubleDelta, LZ4', 'DoubleDelta, LZ4', 'Gorilla, LZ4'],
  't64+zstd / gorilla+zstd': ['T64, ZSTD(3)', 'DoubleDelta, ZSTD(3)', 'Gorilla, ZSTD(3)'],
};
const rows: string[] = [];
data.labels.forEach((_, ref) => { for (let i = 0; i < data.ts[ref].length; i++) rows.push(`${ref + 1},${data.ts[ref][i]},${Number.isFinite(data.values[ref][i]) ? data.values[ref][i] : 'nan'}`); });
const csv = rows.join('\n');
let k = 0;
for (const [name, [sid, ts, val]] of Object.entries(variants)) {
  const table = `raw_${k++}`;
  await client.command({ query: `CREATE TABLE ${table} (series_id UInt64 CODEC(${sid}), ts DateTime64(3) CODEC(${ts}), value Float64 CODEC(${val})) ENGINE = ReplacingMergeTree ORDER BY (series_id, ts)` });
  const t = performance.now();
  await client.command({ query: `INSERT INTO ${table} SELECT c1, fromUnixTimestamp64Milli(toInt64(c2)), c3 FROM format(CSV, 'c1 UInt64, c2 Float64, c3 Float64', {csv:String})`, query_params: { csv } });
  const ins = performance.now() - t;
  await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  const r = await client.query({ query: `SELECT sum(bytes_on_disk) b, sum(rows) r FROM system.parts WHERE table = '${table}' AND active`, format: 'JSONEachRow' });
  const [{ b, r: n }] = (await r.json()) as Array<{ b: string; r: string }>;
  console.log(name.padEnd(36), (Number(b) / Number(n)).toFixed(3), 'bytes/row', n, 'rows', (Number(n) / (ins / 1000)).toFixed(0), 'rows/s');
}
await client.close();
