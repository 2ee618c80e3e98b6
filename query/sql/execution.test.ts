import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { Engine } from '../promql/engine/engine.ts';
import { MemoryQueryable } from '../promql/engine/testing/memory-queryable.ts';
import type { QueryValue } from '../promql/engine/types.ts';
import { openEmbeddedTestBackend } from './open-test-backend.ts';
import { closeValues, comparable } from './testing/compare-values.ts';
import { UnsupportedQueryError } from './errors.ts';
import { naturalKey } from './natural-sort.ts';
import { formatFloatPlainSql } from './float-format.ts';
import { formatFloatPlain } from '../promql/engine/annotations.ts';
import { naturalLess } from '../promql/engine/natural-sort.ts';
import type { PromQLBackend } from '../promql/test/runner.ts';
import { MIGRATIONS, migrate } from '../../sinks/clickhouse/schema/migrate.ts';

/**
 * The translator over embedded chDB against the TypeScript engine on small seeded random data
 * (counters with resets, gauges, stale markers, gaps, timestamps off the evaluation grid).
 * One chDB session for the file.
 */

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Values that stress the compensated numerics: near the float64 maximum (sums overflow, means do
 * not), 1e16 plus small noise (naive variance cancels), and now and then ±Inf or NaN.
 */
function hostileValue(r: () => number, s: number): number {
  const x = r();
  if (x < 0.02) return [Infinity, -Infinity, NaN][Math.floor(r() * 3)];
  if (s % 3 === 0) return 1.7e308 * (0.9 + r() * 0.1) * (s === 3 ? -1 : 1);
  if (s % 3 === 1) return 1e16 + Math.floor(r() * 8) * 2;
  return (r() - 0.5) * 1e-3;
}

const STALE = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0];

/** Where randomData puts a stale marker: a value no series holds otherwise, replaced by withStaleMarkers. */
const STALE_MARK = -1.2345e300;

/**
 * `values` in a Float64Array, each STALE_MARK a stale marker: a plain array would quiet the
 * marker's signalling NaN into an ordinary NaN, so the markers are written into the typed array.
 */
function withStaleMarkers(values: number[]): Float64Array {
  const out = Float64Array.from(values);
  values.forEach((v, k) => {
    if (v === STALE_MARK) out[k] = STALE;
  });
  return out;
}

function randomData(seed: number): MemoryQueryable {
  const r = rng(seed);
  const q = new MemoryQueryable();
  for (const metric of ['c', 'g', 'h']) {
    for (let s = 0; s < 6; s++) {
      const ts: number[] = [];
      const values: number[] = [];
      let t = Math.floor(r() * 10_000) + 1;
      let v = 0;
      while (t < 3_600_000) {
        if (r() < 0.05) v = metric === 'c' ? 0 : v; // counter reset
        if (metric === 'c') v += Math.floor(r() * 10);
        else if (metric === 'g') v = Math.round((r() * 100 - 50) * 100) / 100;
        else v = hostileValue(r, s);
        ts.push(t);
        values.push(r() < 0.02 ? STALE_MARK : v);
        t += 7_000 + Math.floor(r() * 20_000) + (r() < 0.03 ? 600_000 : 0);
      }
      q.add({ labels: { __name__: metric, job: `j${s % 3}`, instance: `i${s}`, ...(s % 2 ? { zone: "a'b" } : {}) }, ts, values: withStaleMarkers(values) });
    }
  }
  // `t`: 14 series of few distinct values (NaN, ±0 and ±Inf among them), so topk, bottomk and sort meet ties everywhere.
  const few = [0, 1, 1, 2, 3, NaN, -0, Infinity, -Infinity];
  for (let s = 0; s < 14; s++) {
    const ts: number[] = [];
    const values: number[] = [];
    for (let t = 1 + Math.floor(r() * 30_000); t < 3_600_000; t += 15_000 + Math.floor(r() * 30_000)) {
      ts.push(t);
      values.push(r() < 0.02 ? STALE_MARK : few[Math.floor(r() * (s % 4 === 0 ? few.length : 4))]);
    }
    q.add({ labels: { __name__: s % 5 === 0 ? 'u' : 't', job: `j${s % 3}`, instance: `i${s}` }, ts, values: withStaleMarkers(values) });
  }
  return q;
}

