import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { Engine } from '../promql/engine/engine.ts';
import { MemoryQueryable } from '../promql/engine/testing/memory-queryable.ts';
import type { QueryResult, QueryValue } from '../promql/engine/types.ts';
import { parseExpr } from '../promql/parser/index.ts';
import { almostEqual } from '../promql/test/runner.ts';
import { loadQueryable } from '../sql/clickhouse-backend.ts';
import { clickhouseTier } from '../sql/clickhouse-tier.ts';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';
import { migrate } from '../../sinks/clickhouse/schema/migrate.ts';
import type { LongTermTier } from './tiered-engine.ts';
import { TieredQueryEngine } from './tiered-engine.ts';
import { SplitQueryable } from './split-queryable.ts';
import { newMatcher } from '../../model/matchers.ts';
import { UnsupportedQueryError } from '../sql/errors.ts';
import { RawSamplesExpiredError } from './raw-horizon.ts';
import { Registry } from 'prom-client';
import { RoutingMetrics } from './routing-metrics.ts';

/**
 * The router against one engine over all the data: the data is split at a boundary between a
 * "chunk store" (an in-memory queryable holding only the newer samples) and real chDB holding
 * only the older ones, and queries spanning the boundary must answer exactly as if one store held
 * all. (In production ClickHouse holds the newer samples too; leaving them out here makes a step
 * routed to the wrong tier visible as missing data.)
 */

const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];
const HOUR = 3_600_000;
const BOUNDARY = 3 * HOUR;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** Six hours of counters (with resets) and gauges (with a stale marker), 15s scrapes with jitter. */
function dataset(): { all: MemoryQueryable; recent: MemoryQueryable; older: MemoryQueryable } {
  const r = rng(7);
  const all = new MemoryQueryable();
  const recent = new MemoryQueryable();
  const older = new MemoryQueryable();
  for (const metric of ['c', 'g']) {
    for (let s = 0; s < 4; s++) {
      const ts: number[] = [];
      const values = new Float64Array(6 * 240 + 10);
      let n = 0;
      let v = 0;
      for (let t = 1000 + s * 777; t < 6 * HOUR; t += 15_000 + Math.floor(r() * 200)) {
        if (metric === 'c') v = r() < 0.01 ? 0 : v + Math.floor(r() * 10);
        else v = Math.round((r() * 100 - 50) * 100) / 100;
        ts.push(t);
        values[n++] = r() < 0.005 ? STALE : v;
      }
      const labels = { __name__: metric, job: `j${s % 2}`, instance: `i${s}` };
      all.add({ labels, ts, values: values.subarray(0, n) });
      const from = ts.findIndex((t) => t >= BOUNDARY);
      recent.add({ labels, ts: ts.slice(from), values: values.subarray(from, n) });
      older.add({ labels, ts: ts.slice(0, from), values: values.subarray(0, from) });
    }
  }
  // A sample exactly at the boundary, on the query grid: the step there must read the recent tier.
  const edgeTs = [BOUNDARY - 60_000, BOUNDARY, BOUNDARY + 60_000];
  all.add({ labels: { __name__: 'edge' }, ts: edgeTs, values: [1, 2, 3] });
  older.add({ labels: { __name__: 'edge' }, ts: edgeTs.slice(0, 1), values: [1] });
  recent.add({ labels: { __name__: 'edge' }, ts: edgeTs.slice(1), values: [2, 3] });
  return { all, recent, older };
}

const RANGE_QUERIES = [
  'edge',
  'c',
  'rate(c[5m])',
  'sum by (job) (rate(c[5m]))',
  'max_over_time(g[10m])',
  'g offset 20m',
  'avg by (job) (g)', // not expressed in SQL today: answered by the engine over both tiers
  'max_over_time(rate(c[5m])[30m:1m])',
  'g @ 10000',
  'c @ end()',
];

function normalise(v: QueryValue): unknown {
  if (v.type !== 'matrix') return v;
  return v.series.map((s) => [s.labels.join(','), Array.from(s.ts), Array.from(s.values)]);
}

function expectSameValue(got: QueryValue, want: QueryValue): void {
  const g = normalise(got) as Array<[string, number[], number[]]>;
  const w = normalise(want) as Array<[string, number[], number[]]>;
  expect(g.map((s) => [s[0], s[1]])).toEqual(w.map((s) => [s[0], s[1]]));
  g.forEach((s, i) => s[2].forEach((x, j) => expect(almostEqual(x, w[i][2][j], 1e-9), `${s[0]} @ ${s[1][j]}: ${x} vs ${w[i][2][j]}`).toBe(true)));
}

