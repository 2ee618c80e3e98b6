import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../../model/labels.ts';
import type { Rollup } from '../../model/rollup-batch.ts';
import { float64Bits, NORMAL_NAN, STALE_NAN } from '../../model/stale-nan.ts';
import { openClickHouse } from './connection.ts';
import { blockToken, decodeBlock, encodeBlock, rollupBlockOf, sampleBlockOf, SampleBlockBuilder } from './insert-block.ts';
import { migrate } from './schema/migrate.ts';
import { seriesId } from './series-id.ts';
import { classifyInsertError, InsertTimeoutError } from './insert-errors.ts';
import { ClickHouseWriteError, ClickHouseWriter } from './writer.ts';
import { Readable } from 'node:stream';

// One chDB per test file (in memory); a fresh database per test.
let client: ClickHouseClient;
let n = 0;
beforeAll(async () => {
  client = await openClickHouse('embedded', { logger: { info: () => {}, debug: () => {} } });
});
afterAll(async () => {
  await client.close();
});

async function freshDb(): Promise<string> {
  const database = `writer_test_${process.pid}_${n++}`;
  await migrate(client, { database, rawTtlSeconds: null, rollup5mTtlSeconds: null, rollup1hTtlSeconds: null });
  return database;
}

async function rows<T>(query: string): Promise<T[]> {
  return (await client.query({ query, format: 'JSONEachRow' })).json<T>();
}

/** Special values as bit patterns stored into a Float64Array, so signalling NaNs are not quieted. */
function bitsArray(hex: readonly string[]): Float64Array {
  const out = new Float64Array(hex.length);
  const view = new DataView(out.buffer);
  hex.forEach((h, i) => view.setBigUint64(i * 8, BigInt(`0x${h}`), true));
  return out;
}

const SERIES: Labels[] = [
  labelsFromRecord({ __name__: 'up', job: 'node', instance: 'a:9100' }),
  labelsFromRecord({ __name__: 'http_requests_total', path: "/it's \\ \"quoted\"\t\n", unicode: 'żółć 🚀' }),
];
const labelsOf = (ref: number) => SERIES[ref];