const QUERIES = [
  'c', 'g{job="j1"}', 'g offset 2m', 'g{zone="a\'b"}', 'c{instance=~"i[0-3]"}', 'c{instance!~"i1|i2"}',
  'rate(c[5m])', 'increase(c[3m])', 'delta(g[4m])', 'irate(c[2m])', 'idelta(g[2m])', 'deriv(g[10m])',
  'sum_over_time(g[5m])', 'count_over_time(c[2m])', 'min_over_time(g[5m])', 'max_over_time(g[5m])', 'last_over_time(g[3m])',
  'changes(g[10m])', 'resets(c[10m])', 'present_over_time(c[1m])',
  'sum by (job) (rate(c[5m]))', 'count without (instance) (g)', 'max by (zone) (g)', 'min(g)', 'group by (job) (c)',
  'quantile by (job) (0.3, g)', 'g * 2', '2 - g', 'g > 10', 'g >= bool 0', 'c / on (instance) g', 'g % 7', 'g ^ 2',
  'c + ignoring (zone) g', 'g and on (job) c', 'g unless on (instance) (g > 0)', 'g or c', 'abs(g)', 'clamp(g, -10, 10)',
  'round(g, 5)', 'sqrt(c)', 'ln(c)', '-g', 'time()', 'vector(time())', 'sum by (job) (g) * on (job) group_left count by (job) (c)',
  'g @ 1800', 'rate(c[5m] @ 1200 offset 1m)',
  'avg_over_time(g[5m])', 'avg_over_time(h[10m])', 'stddev_over_time(h[10m])', 'stdvar_over_time(g[5m])', 'stdvar_over_time(h[10m])',
  'quantile_over_time(0.3, g[10m])', 'quantile_over_time(1, h[10m])', 'mad_over_time(g[10m])', 'mad_over_time(h[10m])',
  'predict_linear(g[10m], 600)', 'predict_linear(h[10m], 60)', 'deriv(h[10m])', 'first_over_time(g[5m])',
  'ts_of_max_over_time(g[10m])', 'ts_of_min_over_time(h[10m])', 'ts_of_first_over_time(c[3m] offset 1m)', 'ts_of_last_over_time(g[3m] @ 1500)',
  'absent(nonexistent{job="x", a=~"b"})', 'absent(g{job="j1"})', 'absent(sum(g{job="nope"}))', 'absent_over_time(g{job="j1", instance="i9"}[1m])',
  'absent_over_time(c{instance="i2"}[40s])', 'timestamp(g)', 'timestamp(g offset 1m)', 'timestamp(abs(g))', 'timestamp(g @ 2000)',
  'hour()', 'minute()', 'day_of_week()', 'year(h)', 'day_of_year(g * 1e9)', 'days_in_month(g * 3e8)', 'month(c * 1e7)', 'year(g * 1e10)',
  'minute(g * 1e5)', 'day_of_month(-g * 1e9)', 'day_of_week(g * 1e8)', 'hour(g * 1e6)', 'days_in_month(h)',
  'scalar(g{instance="i0"})', 'g * scalar(c{instance="i1"})', 'scalar(g)', 'min_of(scalar(g{instance="i0"}), 3)', 'max_of(-0, 0)', 'min_of(-0, 0)',
  'rate(c[5m:1m])', 'max_over_time(rate(c[2m])[10m:30s])', 'avg_over_time(g[7m:45s] offset 1m)', 'sum_over_time(g[5m:] @ 1500)',
  'last_over_time(abs(g)[5m:])', 'min_over_time(sum by (job) (g)[10m:1m])', 'absent_over_time(nope[5m:1m])', 'absent_over_time(g{instance="i1"}[2m:10s])',
  'quantile_over_time(0.5, g[10m:1m])', 'deriv(sum(c)[10m:1m])', 'max_over_time(avg_over_time(g[3m:30s])[10m:1m])', 'count_over_time((g > 0)[1h:7s])',
  'label_replace(g, "dst", "x-$1-${2}y$$", "instance", `i(\\d)(.*)`)', 'label_replace(g, "job", "", "job", "j1")', 'label_replace(c, "zone", "$1", "zone", "(a).*")',
  'label_replace(g, "__name__", "renamed_$1", "job", "j(.)")', 'label_replace(g, "n", "$name", "instance", "(?P<name>i)1")', 'label_replace(g, "a", `\\$1\\`, "job", "(.*)")',
  'label_join(g, "dst", "-", "job", "instance", "missing")', 'label_join(c, "job", "", "zone")', 'sum by (dst) (label_join(rate(c[5m]), "dst", ",", "job"))',
  'avg by (job) (g)', 'avg(h)', 'avg without (instance) (h)', 'stddev by (job) (g)', 'stdvar(h)', 'stddev by (zone) (h)', 'sum(h)',
  'topk(3, t)', 'bottomk(4, t)', 'topk by (job) (2, t)', 'bottomk without (instance) (1, t)', 'topk(1, {__name__=~"t|u"})', 'topk(100, t)',
  'count(topk(5, t))', 'topk(scalar(count(t)) % 4 + 1, t)', 'bottomk(2, g)', 'topk(-1, t)', 'topk(2, h)',
  'quantile(1.5, g)', 'quantile by (job) (-0.5, g)', 'quantile(scalar(c{instance="i1"}) / 100, g)', 'quantile_over_time(2, g[5m])',
  'quantile_over_time(scalar(c{instance="i1"}) / 200 - 0.1, g[5m])', 'quantile_over_time(-1, g[5m:1m])',
  'count_values("v", t)', 'count_values without (instance) ("job", g)', 'count_values by (job) ("val", h)', 'count_values("x", h * 1e-300)',
  'count_values by (instance) ("it\'s", g / 7)', 'sum(count_values("v", t))',
  'limitk(2, t)', 'limitk by (job) (1, t)', 'limit_ratio(0.5, t)', 'limit_ratio(-0.3, {__name__=~"t|u"})', 'limit_ratio(scalar(count(t)) / 20 - 0.3, t)',
  'limit_ratio(1.5, g)', 'limit_ratio(-0.7, c)',
  'double_exponential_smoothing(g[10m], 0.3, 0.6)', 'double_exponential_smoothing(h[10m], 0.5, 0.1)', 'double_exponential_smoothing(c[5m:1m], 0.2, 0.9)',
  'double_exponential_smoothing(g[5m], NaN, 0.5)', 'predict_linear(g[10m] @ 1800, 600)', 'predict_linear(c[5m] @ 2000 offset 1m, 60)', 'predict_linear(h[10m] @ 3000, -30)',
  'label_replace(g, ("dst"), (("x-$1")), "job", ("j(.*)"))',
  // PromQL 3's delayed name removal: __name__ stays until the end of the query, marked for removal.
  'sum by (__name__) (rate(c[5m]))', 'count by (__name__, job) (-t)', 'label_replace(rate(c[5m]), "__name__", "rate_$1", "__name__", "(.+)")',
  'label_join(abs(g), "n", "-", "__name__", "job")', 'sum by (__name__) (label_replace(-g, "__name__", "x", "job", "j1"))', 'label_replace(-g, "__name__", "x", "job", "j1")',
  'sum by (__name__, job) (g{job="j1"} or abs(c))', 'max by (__name__) (abs(g) or c)', '-(g{job="j1"} or abs(c))', 'abs(g) * on (__name__, instance) abs(g)',
  'g * ignoring (__name__) c', 'g > bool ignoring (__name__, zone) c', 'rate(c[5m]) > ignoring (zone) rate(c[5m]) * 0.9', 'limit_ratio(0.5, abs(t))',
  'last_over_time(abs(g)[5m:1m]) + on (__name__, instance) group_left abs(g)',
];