describe('TieredQueryEngine over the chunk store and ClickHouse', () => {
  let client: ClickHouseClient;
  let tier: LongTermTier;
  const calls = { translated: 0 };
  const { all, recent, older } = dataset();
  const engine = new Engine({ lookbackDeltaMs: 300_000 });
  let tiered: TieredQueryEngine;
  const database = `sluice_routing_${process.pid}`;

  beforeAll(async () => {
    client = await openClickHouse('embedded', { logger: { info: () => {}, debug: () => {} } });
    await migrate(client, { database, rawTtlSeconds: null });
    await loadQueryable(client, older, { database });
    const ch = clickhouseTier(client, { tables: { series: `${database}.sluice_series`, samples: `${database}.sluice_samples_raw` } });
    tier = {
      raw: ch.raw,
      rawMinTime: () => ch.rawMinTime(),
      instantQuery: (e, t) => ((calls.translated++, ch.instantQuery(e, t))),
      rangeQuery: (e, s, x, st) => ((calls.translated++, ch.rangeQuery(e, s, x, st))),
      withResolution: (r) => ch.withResolution(r),
    };
    tiered = new TieredQueryEngine({ engine, recent, recentMinTime: () => BOUNDARY, longTerm: tier, lookbackDeltaMs: 300_000 });
  });

  afterAll(async () => {
    await client?.close();
  });

  it('refuses an answer or a fetch over maxSamples with the engine\'s error, before reading it all', async () => {
    const tables = { series: `${database}.sluice_series`, samples: `${database}.sluice_samples_raw` };
    const tooMany = 'query processing would load too many samples into memory in query execution';
    const c = parseExpr('c');
    const points = (r: QueryResult) => (r.value.type === 'matrix' ? r.value.series.reduce((n, x) => n + x.ts.length, 0) : -1);
    const answer = points(await clickhouseTier(client, { tables }).rangeQuery(c, HOUR, 2 * HOUR, 60_000));
    expect(answer).toBeGreaterThan(200);
    await expect(clickhouseTier(client, { tables, maxSamples: answer - 1 }).rangeQuery(c, HOUR, 2 * HOUR, 60_000)).rejects.toThrow(tooMany);
    expect(points(await clickhouseTier(client, { tables, maxSamples: answer }).rangeQuery(c, HOUR, 2 * HOUR, 60_000))).toBe(answer);
    // The raw fetch behind the engine: every sample of c, the older tier's three hours.
    const matchers = [newMatcher('=', '__name__', 'c')];
    const all = await clickhouseTier(client, { tables }).raw.querier(0, BOUNDARY).select(matchers, 0, BOUNDARY);
    const held = all.series.reduce((n, x) => {
      const cursor = x.cursor();
      let k = 0;
      while (cursor.next()) k += cursor.length;
      return n + k;
    }, 0);
    expect(held).toBeGreaterThan(2000);
    await expect(clickhouseTier(client, { tables, maxSamples: held - 1 }).raw.querier(0, BOUNDARY).select(matchers, 0, BOUNDARY)).rejects.toThrow(tooMany);
    const exact = await clickhouseTier(client, { tables, maxSamples: held }).raw.querier(0, BOUNDARY).select(matchers, 0, BOUNDARY);
    expect(exact.series.length).toBe(4);
  });

  it.each(RANGE_QUERIES)('range query %s across the boundary equals one engine over all data', async (q) => {
    const expr = parseExpr(q);
    const want: QueryResult = await engine.rangeQuery(all, expr, HOUR, 5 * HOUR, 60_000);
    const got = await tiered.rangeQuery(recent, expr, HOUR, 5 * HOUR, 60_000);
    expectSameValue(got.value, want.value);
  });

  it('sends the steps wholly before the boundary to ClickHouse as SQL, and the recent ones to the engine only', async () => {
    const before = calls.translated;
    await tiered.rangeQuery(recent, parseExpr('sum by (job) (rate(c[5m]))'), HOUR, 5 * HOUR, 60_000);
    expect(calls.translated).toBe(before + 1);
    await tiered.rangeQuery(recent, parseExpr('sum by (job) (rate(c[5m]))'), 4 * HOUR, 5 * HOUR, 60_000);
    expect(calls.translated).toBe(before + 1); // entirely within the chunk store
  });

  it.each([
    ['rate(c[5m])', HOUR],
    ['rate(c[5m])', BOUNDARY + 60_000],
    ['rate(c[5m])', 5 * HOUR],
    ['sum by (job) (g)', BOUNDARY - 1],
    ['avg(g)', HOUR],
  ])('instant query %s at %d equals one engine over all data', async (q, t) => {
    const expr = parseExpr(q);
    const want = await engine.instantQuery(all, expr, t);
    const got = await tiered.instantQuery(recent, expr, t);
    const norm = (v: QueryValue) => (v.type === 'vector' ? [...v.samples].map((s) => [s.labels.join(','), s.v]).sort() : v);
    const g = norm(got.value) as Array<[string, number]>;
    const w = norm(want.value) as Array<[string, number]>;
    expect(g.map((x) => x[0])).toEqual(w.map((x) => x[0]));
    g.forEach((x, i) => expect(almostEqual(x[1], w[i][1], 1e-9)).toBe(true));
  });

  it('selects series across both tiers, each sample once, in time order', async () => {
    const both = new SplitQueryable(tier.raw, recent, () => BOUNDARY);
    const querier = both.querier(0, 6 * HOUR);
    const got = await querier.select([newMatcher('=', '__name__', 'g')], HOUR, 5 * HOUR);
    const want = await all.querier(0, 6 * HOUR).select([newMatcher('=', '__name__', 'g')], HOUR, 5 * HOUR);
    const read = (set: typeof got) =>
      set.series.map((s) => {
        const c = s.cursor();
        const ts: number[] = [];
        const bits: bigint[] = [];
        while (c.next()) {
          for (let i = 0; i < c.length; i++) {
            ts.push(c.ts[i]);
            bits.push(new BigUint64Array(Float64Array.of(c.values[i]).buffer)[0]);
          }
        }
        return [s.labels.join(','), ts, bits];
      });
    expect(read(got)).toEqual(read(want));
    expect(await querier.labelValues('instance', [], 0, 6 * HOUR)).toEqual(['i0', 'i1', 'i2', 'i3']);
    querier.close();
  });
});

