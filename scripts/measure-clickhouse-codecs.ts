/**
 * Bytes per row of the raw samples table and of the 5m rollup table under several column codec
 * choices, in embedded chDB after OPTIMIZE FINAL: raw samples of the recorded exporter scrapes
 * stretched to 15 s (691,994 rows); 5m rollups (computed by the downsample operator's
 * RollupWindows) of the same, and of synthetic counters whose values do not repeat.
 * The numbers behind the codecs of migrations 001 and 005 (sinks/clickhouse/schema/README.md).
 * Run: npx tsx scripts/measure-clickhouse-codecs.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadDatasetSeries } from '../bench/dataset-series.ts';
import { RollupWindows } from '../operators/downsample/rollup-state.ts';
import { openClickHouse } from '../sinks/clickhouse/connection.ts';

const data = loadDatasetSeries(15);
const client = await openClickHouse('embedded', { dataDir: mkdtempSync(join(tmpdir(), 'codec-')), logger: pino({ level: 'silent' }) });
let tables = 0;

/** Creates a table with `columns`, fills it from `csv` by `select` (over c1..cN), merges it, prints bytes/row. */
async function measure(name: string, columns: string, order: string, csvColumns: string, select: string, csv: string): Promise<void> {
  const table = `t_${tables++}`;
  await client.command({ query: `CREATE TABLE ${table} (${columns}) ENGINE = ReplacingMergeTree ORDER BY (${order})` });
  const t = performance.now();
  await client.command({ query: `INSERT INTO ${table} SELECT ${select} FROM format(CSV, '${csvColumns}', {csv:String})`, query_params: { csv } });
  const seconds = (performance.now() - t) / 1000;
  await client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
  const r = await client.query({ query: `SELECT sum(bytes_on_disk) b, sum(rows) r FROM system.parts WHERE table = '${table}' AND active`, format: 'JSONEachRow' });
  const [{ b, r: n }] = (await r.json()) as Array<{ b: string; r: string }>;
  console.log(name.padEnd(44), (Number(b) / Number(n)).toFixed(3), 'bytes/row', n, 'rows', (Number(n) / seconds).toFixed(0), 'rows/s');
}