/**
 * Ordered instant results (topk, bottomk, sort*) compare sample by sample, and annotations with
 * them. Over an argument that is not a selector the translator refuses where ties would decide;
 * there it must refuse or agree, and agree somewhere.
 */
const ORDERED = [
  'topk(3, t)', 'bottomk(5, t)', 'topk by (job) (2, {__name__=~"t|u"})', 'bottomk(20, t)', 'topk(7, t offset 1m)',
  'sort(t)', 'sort_desc({__name__=~"t|u"})', 'sort_by_label(t, "instance")', 'sort_by_label_desc({__name__=~"t|u"}, "job", "instance")',
  'sort_by_label(abs(t), "instance")', 'sort_by_label(abs({__name__=~"t|u"}), "__name__", "instance")', 'sort_by_label(t, "nope")', 'sort_by_label(t, "job", "nope")', 'limitk(3, t)', 'limitk by (job) (2, t)',
];
/** [query, whether its order is part of the answer (sort* only)] */
const GUARDED: [string, boolean][] = [
  ['topk(3, abs(t))', false], ['bottomk by (job) (2, t * 2)', false], ['topk(2, sum by (instance) (t))', false], ['count(bottomk(3, -t))', false],
  ['sort(abs(t))', true], ['sort_desc(t + 1)', true], ['sort_by_label(label_replace(t, "z", "1", "instance", "i1.*"), "z")', true],
  ['limitk(2, abs(t))', false], ['limitk(1, sum by (instance) (t))', false],
];