describe('TieredQueryEngine where ClickHouse has expired raw samples (the rollups still cover that time)', () => {
  let client: ClickHouseClient;
  const { all, recent } = dataset();
  const engine = new Engine({ lookbackDeltaMs: 300_000 });
  /** ClickHouse as in production: every sample, the newer ones too. */
  let full: LongTermTier;
  const refusing = (t: LongTermTier, rawFrom: number): LongTermTier => ({
    ...t,
    rawMinTime: () => rawFrom,
    instantQuery: () => Promise.reject(new UnsupportedQueryError('a construct under test')),
    rangeQuery: () => Promise.reject(new UnsupportedQueryError('a construct under test')),
  });
  const tiered = (longTerm: LongTermTier) => new TieredQueryEngine({ engine, recent, recentMinTime: () => BOUNDARY, longTerm, lookbackDeltaMs: 300_000 });

  beforeAll(async () => {
    client = await openClickHouse('embedded', { logger: { info: () => {}, debug: () => {} } });
    const database = `sluice_routing_full_${process.pid}`;
    await migrate(client, { database, rawTtlSeconds: null });
    await loadQueryable(client, all, { database });
    full = clickhouseTier(client, { tables: { series: `${database}.sluice_series`, samples: `${database}.sluice_samples_raw` } });
  });

  afterAll(async () => {
    await client?.close();
  });

  it.each([
    ['a range reaching before the raw horizon', () => tiered(refusing(full, 2 * HOUR)).rangeQuery(recent, parseExpr('rate(c[5m])'), HOUR, 5 * HOUR, 60_000)],
    ['an instant query there', () => tiered(refusing(full, 2 * HOUR)).instantQuery(recent, parseExpr('rate(c[5m])'), HOUR)],
  ])('refuses %s that the translator cannot express (422, saying both why)', async (_name, run) => {
    const error = await run().then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RawSamplesExpiredError);
    expect((error as Error).message).toContain('not supported by the ClickHouse translator: a construct under test');
    expect((error as Error).message).toContain(`keeps raw samples only from ${new Date(2 * HOUR).toISOString()} (the raw table's ttl)`);
  });

  it('refuses a query pinned with @ before the raw horizon, whatever its range', async () => {
    const expr = parseExpr(`c @ ${HOUR / 1000}`);
    const want = await engine.rangeQuery(all, expr, 4 * HOUR, 5 * HOUR, 60_000);
    expectSameValue((await tiered(full).rangeQuery(recent, expr, 4 * HOUR, 5 * HOUR, 60_000)).value, want.value);
    const error = await tiered({ ...full, rawMinTime: () => 2 * HOUR })
      .rangeQuery(recent, expr, 4 * HOUR, 5 * HOUR, 60_000)
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(RawSamplesExpiredError);
  });

  it('still answers through the engine where the raw samples it reads are all there', async () => {
    const expr = parseExpr('rate(c[5m])');
    const want = await engine.rangeQuery(all, expr, 2.5 * HOUR, 5 * HOUR, 60_000);
    const got = await tiered(refusing(full, 2 * HOUR)).rangeQuery(recent, expr, 2.5 * HOUR, 5 * HOUR, 60_000);
    expectSameValue(got.value, want.value);
  });

  it.each(['sum by (job) (rate(c[5m]))', 'max_over_time(g[10m])'])(
    'with no raw samples at all (raw: false), answers %s across the boundary from SQL and the chunk store',
    async (q) => {
      const expr = parseExpr(q);
      const want = await engine.rangeQuery(all, expr, HOUR, 5 * HOUR, 60_000);
      // Any engine read of raw samples would fail: the straddling steps must be the translator's.
      const got = await tiered({ ...full, rawMinTime: () => Infinity }).rangeQuery(recent, expr, HOUR, 5 * HOUR, 60_000);
      expectSameValue(got.value, want.value);
    },
  );
});