describe('ClickHouseWriter', () => {
  // Every value bit-exact, through both statement shapes (times 2023 take the text shape, times
  // before 2001 and NaNs the bits shape).
  const VALUES = [
    ['plain', '3ff8000000000000'],
    ['stale marker', '7ff0000000000002'],
    ['Prometheus NaN', '7ff8000000000001'],
    ['JavaScript NaN', '7ff8000000000000'],
    ['+Inf', '7ff0000000000000'],
    ['-Inf', 'fff0000000000000'],
    ['-0', '8000000000000000'],
    ['smallest subnormal', '0000000000000001'],
    ['largest double', '7fefffffffffffff'],
    ['0.1', '3fb999999999999a'],
    ['1/3', '3fd5555555555555'],
    ['-1e-300', '81a56e1fc2f8f359'],
  ] as const;

  for (const [when, t0] of [
    ['recent times', 1_700_000_000_123],
    ['times before 2001', 86_400_000],
  ] as const) {
    it(`stores every float bit-exactly (${when})`, async () => {
      const database = await freshDb();
      const writer = new ClickHouseWriter(client, { database });
      const values = bitsArray(VALUES.map((v) => v[1]));
      const ts = Float64Array.from(VALUES, (_, i) => t0 + i * 15_001);
      const refs = Uint32Array.from(VALUES, (_, i) => i % 2);
      const result = await writer.write(sampleBlockOf({ refs, ts, values, length: VALUES.length, tenant: 'acme' }, labelsOf));
      expect(result).toEqual({ table: 'sluice_samples_raw', rows: VALUES.length, series: 2 });
      const got = await rows<{ id: string; t: string; bits: string }>(
        `SELECT toString(series_id) id, toString(toUnixTimestamp64Milli(ts)) t, leftPad(lower(hex(reinterpretAsUInt64(value))), 16, '0') bits FROM ${database}.sluice_samples_raw ORDER BY ts`,
      );
      expect(got.map((r) => [VALUES.find((_, i) => Number(r.t) === ts[i])?.[0], r.bits, r.id])).toEqual(
        VALUES.map(([name, hex], i) => [name, hex, seriesId(SERIES[i % 2]).toString()]),
      );
    });
  }

  it('registers each series once per process, with tenant, metric and labels', async () => {
    const database = await freshDb();
    const writer = new ClickHouseWriter(client, { database });
    const batch = { refs: Uint32Array.of(0, 1, 0), ts: Float64Array.of(1.7e12, 1.7e12, 1.7e12 + 1), values: Float64Array.of(1, 2, 3), length: 3, tenant: 'acme' };
    expect((await writer.write(sampleBlockOf(batch, labelsOf))).series).toBe(2);
    expect((await writer.write(sampleBlockOf({ ...batch, ts: batch.ts.map((t) => t + 10) }, labelsOf))).series).toBe(0);
    const got = await rows<{ metric: string; tenant: string; labels: Record<string, string> }>(
      `SELECT metric, tenant, labels FROM ${database}.sluice_series ORDER BY metric`,
    );
    expect(got).toEqual([
      { metric: 'http_requests_total', tenant: 'acme', labels: { path: "/it's \\ \"quoted\"\t\n", unicode: 'żółć 🚀' } },
      { metric: 'up', tenant: 'acme', labels: { instance: 'a:9100', job: 'node' } },
    ]);
  });

  it('drops a repeated block at insert (same token), but not a different block', async () => {
    const database = await freshDb();
    const writer = new ClickHouseWriter(client, { database });
    // A day boundary inside the block: the insert splits into two partitions.
    const midnight = Math.floor(1.7e12 / 86_400_000) * 86_400_000;
    const values = bitsArray(['3ff0000000000000', '7ff0000000000002', '4000000000000000']);
    const block = sampleBlockOf({ refs: Uint32Array.of(0, 0, 1), ts: Float64Array.of(midnight - 1, midnight + 1, midnight + 2), values, length: 3, tenant: 'acme' }, labelsOf);
    for (let i = 0; i < 3; i++) await new ClickHouseWriter(client, { database }).write(block);
    const other = sampleBlockOf({ refs: Uint32Array.of(0), ts: Float64Array.of(midnight + 5), values: Float64Array.of(7), length: 1, tenant: 'acme' }, labelsOf);
    await writer.write(other);
    // Without FINAL: deduplication at insert (non_replicated_deduplication_window) did the work.
    expect(await rows(`SELECT toString(count()) c FROM ${database}.sluice_samples_raw`)).toEqual([{ c: '4' }]);
  });

  it('writes rollups bit-exactly, and drops a repeated rollup block at insert', async () => {
    const database = await freshDb();
    const writer = new ClickHouseWriter(client, { database });
    const nan = bitsArray(['7ff8000000000001']);
    const w = 1_700_000_100_000 - (1_700_000_100_000 % 300_000);
    const mk = (ref: number, start: number, sum: number): Rollup => ({
      ref, start, count: 20, sum, min: -1.5, max: 1e300, counter: 12345.678, firstT: start + 1, firstV: -0, lastT: start + 299_999, lastV: 0.1,
    });
    const rollups = [mk(0, w, 3.25), mk(1, w, nan[0]), mk(0, 600_000, 1)];
    const block = rollupBlockOf({ rollups, tenant: 'acme', resolutionMs: 300_000 }, labelsOf);
    await writer.write(block);
    await writer.write(block);
    const got = await rows<Record<string, string>>(
      `SELECT toString(toUnixTimestamp(window_start)) ws, toString(count) c, hex(reinterpretAsUInt64(sum)) sum, hex(reinterpretAsUInt64(first_value)) fv,
              toString(toUnixTimestamp64Milli(last_ts)) lt, toString(last_value) lv, toString(max) max FROM ${database}.sluice_rollup_5m ORDER BY window_start, sum`,
    );
    expect(got).toEqual([
      { ws: '600', c: '20', sum: float64Bits(1).toUpperCase(), fv: '8000000000000000', lt: String(600_000 + 299_999), lv: '0.1', max: '1e300' },
      { ws: String(w / 1000), c: '20', sum: float64Bits(3.25).toUpperCase(), fv: '8000000000000000', lt: String(w + 299_999), lv: '0.1', max: '1e300' },
      { ws: String(w / 1000), c: '20', sum: '7FF8000000000001', fv: '8000000000000000', lt: String(w + 299_999), lv: '0.1', max: '1e300' },
    ]);
  });

  it('refuses blocks it does not store, with the reason', async () => {
    const database = await freshDb();
    const onlyHourly = new ClickHouseWriter(client, { database, raw: false, rollupResolutionsMs: [3_600_000] });
    const samples = sampleBlockOf({ refs: Uint32Array.of(0), ts: Float64Array.of(1.7e12), values: Float64Array.of(1), length: 1, tenant: 't' }, labelsOf);
    await expect(onlyHourly.write(samples)).rejects.toThrow(/raw samples are not stored/);
    const fiveMin = rollupBlockOf({ rollups: [], tenant: 't', resolutionMs: 300_000 }, labelsOf);
    await expect(onlyHourly.write(fiveMin)).rejects.toThrow(/resolution 300000 ms arrived; this sink stores 60m/);
    expect(() => new ClickHouseWriter(client, { database, rollupResolutionsMs: [60_000] })).toThrow(ClickHouseWriteError);
  });
});