let backend: PromQLBackend;
let client: ClickHouseClient;
let database: string;
beforeAll(async () => {
  ({ backend, client, database } = await openEmbeddedTestBackend());
});
afterAll(async () => client?.close());

describe('the translator over chDB answers as the engine on random data', () => {
  const engine = new Engine({ experimentalFunctions: true });
  for (const seed of [1, 2]) {
    const data = randomData(seed);
    for (const q of QUERIES) {
      it(`seed ${seed}: ${q}`, async () => {
        const expr = backend.parse(q);
        for (const t of [1_234_567, 2_700_000]) {
          const want = await engine.instantQuery(data, expr, t);
          const got = await backend.instantQuery(data, expr, t);
          expect(closeValues(comparable(got.value), comparable(want.value)), `instant at ${t}: ${JSON.stringify(comparable(got.value))} vs ${JSON.stringify(comparable(want.value))}`).toBe(true);
        }
        const want = await engine.rangeQuery(data, expr, 600_000, 3_500_000, 47_000);
        const got = await backend.rangeQuery(data, expr, 600_000, 3_500_000, 47_000);
        expect(closeValues(comparable(got.value), comparable(want.value))).toBe(true);
      });
    }
  }
});

describe('a step longer than the range: the samples between windows are dropped before FINAL', () => {
  const engine = new Engine({ experimentalFunctions: true });
  const data = randomData(4);
  for (const q of ['rate(c[5m])', 'sum by (job) (rate(c[2m]))', 'count_over_time(g[1m])', 'max_over_time(g[3m] offset 1m)', 'avg by (job) (irate(c[2m]))', 'stddev(delta(h[4m]))', 'resets(c[3m])', 'g']) {
    it(q, async () => {
      const expr = backend.parse(q);
      // A 7m step: most samples lie between windows; 599_999 puts the grid off whole seconds.
      const want = await engine.rangeQuery(data, expr, 599_999, 3_500_000, 420_000);
      const got = await backend.rangeQuery(data, expr, 599_999, 3_500_000, 420_000);
      expect(closeValues(comparable(got.value), comparable(want.value))).toBe(true);
    });
  }
});

function ordered(v: QueryValue): unknown {
  return v.type === 'vector' ? v.samples.map((s) => [s.labels.join(','), s.v]) : comparable(v);
}