describe('RoutingMetrics', () => {
  let client: ClickHouseClient;
  const { all, recent, older } = dataset();
  const engine = new Engine({ lookbackDeltaMs: 300_000 });
  let tier: LongTermTier;

  beforeAll(async () => {
    client = await openClickHouse('embedded', { logger: { info: () => {}, debug: () => {} } });
    const database = `sluice_routing_metrics_${process.pid}`;
    await migrate(client, { database, rawTtlSeconds: null });
    await loadQueryable(client, older, { database });
    tier = clickhouseTier(client, { tables: { series: `${database}.sluice_series`, samples: `${database}.sluice_samples_raw` } });
  });

  afterAll(async () => {
    await client?.close();
  });

  it('count the steps each tier answered, the engine fallbacks and the refusals', async () => {
    const registry = new Registry();
    const metrics = new RoutingMetrics(registry);
    const read = async () =>
      Object.fromEntries((await registry.getMetricsAsJSON()).flatMap((m) => m.values.map((v) => [`${m.name}{${Object.values(v.labels).join(',')}}`, v.value])));
    const tiered = (longTerm: LongTermTier) => new TieredQueryEngine({ engine, recent, recentMinTime: () => BOUNDARY, longTerm, lookbackDeltaMs: 300_000, metrics });
    // 241 steps: the SQL answers those before the boundary's read window, the engine the rest.
    const got = await tiered(tier).rangeQuery(recent, parseExpr('rate(c[5m])'), HOUR, 5 * HOUR, 60_000);
    expectSameValue(got.value, (await engine.rangeQuery(all, parseExpr('rate(c[5m])'), HOUR, 5 * HOUR, 60_000)).value);
    let m = await read();
    expect(m['sluice_query_tier_steps_total{clickhouse_sql}']).toBe(120); // steps at 1h..2h59m: windows end before 3h
    expect(m['sluice_query_tier_steps_total{both_tiers}']).toBe(5); // 3h..3h4m read across the boundary
    expect(m['sluice_query_tier_steps_total{chunk_store}']).toBe(116);
    const refusing: LongTermTier = { ...tier, rangeQuery: () => Promise.reject(new UnsupportedQueryError('a construct under test')) };
    await tiered(refusing).rangeQuery(recent, parseExpr('rate(c[5m])'), HOUR, 5 * HOUR, 60_000);
    await tiered({ ...refusing, rawMinTime: () => 2 * HOUR })
      .rangeQuery(recent, parseExpr('rate(c[5m])'), HOUR, 5 * HOUR, 60_000)
      .catch(() => undefined);
    m = await read();
    expect(m['sluice_query_tier_engine_fallbacks_total{unsupported}']).toBe(2);
    expect(m['sluice_query_tier_steps_total{both_tiers}']).toBe(5 + 125);
    expect(m['sluice_query_tier_refused_total{raw_expired}']).toBe(1);
  });
});