describe('classifyInsertError', () => {
  // Real errors from chDB through the client, and what a server connection throws.
  const CASES: Array<{ name: string; fail: () => Promise<unknown>; want: ReturnType<typeof classifyInsertError> }> = [
    { name: 'missing database', fail: () => client.exec({ query: 'INSERT INTO no_such_db.t (a) FORMAT TabSeparated', values: Readable.from(['1\n']) }), want: { reason: 'unknown_table', retryable: true } },
    { name: 'syntax error', fail: () => client.command({ query: 'INSERT INTO x SELEC 1' }), want: { reason: 'rejected', retryable: false } },
    {
      name: 'unparsable row',
      fail: async () => {
        const database = await freshDb();
        return client.exec({ query: `INSERT INTO ${database}.sluice_samples_raw (series_id, ts, value) FORMAT TabSeparated`, values: Readable.from(['x\ty\tz\n']) });
      },
      want: { reason: 'rejected', retryable: false },
    },
    { name: 'connection refused', fail: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' })), want: { reason: 'connection', retryable: true } },
    { name: 'the sink timed out', fail: async () => Promise.reject(new InsertTimeoutError(5)), want: { reason: 'timeout', retryable: true } },
    { name: 'a bug', fail: async () => Promise.reject(new TypeError('x is undefined')), want: { reason: 'bug', retryable: false } },
  ];
  for (const c of CASES) {
    it(c.name, async () => {
      const error = await c.fail().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(classifyInsertError(error)).toEqual(c.want);
    });
  }
});

describe('insert block encoding', () => {
  it('round-trips samples and rollups bit-exactly and derives the token from the content', () => {
    const values = bitsArray(['7ff0000000000002', '7ff8000000000001', '8000000000000000']);
    const b = new SampleBlockBuilder();
    b.append({ refs: Uint32Array.of(0, 1), ts: Float64Array.of(1, 2), values: values.subarray(0, 2), length: 2, tenant: 'a' }, labelsOf);
    b.append({ refs: Uint32Array.of(0), ts: Float64Array.of(3), values: values.subarray(2), length: 1, tenant: 'b' }, labelsOf);
    const block = b.build();
    expect(block.series.map((s) => s.tenant)).toEqual(['a', 'a', 'b']);
    const bytes = encodeBlock(block);
    const back = decodeBlock(bytes);
    expect(back).toEqual({ ...block, series: block.series.map((s) => ({ ...s })) });
    if (back.kind !== 'samples') throw new Error('kind');
    expect([...back.values].map(float64Bits)).toEqual(['7ff0000000000002', '7ff8000000000001', '8000000000000000']);
    const ids = BigUint64Array.from(block.series, (s) => seriesId(s.labels));
    expect(blockToken(back, ids)).toBe(blockToken(block, ids));
    expect(blockToken({ ...block, ts: Float64Array.of(1, 2, 4) }, ids)).not.toBe(blockToken(block, ids));
    const staleToQuiet = Float64Array.from(block.values);
    new DataView(staleToQuiet.buffer).setBigUint64(0, 0x7ff8000000000000n, true);
    expect(blockToken({ ...block, values: staleToQuiet }, ids)).not.toBe(blockToken(block, ids));

    const r = rollupBlockOf({ rollups: [{ ref: 1, start: 300_000, count: 2, sum: NORMAL_NAN, min: 1, max: 2, counter: 3, firstT: 300_001, firstV: STALE_NAN, lastT: 300_002, lastV: 2 }], tenant: 'x', resolutionMs: 300_000 }, labelsOf);
    const rb = decodeBlock(encodeBlock(r));
    if (rb.kind !== 'rollups') throw new Error('kind');
    expect(float64Bits(rb.rollups[0].sum)).toBe('7ff8000000000001');
    expect(float64Bits(rb.rollups[0].firstV)).toBe('7ff0000000000002');
    expect(rb.rollups[0].ref).toBe(0);
    expect(rb.series).toEqual([{ tenant: 'x', labels: SERIES[1] }]);
  });

  it('reports a truncated or unknown block', () => {
    const bytes = encodeBlock(sampleBlockOf({ refs: Uint32Array.of(0), ts: Float64Array.of(1), values: Float64Array.of(1), length: 1, tenant: 'a' }, labelsOf));
    expect(() => decodeBlock(bytes.subarray(0, bytes.length - 3))).toThrow(/block truncated reading values/);
    const bad = Buffer.from(bytes);
    bad[0] = 9;
    expect(() => decodeBlock(bad)).toThrow(/unknown block version 9/);
  });
});