describe('ordered results and annotations agree with the engine', () => {
  const engine = new Engine({ experimentalFunctions: true });
  for (const seed of [1, 2, 3]) {
    const data = randomData(seed);
    for (const q of ORDERED) {
      it(`seed ${seed}: ${q}`, async () => {
        const expr = backend.parse(q);
        for (let t = 100_000; t < 3_600_000; t += 317_000) {
          const want = await engine.instantQuery(data, expr, t);
          const got = await backend.instantQuery(data, expr, t);
          expect(closeValues(ordered(got.value), ordered(want.value)), `at ${t}: ${JSON.stringify(ordered(got.value))} vs ${JSON.stringify(ordered(want.value))}`).toBe(true);
          expect(got.warnings).toEqual([...want.warnings]);
        }
      });
    }
  }
  it('over other arguments: the same answer, or a refusal where ties decide', async () => {
    let agreed = 0;
    let refused = 0;
    for (const seed of [1, 2, 3]) {
      const data = randomData(seed);
      for (const [q, orderMatters] of GUARDED) {
        const expr = backend.parse(q);
        const shape = orderMatters ? ordered : comparable;
        for (let t = 100_000; t < 3_600_000; t += 317_000) {
          const want = await engine.instantQuery(data, expr, t);
          try {
            const got = await backend.instantQuery(data, expr, t);
            expect(closeValues(shape(got.value), shape(want.value)), `${q} at ${t}`).toBe(true);
            agreed++;
          } catch (error) {
            expect(error, `${q} at ${t}`).toBeInstanceOf(UnsupportedQueryError);
            expect((error as Error).message).toMatch(/tied values decide|lacks a label|more than k series/);
            refused++;
          }
        }
      }
    }
    expect(agreed).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(0);
  }, 120_000); // 3 data sets x every guarded query x 12 instants, each against the engine
  it('annotations of quantile parameters match the engine', async () => {
    const data = randomData(1);
    for (const q of ['limit_ratio(1.5, t)', 'limit_ratio(-2, t)', 'sort(t)', 'sort_by_label(t, "job")', 'quantile(1.5, g)', 'quantile(scalar(c{instance="i1"}) / 100, g)', 'quantile_over_time(2, g[5m])', 'quantile_over_time(0.5, g[5m])', 'quantile_over_time(-1, nope[5m])']) {
      const expr = backend.parse(q);
      const want = await engine.rangeQuery(data, expr, 600_000, 3_500_000, 47_000);
      const got = await backend.rangeQuery(data, expr, 600_000, 3_500_000, 47_000);
      expect([...got.warnings].sort(), q).toEqual([...want.warnings].sort());
    }
  });
  it('an instant query of a range selector returns the window\'s raw samples as the engine does; a range query of one fails as in the engine', async () => {
    const data = randomData(3);
    let samples = 0;
    for (const q of ['c[5m]', 'g{job="j1"}[3m] offset 2m', 'g[10m] @ 1500', '(t[1m])', 'nope[5m]', 'h[2m]']) {
      const expr = backend.parse(q);
      for (const t of [0, 300_000, 1_000_000, 1_000_001, 3_599_999]) {
        const want = await engine.instantQuery(data, expr, t);
        const got = await backend.instantQuery(data, expr, t);
        expect(got.value.type, `${q} at ${t}`).toBe('matrix');
        expect(closeValues(comparable(got.value), comparable(want.value)), `${q} at ${t}: ${JSON.stringify(comparable(got.value))} vs ${JSON.stringify(comparable(want.value))}`).toBe(true);
        if (want.value.type === 'matrix') samples += want.value.series.reduce((n, x) => n + x.ts.length, 0);
      }
      const wantError = await engine.rangeQuery(data, expr, 0, 600_000, 60_000).then(() => 'ok', (e: Error) => e.message);
      expect(await backend.rangeQuery(data, expr, 0, 600_000, 60_000).then(() => 'ok', (e: Error) => e.message)).toBe(wantError);
    }
    expect(samples).toBeGreaterThan(100);
  });
  it('the "might not be a counter" info of rate and increase matches the engine', async () => {
    const data = randomData(2);
    for (const q of ['rate(c[5m])', 'increase(c[3m] @ 1500)', 'rate(c{instance="i1"}[1m]) + label_replace(rate(g{instance="i2"}[2m] @ 2000), "instance", "i1", "", "")', 'irate(c[5m])', 'rate(nope[5m])', 'sum by (job) (rate(g[5m]))']) {
      const expr = backend.parse(q);
      for (const [got, want] of [
        [await backend.rangeQuery(data, expr, 600_000, 3_500_000, 47_000), await engine.rangeQuery(data, expr, 600_000, 3_500_000, 47_000)],
        [await backend.instantQuery(data, expr, 1_000_000), await engine.instantQuery(data, expr, 1_000_000)],
      ]) {
        expect([...got.infos].sort(), q).toEqual([...want.infos].sort());
      }
    }
  });
  it('the "might not be a counter" info names exactly the sparse metrics with a series whose windows hold two samples somewhere', async () => {
    // Gaps of 20 s to 9 min and stale markers put two samples in one window for some (range, step,
    // offset) and not others; names of two or three series each, so a name's first series tried may
    // have no value where another has one.
    const r = rng(5);
    const data = new MemoryQueryable();
    for (let s = 0; s < 40; s++) {
      const ts: number[] = [];
      const values: number[] = [];
      const spacing = 20_000 + Math.floor(r() * 520_000);
      for (let t = 1 + Math.floor(r() * 600_000); t < 3_600_000 && ts.length < 3 + (s % 5); t += spacing + Math.floor(r() * 30_000)) {
        ts.push(t);
        values.push(r() < 0.15 ? STALE : ts.length);
      }
      data.add({ labels: { __name__: `sparse_${s % 15}`, job: 'j', instance: `i${s}` }, ts, values: Float64Array.from(values) });
    }
    const queries = ['rate({job="j"}[1m])', 'increase({job="j"}[4m])', 'rate({job="j"}[10m] offset 3m)', 'rate({job="j"}[7m] @ 2000)', 'increase({job="j"}[90s])'];
    let named = 0;
    for (const q of queries) {
      const expr = backend.parse(q);
      for (const [start, end, step] of [[600_000, 3_500_000, 47_000], [0, 3_600_000, 660_000], [1_000_000, 1_000_000, 1]]) {
        const want = await engine.rangeQuery(data, expr, start, end, step);
        const got = await backend.rangeQuery(data, expr, start, end, step);
        expect([...got.infos].sort(), `${q} over ${start}..${end} by ${step}`).toEqual([...want.infos].sort());
        named += want.infos.length;
      }
    }
    expect(named).toBeGreaterThan(20);
    expect(named).toBeLessThan(queries.length * 3 * 15);
  });
  it('a NaN or overflowing k fails as in the engine', async () => {
    const data = randomData(1);
    for (const q of ['topk(NaN, t)', 'bottomk(scalar(nope), t)', 'topk(1e19, t)', 'topk(-1e19, t)', 'count_values("\\ufffd", t)', 'limitk(NaN, t)', 'limit_ratio(NaN, t)', 'limit_ratio(0 * scalar(nope), t)',
      'double_exponential_smoothing(g[5m], 1, 0.5)', 'double_exponential_smoothing(nope[5m], 2, 0.5)', 'double_exponential_smoothing(g[5m:1m], 0.5, -1)']) {
      const expr = backend.parse(q);
      const want = await engine.instantQuery(data, expr, 1_000_000).then(() => 'ok', (e: Error) => e.message);
      const got = await backend.instantQuery(data, expr, 1_000_000).then(() => 'ok', (e: Error) => e.message);
      expect(got, q).toBe(want);
    }
  });
});

