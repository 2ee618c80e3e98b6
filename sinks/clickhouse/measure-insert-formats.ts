/**
 * Measures the statement shapes the ClickHouse writer could use to insert raw samples into
 * embedded chDB, and the writer itself; prints one JSON object per line (rows/s, and whether the
 * stored values' bits equal the input's). The figures behind writer.ts's choice are in README.md.
 *
 *   npx tsx sinks/clickhouse/measure-insert-formats.ts [rows=400000] [block=50000]
 */
import { Readable } from 'node:stream';
import { labelsFromRecord } from '../../model/labels.ts';
import { openClickHouse } from './connection.ts';
import { sampleBlockOf } from './insert-block.ts';
import { migrate } from './schema/migrate.ts';
import { ClickHouseWriter } from './writer.ts';

const ROWS = Number(process.argv[2] ?? 400_000);
const BLOCK = Number(process.argv[3] ?? 50_000);
const SERIES = 4_000;

const client = await openClickHouse('embedded', { logger: { info: () => {}, debug: () => {} } });
const labels = Array.from({ length: SERIES }, (_, i) => labelsFromRecord({ __name__: `m_${i % 50}`, job: 'node', instance: `host-${i}:9100` }));
const ids = Array.from({ length: SERIES }, (_, i) => String(BigInt.asUintN(64, BigInt(i + 1) * 0x9e3779b97f4a7c15n)));
const refs = new Uint32Array(ROWS);
const ts = new Float64Array(ROWS);
const values = new Float64Array(ROWS);
const words = new Uint32Array(values.buffer);
// Fixed seed: half counters (whole numbers), half gauges (arbitrary doubles).
let seed = 42;
const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
for (let i = 0; i < ROWS; i++) {
  refs[i] = i % SERIES;
  ts[i] = 1_763_000_000_000 + Math.floor(i / SERIES) * 15_000;
  values[i] = i % 2 === 0 ? Math.floor(rand() * 1e6) : rand() * 1e6;
}
let expectedBits = 0n;
for (let i = 0; i < ROWS; i++) expectedBits = BigInt.asUintN(64, expectedBits + (BigInt(words[2 * i + 1]) << 32n) + BigInt(words[2 * i]));

const msText = (t: number) => `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}`;
const exec = async (query: string, body?: string) => {
  const r = await client.exec({ query, clickhouse_settings: { max_query_size: '1073741824' }, ...(body !== undefined ? { values: Readable.from([body]) } : {}) });
  r.stream.resume();
};
const token = () => `measure-${Math.random()}`;
const BITS = 'reinterpretAsFloat64(bitOr(bitShiftLeft(toUInt64(hi), 32), toUInt64(lo)))';

type Shape = (db: string, a: number, b: number) => Promise<void>;
const shapes: Record<string, Shape> = {
  // The writer's fast shape: text rows, floats as shortest round-trip text, precise parsing.
  tsv_text: async (db, a, b) => {
    let s = '';
    for (let i = a; i < b; i++) s += `${ids[refs[i]]}\t${msText(ts[i])}\t${values[i]}\n`;
    await exec(`INSERT INTO ${db}.sluice_samples_raw (series_id, ts, value) SETTINGS async_insert = 0, precise_float_parsing = 1, insert_deduplication_token = '${token()}' FORMAT TabSeparated`, s);
  },
  // The writer's exact shape for every row: IEEE halves through format().
  tsv_bits_format: async (db, a, b) => {
    let s = '';
    for (let i = a; i < b; i++) s += `${ids[refs[i]]}\t${ts[i]}\t${words[2 * i + 1]}\t${words[2 * i]}\n`;
    await exec(
      `INSERT INTO ${db}.sluice_samples_raw (series_id, ts, value) SELECT id, fromUnixTimestamp64Milli(t), ${BITS} FROM format(TabSeparated, 'id UInt64, t Int64, hi UInt32, lo UInt32', $$${s}$$) SETTINGS async_insert = 0, insert_deduplication_token = '${token()}'`,
    );
  },
  json_bits_format: async (db, a, b) => {
    let s = '';
    for (let i = a; i < b; i++) s += `{"id":${ids[refs[i]]},"t":${ts[i]},"hi":${words[2 * i + 1]},"lo":${words[2 * i]}}\n`;
    await exec(
      `INSERT INTO ${db}.sluice_samples_raw (series_id, ts, value) SELECT id, fromUnixTimestamp64Milli(t), ${BITS} FROM format(JSONEachRow, 'id UInt64, t Int64, hi UInt32, lo UInt32', $$${s}$$) SETTINGS async_insert = 0, insert_deduplication_token = '${token()}'`,
    );
  },
  // The client's own JSONEachRow insert from objects (cannot carry NaN payloads).
  json_objects: async (db, a, b) => {
    const rows = [];
    for (let i = a; i < b; i++) rows.push({ series_id: ids[refs[i]], ts: ts[i], value: values[i] });
    await client.insert({ table: `${db}.sluice_samples_raw`, values: rows, format: 'JSONEachRow', clickhouse_settings: { async_insert: 0 } });
  },
};

async function check(db: string): Promise<boolean> {
  const rs = await client.query({ query: `SELECT toString(count()) c, toString(sum(reinterpretAsUInt64(value))) s FROM ${db}.sluice_samples_raw`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ c: string; s: string }>();
  return Number(row.c) === ROWS && BigInt(row.s) === expectedBits;
}

let k = 0;
for (const [name, shape] of Object.entries(shapes)) {
  const db = `measure_insert_${process.pid}_${k++}`;
  await migrate(client, { database: db, rawTtlSeconds: null });
  const started = performance.now();
  for (let a = 0; a < ROWS; a += BLOCK) await shape(db, a, Math.min(ROWS, a + BLOCK));
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ shape: name, rows: ROWS, block_rows: BLOCK, rows_per_second: Math.round(ROWS / seconds), exact: await check(db) }));
  await client.command({ query: `DROP DATABASE ${db}` });
}
{
  const db = `measure_insert_${process.pid}_${k++}`;
  await migrate(client, { database: db, rawTtlSeconds: null });
  const writer = new ClickHouseWriter(client, { database: db });
  const started = performance.now();
  for (let a = 0; a < ROWS; a += BLOCK) {
    const b = Math.min(ROWS, a + BLOCK);
    await writer.write(sampleBlockOf({ refs: refs.subarray(a, b), ts: ts.subarray(a, b), values: values.subarray(a, b), length: b - a, tenant: 'default' }, (r) => labels[r]));
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ shape: 'writer (series registration, token, tsv_text)', rows: ROWS, block_rows: BLOCK, rows_per_second: Math.round(ROWS / seconds), exact: await check(db) }));
  await client.command({ query: `DROP DATABASE ${db}` });
}
await client.close();
