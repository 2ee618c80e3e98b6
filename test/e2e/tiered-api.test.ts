import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { ClickHouseClient } from '@clickhouse/client';
import { labelsFromRecord, type Labels } from '../../model/labels.ts';
import { ApiServer } from '../../pipelines/runtime/api-server.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { createStoreApiHandler } from '../../query/api/store-api.ts';
import { Engine } from '../../query/promql/engine/engine.ts';
import { MemoryQueryable } from '../../query/promql/engine/testing/memory-queryable.ts';
import { parseExpr } from '../../query/promql/parser/index.ts';
import { loadQueryable } from '../../query/sql/clickhouse-backend.ts';
import { clickhouseTier, tablesOf } from '../../query/sql/clickhouse-tier.ts';
import { ChunkStore } from '../../sinks/chunks/chunk-store.ts';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';
import { migrate } from '../../sinks/clickhouse/schema/migrate.ts';
import { ChdbHttpServer } from '../harness/clickhouse-server.ts';

/**
 * The Prometheus HTTP API over both tiers, through a real HTTP server: a chunk store holding the
 * last hour and embedded ClickHouse holding the two hours before it. Range queries across the two
 * answer as one store holding everything would, and label values built to break SQL (quotes,
 * backslashes, `'; DROP`, unicode, NUL) travel through every endpoint as data, never as SQL.
 *
 * Twice: with ClickHouse embedded in the test's process, and over ClickHouse's HTTP protocol (chDB
 * behind it in a process of its own, test/harness/chdb-http-server.ts), where query parameters
 * travel as URL text and the server parses them.
 */

const logger = pino({ level: 'silent' });
const T0 = 1_700_000_000_000; // where the chunk store begins
const INTERVAL = 30_000;

const EVIL = [
  "it's",
  "'; DROP TABLE sluice.sluice_samples_raw; --",
  'back\\slash\\',
  '"double" quotes',
  'ünïcödé €😀',
  'nul\u0000byte',
  '{p0:String}',
  ') OR 1=1 --',
];

function seriesList(): Labels[] {
  const out = [labelsFromRecord({ __name__: 'req_total', job: 'api', path: '/ok' })];
  for (const path of EVIL) out.push(labelsFromRecord({ __name__: 'req_total', job: 'api', path }));
  return out;
}

const SERIES = seriesList();
/** Counters with slope s + 1 and a reset at k = 150 (around T0 - 45m, in the older tier). */
const valueAt = (s: number, k: number) => (s + 1) * (k < 150 ? k : k - 150);

/** The API under test (set by the describe block running). */
let base: string;

interface ApiBody {
  status: string;
  infos?: string[];
  error?: string;
  data: {
    result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }>;
  } & Array<Record<string, string>> & string[];
}

async function get(path: string, params: Record<string, string | string[]>): Promise<{ status: number; body: ApiBody }> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
  const res = await fetch(`${base}${path}?${q}`);
  return { status: res.status, body: (await res.json()) as ApiBody };
}

const promqlString = (s: string) => JSON.stringify(s);
const regexQuote = (s: string) => s.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);