describe('float formatting in SQL', () => {
  it('writes random doubles (any bits, and decimal-looking ones at every magnitude) as formatFloatPlain', async () => {
    const r = rng(11);
    const vals = [1e21, 1e-7, 0.1, -0, 0, 5e-324, Number.MAX_VALUE, -1.25e22, NaN, Infinity, -Infinity, 1e-6, 9.999e20, STALE];
    const bits = new BigUint64Array(1);
    const f = new Float64Array(bits.buffer);
    for (let k = 0; k < 2000; k++) {
      bits[0] = (BigInt(Math.floor(r() * 2 ** 32)) << 32n) | BigInt(Math.floor(r() * 2 ** 32));
      vals.push(f[0], (Math.round(r() * 1e6) / 1000) * 10 ** Math.floor(r() * 50 - 25));
    }
    const asBits = vals.map((v) => ((f[0] = v), bits[0].toString()));
    const rs = await client.query({
      query: `SELECT ${formatFloatPlainSql('x')} AS s FROM (SELECT reinterpretAsFloat64(toUInt64(arrayJoin({b:Array(String)}))) AS x)`,
      query_params: { b: asBits },
      format: 'JSONEachRow',
    });
    const got = (await rs.json<{ s: string }>()).map((row) => row.s);
    expect(got).toEqual(vals.map(formatFloatPlain));
  });
});