const float = (v: number) => (Number.isFinite(v) ? String(v) : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');

// Raw samples: series id / timestamp / value codecs.
const raw: string[] = [];
data.labels.forEach((_, ref) => {
  for (let i = 0; i < data.ts[ref].length; i++) raw.push(`${ref + 1},${data.ts[ref][i]},${float(data.values[ref][i])}`);
});
const rawVariants: Record<string, [string, string, string]> = {
  'dd+zstd1 / gorilla+zstd1': ['DoubleDelta, ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'Gorilla, ZSTD(1)'],
  'dd+zstd3 / gorilla+zstd3': ['DoubleDelta, ZSTD(3)', 'DoubleDelta, ZSTD(3)', 'Gorilla, ZSTD(3)'],
  'delta+zstd / zstd (chosen)': ['Delta, ZSTD(3)', 'DoubleDelta, ZSTD(3)', 'ZSTD(3)'],
  'dd+zstd / fpc+zstd': ['DoubleDelta, ZSTD(1)', 'DoubleDelta, ZSTD(1)', 'FPC, ZSTD(1)'],
  'dd+zstd / gorilla+lz4': ['DoubleDelta, LZ4', 'DoubleDelta, LZ4', 'Gorilla, LZ4'],
  't64+zstd / gorilla+zstd': ['T64, ZSTD(3)', 'DoubleDelta, ZSTD(3)', 'Gorilla, ZSTD(3)'],
};
console.log('raw samples');
for (const [name, [sid, ts, val]] of Object.entries(rawVariants)) {
  await measure(
    name,
    `series_id UInt64 CODEC(${sid}), ts DateTime64(3) CODEC(${ts}), value Float64 CODEC(${val})`,
    'series_id, ts',
    'c1 UInt64, c2 Float64, c3 Float64',
    'c1, fromUnixTimestamp64Milli(toInt64(c2)), c3',
    raw.join('\n'),
  );
}

// 5m rollups: id, window start, count, the six floats, the two sample times; over the dataset,
// and over synthetic counters (random increments, resets, jittered scrapes: values that do not
// repeat, the bench's shape).
function rollupRows(add: (w: RollupWindows) => void): string[] {
  const windows = new RollupWindows(300_000);
  add(windows);
  return windows
    .close(Infinity)
    .map((r) => [r.ref + 1, r.start / 1000, r.count, float(r.sum), float(r.min), float(r.max), float(r.counter), r.firstT, float(r.firstV), r.lastT, float(r.lastV)].join(','));
}
const datasetRollups = rollupRows((w) =>
  data.labels.forEach((_, ref) => {
    for (let i = 0; i < data.ts[ref].length; i++) if (!Number.isNaN(data.values[ref][i])) w.add(ref, data.ts[ref][i], data.values[ref][i]);
  }),
);
let seed = 42;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const syntheticRollups = rollupRows((w) => {
  const t0 = 1_700_000_000_000;
  for (let ref = 0; ref < 2000; ref++) {
    let v = 0;
    const rate = 1 + random() * 50;
    for (let k = 0; k < 2 * 2880; k++) {
      v = random() < 0.0005 ? 0 : v + rate * 30 * random();
      w.add(ref, t0 + k * 30_000 + Math.floor(random() * 1000), v);
    }
  }
});
const rollupVariants: Record<string, { id: string; time: string; count: string; float: string }> = {
  'dd+zstd1 / t64+zstd1 / gorilla+zstd1 (002)': { id: 'DoubleDelta, ZSTD(1)', time: 'DoubleDelta, ZSTD(1)', count: 'T64, ZSTD(1)', float: 'Gorilla, ZSTD(1)' },
  'delta+zstd3 / t64+zstd3 / zstd3': { id: 'Delta, ZSTD(3)', time: 'DoubleDelta, ZSTD(3)', count: 'T64, ZSTD(3)', float: 'ZSTD(3)' },
  'delta+zstd3 / t64+zstd3 / gorilla+zstd3': { id: 'Delta, ZSTD(3)', time: 'DoubleDelta, ZSTD(3)', count: 'T64, ZSTD(3)', float: 'Gorilla, ZSTD(3)' },
  'delta+zstd3 / zstd3 / fpc+zstd3': { id: 'Delta, ZSTD(3)', time: 'DoubleDelta, ZSTD(3)', count: 'ZSTD(3)', float: 'FPC, ZSTD(3)' },
  'delta+zstd3 / delta+zstd3 / zstd3': { id: 'Delta, ZSTD(3)', time: 'DoubleDelta, ZSTD(3)', count: 'Delta, ZSTD(3)', float: 'ZSTD(3)' },
  'dd+lz4 / t64+lz4 / gorilla+lz4': { id: 'DoubleDelta, LZ4', time: 'DoubleDelta, LZ4', count: 'T64, LZ4', float: 'Gorilla, LZ4' },
};
for (const [what, rollups] of [
  ['5m rollups of the dataset', datasetRollups],
  ['5m rollups of synthetic counters (2000 series, 2 days at 30 s)', syntheticRollups],
] as const) {
  console.log(`${what}: ${rollups.length} windows`);
  for (const [name, c] of Object.entries(rollupVariants)) {
    const f = (col: string) => `${col} Float64 CODEC(${c.float})`;
    await measure(
      name,
      `series_id UInt64 CODEC(${c.id}), window_start DateTime CODEC(${c.time}), count UInt32 CODEC(${c.count}), ${f('sum')}, ${f('min')}, ${f('max')}, ${f('counter')}, ` +
        `first_ts DateTime64(3) CODEC(${c.time}), ${f('first_value')}, last_ts DateTime64(3) CODEC(${c.time}), ${f('last_value')}`,
      'series_id, window_start',
      'c1 UInt64, c2 UInt32, c3 UInt32, c4 Float64, c5 Float64, c6 Float64, c7 Float64, c8 Int64, c9 Float64, c10 Int64, c11 Float64',
      'c1, toDateTime(c2), c3, c4, c5, c6, c7, fromUnixTimestamp64Milli(c8), c9, fromUnixTimestamp64Milli(c10), c11',
      rollups.join('\n'),
    );
  }
}
await client.close();