describe.each([['embedded'], ['http']] as const)('the query API over the chunk store and ClickHouse (%s)', (mode) => {
  const all = new MemoryQueryable();
  let dir: string;
  let store: ChunkStore;
  let client: ClickHouseClient;
  let database: string;
  let api: ApiServer;
  let http: ChdbHttpServer | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-tiered-'));
    const older = new MemoryQueryable();
    store = await ChunkStore.open(join(dir, 'chunks'), { logger });
    const first = -2 * 120; // two hours of 30s scrapes before T0
    const last = 120; // one hour after
    for (let s = 0; s < SERIES.length; s++) {
      const ts: number[] = [];
      const values: number[] = [];
      for (let k = first; k < last; k++) {
        ts.push(T0 + k * INTERVAL + 3_000);
        values.push(valueAt(s, k - first));
      }
      all.add({ labels: SERIES[s], ts, values });
      const split = ts.findIndex((t) => t >= T0);
      older.add({ labels: SERIES[s], ts: ts.slice(0, split), values: values.slice(0, split) });
      await store.append(
        new Uint32Array(last).fill(s),
        () => SERIES[s],
        Float64Array.from(ts.slice(split)),
        Float64Array.from(values.slice(split)),
        ts.length - split,
      );
    }
    if (mode === 'http') {
      http = await ChdbHttpServer.start(join(dir, 'chdb-http'));
      client = await openClickHouse(http.url, { logger });
    } else {
      client = await openClickHouse('embedded', { logger });
    }
    database = `sluice_tiered_${process.pid}`;
    await migrate(client, { database, rawTtlSeconds: null });
    await loadQueryable(client, older, { database });
    const server = new ApiServer(new SelfMetrics());
    server.mount(createStoreApiHandler(store, { lookbackDeltaMs: 300_000, timeoutMs: 60_000 }, logger, clickhouseTier(client, { tables: tablesOf(database) })));
    base = `http://${await server.listen('127.0.0.1:0')}`;
    server.setReady(true);
    api = server;
  });

  afterAll(async () => {
    await api?.close();
    await store?.close();
    await client?.close();
    await http?.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers a range across both tiers as one store holding everything would', async () => {
    const query = 'sum by (path) (rate(req_total[5m]))';
    const start = T0 - 90 * 60_000;
    const end = T0 + 50 * 60_000;
    const { status, body } = await get('/api/v1/query_range', { query, start: String(start / 1000), end: String(end / 1000), step: '60' });
    expect(status).toBe(200);
    const want = await new Engine({ lookbackDeltaMs: 300_000 }).rangeQuery(all, parseExpr(query), start, end, 60_000);
    if (want.value.type !== 'matrix') throw new Error('bug: expected a matrix');
    expect(body.data.result).toHaveLength(want.value.series.length);
    for (const s of want.value.series) {
      const got = body.data.result.find((r) => r.metric.path === labelsFromRecordValue(s.labels, 'path'));
      expect(got, `series ${s.labels.join(',')}`).toBeDefined();
      expect(got!.values.map((p) => p[0] * 1000)).toEqual(Array.from(s.ts));
      got!.values.forEach((p, i) => expect(Number(p[1])).toBeCloseTo(s.values[i], 9));
    }
  });

  describe.each(EVIL.map((v) => [v]))('a label value %j', (value) => {
    const older = { start: String((T0 - 100 * 60_000) / 1000), end: String((T0 - 40 * 60_000) / 1000), step: '300' };

    it('selects exactly its series through query_range over the SQL tier (= and =~)', async () => {
      for (const matcher of [`path=${promqlString(value)}`, `path=~${promqlString(regexQuote(value))}`]) {
        const { status, body } = await get('/api/v1/query_range', { query: `req_total{${matcher}}`, ...older });
        expect(status, JSON.stringify(body)).toBe(200);
        expect(body.data.result.map((r) => r.metric.path)).toEqual([value]);
        expect(body.data.result[0].values).toHaveLength(13);
      }
    });

    it('leaves it out with != and !~', async () => {
      const { body } = await get('/api/v1/query_range', { query: `count(req_total{path!=${promqlString(value)}})`, ...older });
      expect(body.data.result[0].values[0][1]).toBe(String(SERIES.length - 1));
    });

    it('finds its series through /api/v1/series and its value through label values, across both tiers', async () => {
      const match = `req_total{path=${promqlString(value)}}`;
      const range = { start: String((T0 - 110 * 60_000) / 1000), end: String((T0 + 10 * 60_000) / 1000) };
      const series = await get('/api/v1/series', { 'match[]': match, ...range });
      expect(series.status).toBe(200);
      expect(series.body.data).toEqual([{ __name__: 'req_total', job: 'api', path: value }]);
      const values = await get('/api/v1/label/path/values', { 'match[]': match, start: range.start, end: String((T0 - 60 * 60_000) / 1000) });
      expect(values.body.data).toEqual([value]);
    });
  });

  it.each([
    ['bogus', 400, 'invalid parameter "resolution": "bogus" is not one of auto, raw, 5m, 1h'],
    ['5m', 422, 'not supported by the ClickHouse translator'],
    ['raw', 200, ''],
    ['auto', 200, ''],
  ])('takes resolution=%s for the part ClickHouse answers (HTTP %d)', async (resolution, status, message) => {
    const older = { start: String((T0 - 100 * 60_000) / 1000), end: String((T0 - 40 * 60_000) / 1000), step: '300' };
    const res = await get('/api/v1/query_range', { query: 'sum(rate(req_total[5m]))', resolution, ...older });
    expect(res.status).toBe(status);
    if (message !== '') expect(res.body.error).toContain(message);
    else expect(res.body.data.result[0].values).toHaveLength(13);
  });

  it('reads a forced rollup resolution (the info says which), here empty: nothing was downsampled', async () => {
    const older = { start: String((T0 - 100 * 60_000) / 1000), end: String((T0 - 40 * 60_000) / 1000), step: '300' };
    const res = await get('/api/v1/query_range', { query: 'sum_over_time(req_total[1h])', resolution: '5m', ...older });
    expect(res.status).toBe(200);
    expect(res.body.data.result).toEqual([]);
    expect(res.body.infos?.join('\n')).toContain('5m rollups');
  });

  it('still has every table and every row after the attempts', async () => {
    const rs = await client.query({ query: `SELECT count() AS n FROM ${database}.sluice_samples_raw`, format: 'JSONEachRow' });
    expect(Number((await rs.json<{ n: string }>())[0].n)).toBe(SERIES.length * 240);
    const tables = await client.query({ query: `SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name`, query_params: { db: database }, format: 'JSONEachRow' });
    expect((await tables.json<{ name: string }>()).map((t) => t.name)).toEqual(expect.arrayContaining(['sluice_samples_raw', 'sluice_series']));
  });
});

function labelsFromRecordValue(labels: Labels, name: string): string | undefined {
  for (let i = 0; i < labels.length; i += 2) if (labels[i] === name) return labels[i + 1];
  return undefined;
}