describe('natural sort key', () => {
  it('orders random label values as the engine\'s naturalLess', async () => {
    const r = rng(7);
    const parts = ['0', '1', '9', '10', '007', 'a', 'B', '.', '-', 'ü', ''];
    const values = [...new Set(Array.from({ length: 300 }, () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => parts[Math.floor(r() * parts.length)]).join('')))].filter((v) => v !== '');
    const rs = await client.query({
      query: `SELECT s, ${naturalKey('s')} = lagInFrame(${naturalKey('s')}) OVER (ORDER BY ${naturalKey('s')}, s ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS same FROM (SELECT arrayJoin({v:Array(String)}) AS s) ORDER BY ${naturalKey('s')}, s`,
      query_params: { v: values },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ s: string; same: number }>();
    expect(rows.length).toBe(values.length);
    let equalKeys = 0;
    for (let k = 1; k < rows.length; k++) {
      const [a, b] = [rows[k - 1].s, rows[k].s];
      // Equal keys of different values are what sortCall refuses (the engine orders them both ways).
      if (Number(rows[k].same) === 1) {
        equalKeys++;
        expect(naturalLess(a, b) && naturalLess(b, a), `${a} ~ ${b}`).toBe(true);
      } else {
        expect([naturalLess(a, b), naturalLess(b, a)], `${a} < ${b}`).toEqual([true, false]);
      }
    }
    expect(equalKeys).toBeGreaterThan(0);
  });
});

describe('schema', () => {
  it('migrations are recorded and idempotent', async () => {
    expect(await migrate(client, { database, rawTtlSeconds: null })).toEqual([]);
    const rs = await client.query({ query: `SELECT version FROM ${database}.sluice_migrations ORDER BY version`, format: 'JSONEachRow' });
    const all = MIGRATIONS.map((m) => m.version);
    expect((await rs.json<{ version: number }>()).map((r) => Number(r.version))).toEqual(all);
    const fresh = `${database}_b`;
    expect(await migrate(client, { database: fresh })).toEqual(all);
    expect(await migrate(client, { database: fresh })).toEqual([]);
  });
  it('hostile matcher values run as parameters and leave the tables intact', async () => {
    const data = randomData(3);
    for (const v of ["'; DROP TABLE " + database + '.sluice_samples_raw; --', 'a\'b', 'x\\', 'ü\u0000']) {
      const res = await backend.instantQuery(data, backend.parse(`c{zone=${JSON.stringify(v)}}`), 1_000_000);
      const n = res.value.type === 'vector' ? res.value.samples.length : -1;
      if (v === "a'b") expect(n).toBeGreaterThan(0);
      else expect(n).toBe(0);
    }
    const rs = await client.query({ query: `SELECT count() AS n FROM ${database}.sluice_samples_raw`, format: 'JSONEachRow' });
    expect(Number((await rs.json<{ n: string }>())[0].n)).toBeGreaterThan(0);
  });
});
