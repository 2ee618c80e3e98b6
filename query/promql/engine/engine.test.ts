import { describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../../../model/labels.ts';
import { STALE_NAN } from '../../../model/stale-nan.ts';
import { parseExpr } from '../parser/index.ts';
import { Engine } from './engine.ts';
import { ratioSampleOffset } from './xxhash64.ts';
import { MemoryQueryable, type MemorySeriesInput } from './testing/memory-queryable.ts';
import { QueryError, type QueryResult } from './types.ts';

const M = 60_000;

/** Samples every `stepMs` from 0; null is a gap; 'stale' a staleness marker. */
function series(labels: Record<string, string>, stepMs: number, values: (number | null | 'stale')[]): MemorySeriesInput {
  const ts: number[] = [];
  const kept: (number | 'stale')[] = [];
  values.forEach((v, i) => {
    if (v === null) return;
    ts.push(i * stepMs);
    kept.push(v);
  });
  // A Float64Array, not a number[]: arrays of doubles may canonicalise the stale marker's NaN payload.
  const typed = new Float64Array(kept.length);
  kept.forEach((v, i) => (typed[i] = v === 'stale' ? STALE_NAN : v));
  return { labels: labelsFromRecord(labels), ts, values: typed };
}

function ramp(start: number, inc: number, n: number): number[] {
  return Array.from({ length: n + 1 }, (_, i) => start + inc * i);
}

const data = new MemoryQueryable([
  series({ __name__: 'http_requests_total', job: 'api', instance: '0', group: 'production' }, 5 * M, ramp(0, 10, 10)),
  series({ __name__: 'http_requests_total', job: 'api', instance: '1', group: 'production' }, 5 * M, ramp(0, 20, 10)),
  series({ __name__: 'http_requests_total', job: 'api', instance: '0', group: 'canary' }, 5 * M, ramp(0, 30, 10)),
  series({ __name__: 'http_requests_total', job: 'app', instance: '0', group: 'production' }, 5 * M, ramp(0, 50, 10)),
  series({ __name__: 'gauge', job: 'api' }, 5 * M, [1, 2, 'stale', 4]),
  series({ __name__: 'errors_total', job: 'api', instance: '0' }, 5 * M, ramp(0, 1, 10)),
  series({ __name__: 'build_info', job: 'api', version: 'v1' }, 5 * M, ramp(1, 0, 10)),
  series({ __name__: 'req_bucket', le: '0.1' }, 5 * M, ramp(0, 1, 10)),
  series({ __name__: 'req_bucket', le: '1' }, 5 * M, ramp(0, 3, 10)),
  series({ __name__: 'req_bucket', le: '+Inf' }, 5 * M, ramp(0, 4, 10)),
]);

const engine = new Engine();

function vectorOf(r: QueryResult): Record<string, number> {
  if (r.value.type !== 'vector') throw new Error(`expected a vector, got ${r.value.type}`);
  return Object.fromEntries(r.value.samples.map((s) => [text(s.labels), s.v]));
}

function text(labels: Labels): string {
  const parts: string[] = [];
  for (let i = 0; i < labels.length; i += 2) parts.push(`${labels[i]}="${labels[i + 1]}"`);
  return `{${parts.join(',')}}`;
}

async function instant(query: string, t: number) {
  return engine.instantQuery(data, parseExpr(query), t);
}

describe('instant queries', () => {
  const cases: [string, number, Record<string, number>][] = [
    ['http_requests_total{instance="1"}', 50 * M, { '{__name__="http_requests_total",group="production",instance="1",job="api"}': 200 }],
    // Left-open lookback: a sample exactly 5m old is out.
    ['gauge', 5 * M, { '{__name__="gauge",job="api"}': 2 }],
    ['gauge', 10 * M, {}], // stale marker
    ['gauge', 15 * M, { '{__name__="gauge",job="api"}': 4 }],
    ['gauge', 20 * M + 1, {}], // beyond the lookback
    ['sum(http_requests_total)', 50 * M, { '{}': 1100 }],
    ['sum by (group) (http_requests_total)', 50 * M, { '{group="canary"}': 300, '{group="production"}': 800 }],
    ['sum without (instance) (http_requests_total)', 50 * M, { '{group="canary",job="api"}': 300, '{group="production",job="api"}': 300, '{group="production",job="app"}': 500 }],
    ['count(http_requests_total)', 50 * M, { '{}': 4 }],
    ['max(http_requests_total) - min(http_requests_total)', 50 * M, { '{}': 400 }],
    ['avg(http_requests_total)', 50 * M, { '{}': 275 }],
    ['quantile(0.5, http_requests_total)', 50 * M, { '{}': 250 }],
    ['stddev(http_requests_total{job="api"})', 50 * M, { '{}': Math.sqrt(20000 / 3) }],
    ['group by (job) (http_requests_total)', 50 * M, { '{job="api"}': 1, '{job="app"}': 1 }],
    ['http_requests_total{instance="1"} / 10', 50 * M, { '{group="production",instance="1",job="api"}': 20 }],
    ['http_requests_total{instance="1"} > 100', 50 * M, { '{__name__="http_requests_total",group="production",instance="1",job="api"}': 200 }],
    ['http_requests_total{instance="1"} > bool 1000', 50 * M, { '{group="production",instance="1",job="api"}': 0 }],
    ['2 ^ 10 + 7 % 4', 0, {}],
    ['errors_total / on(job, instance) http_requests_total{group="canary"}', 50 * M, { '{instance="0",job="api"}': 10 / 300 }],
    [
      'http_requests_total * on(job) group_left(version) build_info',
      50 * M,
      {
        '{group="canary",instance="0",job="api",version="v1"}': 300,
        '{group="production",instance="0",job="api",version="v1"}': 100,
        '{group="production",instance="1",job="api",version="v1"}': 200,
      },
    ],
    ['http_requests_total{job="app"} or errors_total', 50 * M, { '{__name__="http_requests_total",group="production",instance="0",job="app"}': 500, '{__name__="errors_total",instance="0",job="api"}': 10 }],
    ['http_requests_total and on(group) http_requests_total{group="canary"}', 50 * M, { '{__name__="http_requests_total",group="canary",instance="0",job="api"}': 300 }],
    ['count(http_requests_total unless on(job) errors_total)', 50 * M, { '{}': 1 }],
    ['rate(http_requests_total{instance="1",job="api"}[10m])', 50 * M, { '{group="production",instance="1",job="api"}': 20 / 300 }],
    ['increase(errors_total[20m])', 50 * M, { '{instance="0",job="api"}': 4 }],
    ['last_over_time(gauge[20m])', 20 * M, { '{__name__="gauge",job="api"}': 4 }],
    // Over a subquery whose series are due to lose the name, a name-keeping function keeps that.
    ['last_over_time(abs(gauge)[20m:5m])', 20 * M, { '{job="api"}': 4 }],
    ['first_over_time(gauge[20m:5m])', 20 * M, { '{__name__="gauge",job="api"}': 2 }],
    // (0, 20m]: the sample at 0 is out, the stale marker at 10m does not count.
    ['count_over_time(gauge[20m])', 20 * M, { '{job="api"}': 2 }],
    ['max_over_time(errors_total[20m:5m])', 50 * M, { '{instance="0",job="api"}': 10 }],
    ['sum_over_time(errors_total[20m:5m] offset 10m)', 50 * M, { '{instance="0",job="api"}': 8 + 7 + 6 + 5 }],
    ['errors_total @ 100', 50 * M, { '{__name__="errors_total",instance="0",job="api"}': 0 }],
    ['errors_total @ 400', 50 * M, { '{__name__="errors_total",instance="0",job="api"}': 1 }],
    ['errors_total @ 600', 50 * M, { '{__name__="errors_total",instance="0",job="api"}': 2 }],
    ['errors_total offset 20m', 50 * M, { '{__name__="errors_total",instance="0",job="api"}': 6 }],
    ['topk(1, http_requests_total)', 50 * M, { '{__name__="http_requests_total",group="production",instance="0",job="app"}': 500 }],
    ['bottomk(1, http_requests_total)', 50 * M, { '{__name__="http_requests_total",group="production",instance="0",job="api"}': 100 }],
    ['count_values("value", build_info)', 50 * M, { '{value="1"}': 1 }],
    ['absent(nonexistent{job="x", a=~"b"})', 0, { '{job="x"}': 1 }],
    ['absent(errors_total)', 50 * M, {}],
    ['absent_over_time(nonexistent{job="x"}[5m])', 0, { '{job="x"}': 1 }],
    ['label_replace(build_info, "v", "$1", "version", "v(.*)")', 0, { '{__name__="build_info",job="api",v="1",version="v1"}': 1 }],
    ['label_join(build_info, "jv", "-", "job", "version")', 0, { '{__name__="build_info",job="api",jv="api-v1",version="v1"}': 1 }],
    ['histogram_quantile(0.5, req_bucket)', 50 * M, { '{}': 0.1 + (0.9 * (20 - 10)) / (30 - 10) }],
    ['histogram_fraction(0, 0.1, req_bucket)', 50 * M, { '{}': 0.25 }],
    ['clamp(errors_total, 2, 5)', 50 * M, { '{instance="0",job="api"}': 5 }],
    ['clamp(errors_total, 5, 2)', 50 * M, {}],
    ['timestamp(errors_total)', 50 * M + 30_000, { '{instance="0",job="api"}': 3000 }],
    ['vector(time())', 60_000, { '{}': 60 }],
    ['hour()', 7_200_000, { '{}': 2 }],
    ['round(errors_total / 3)', 50 * M, { '{instance="0",job="api"}': 3 }],
  ];
  it.each(cases)('%s at %d', async (query, t, want) => {
    const r = await instant(query, t);
    if (r.value.type === 'scalar') return; // covered below
    const got = vectorOf(r);
    expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
    for (const k of Object.keys(want)) expect(got[k]).toBeCloseTo(want[k], 9);
  });

  it('evaluates scalars and strings', async () => {
    expect((await instant('2 ^ 10 + 7 % 4', 0)).value).toEqual({ type: 'scalar', t: 0, v: 1027 });
    expect((await instant('-7 % 4', 0)).value).toMatchObject({ v: -3 });
    expect((await instant('(-1) ^ (1/0)', 0)).value).toMatchObject({ v: 1 });
    expect((await instant('1 / 0', 0)).value).toMatchObject({ v: Infinity });
    expect((await instant('0 / 0', 0)).value).toMatchObject({ v: NaN });
    expect((await instant('"hello"', 5)).value).toEqual({ type: 'string', t: 5, v: 'hello' });
    expect((await instant('scalar(http_requests_total)', 50 * M)).value).toMatchObject({ v: NaN });
  });

  it('returns a range vector at the top level as a matrix of raw samples, sorted', async () => {
    const r = await instant('gauge[20m]', 20 * M);
    expect(r.value.type).toBe('matrix');
    if (r.value.type !== 'matrix') return;
    expect([...r.value.series[0].ts]).toEqual([5 * M, 15 * M]); // left-open, stale marker dropped
    expect([...r.value.series[0].values]).toEqual([2, 4]);
  });

  it('keeps sort order for sort() and topk', async () => {
    const r = await instant('sort_desc(http_requests_total)', 50 * M);
    if (r.value.type !== 'vector') throw new Error('vector expected');
    expect(r.value.samples.map((s) => s.v)).toEqual([500, 300, 200, 100]);
    const r2 = await instant('sort_by_label(build_info or http_requests_total, "instance", "group")', 50 * M);
    if (r2.value.type !== 'vector') throw new Error('vector expected');
    // A missing label sorts as "", first.
    expect(r2.value.samples.map((s) => s.labels[1])).toEqual(['build_info', ...Array(4).fill('http_requests_total')]);
    expect(r2.value.samples.map((s) => s.v)).toEqual([1, 300, 100, 500, 200]);
  });
});

describe('range queries', () => {
  it('evaluates every step and sorts series by labels', async () => {
    const r = await engine.rangeQuery(data, parseExpr('sum by (group) (http_requests_total)'), 0, 10 * M, 5 * M);
    expect(r.value.type).toBe('matrix');
    if (r.value.type !== 'matrix') return;
    expect(r.value.series.map((s) => text(s.labels))).toEqual(['{group="canary"}', '{group="production"}']);
    expect([...r.value.series[1].ts]).toEqual([0, 5 * M, 10 * M]);
    expect([...r.value.series[1].values]).toEqual([0, 80, 160]);
  });

  it('repeats a step-invariant @ selector at every step', async () => {
    const r = await engine.rangeQuery(data, parseExpr('errors_total @ 600'), 0, 10 * M, 5 * M);
    if (r.value.type !== 'matrix') throw new Error('matrix expected');
    expect([...r.value.series[0].values]).toEqual([2, 2, 2]);
    const s = await engine.rangeQuery(data, parseExpr('errors_total @ end()'), 0, 10 * M, 5 * M);
    if (s.value.type !== 'matrix') throw new Error('matrix expected');
    expect([...s.value.series[0].values]).toEqual([2, 2, 2]);
  });

  it('merges series whose names were dropped when their points do not overlap', async () => {
    const q = new MemoryQueryable([series({ __name__: 'a', x: '1' }, 10 * M, [1, null]), series({ __name__: 'b', x: '1' }, 10 * M, [3, 4])]);
    const r = await engine.rangeQuery(q, parseExpr('-a or -b'), 0, 20 * M, 10 * M);
    if (r.value.type !== 'matrix') throw new Error('matrix expected');
    expect(r.value.series).toHaveLength(1);
    expect([...r.value.series[0].ts]).toEqual([0, 10 * M]);
    expect([...r.value.series[0].values]).toEqual([-1, -4]);
  });

  it('fetches each selector once for the whole range', async () => {
    const q = new MemoryQueryable([series({ __name__: 'a' }, M, ramp(0, 1, 60))]);
    await engine.rangeQuery(q, parseExpr('rate(a[5m]) + a + max_over_time(a[10m:1m])'), 0, 60 * M, M);
    expect(q.selectCount).toBe(3);
  });

  it('rejects range vector expressions', async () => {
    await expect(engine.rangeQuery(data, parseExpr('gauge[5m]'), 0, M, M)).rejects.toThrow(/invalid expression type "range vector"/);
  });
});

describe('limit_ratio sampling', () => {
  // Offsets Prometheus 3.14's default build computes (float64(labels.Hash()) / MaxUint64),
  // taken from its Go code: the hash is over the packed, length-prefixed label set.
  const cases: [Record<string, string>, number][] = [
    [{ a: 'b' }, 0.882198581303642],
    [{ __name__: 'up', zone: 'ü' }, 0.0707184299735603],
  ];
  it.each(cases)('samples %j at offset %d', (labels, offset) => {
    expect(ratioSampleOffset(labelsFromRecord(labels))).toBe(offset);
  });

  it('keeps a series when its offset is under a positive ratio, or at least 1 + a negative one', async () => {
    const q = new MemoryQueryable([series({ a: 'b' }, 5 * M, [1]), series({ __name__: 'up', zone: 'ü' }, 5 * M, [2])]);
    const run = async (query: string) => Object.values(vectorOf(await engine.instantQuery(q, parseExpr(query), 0)));
    expect(await run('limit_ratio(0.5, {zone="ü"} or {a="b"})')).toEqual([2]);
    expect(await run('limit_ratio(-0.5, {zone="ü"} or {a="b"})')).toEqual([1]);
  });
});

describe('histogram_quantiles over classic histograms', () => {
  const buckets = new MemoryQueryable([
    series({ __name__: 'lat_bucket', svc: 'a', le: '1' }, 5 * M, [4]),
    series({ __name__: 'lat_bucket', svc: 'a', le: '2' }, 5 * M, [8]),
    series({ __name__: 'lat_bucket', svc: 'a', le: '+Inf' }, 5 * M, [8]),
  ]);
  const run = (query: string) => engine.instantQuery(buckets, parseExpr(query), 0);

  it('returns one series per quantile, labelled with the quantile', async () => {
    const r = await run('histogram_quantiles(lat_bucket, "p", 0, 0.25, 0.75, 1)');
    expect(vectorOf(r)).toEqual({ '{p="0.0",svc="a"}': 0, '{p="0.25",svc="a"}': 0.5, '{p="0.75",svc="a"}': 1.5, '{p="1.0",svc="a"}': 2 });
    expect(r.warnings).toEqual([]);
  });

  it('warns about each quantile outside [0, 1], even with nothing to compute', async () => {
    const r = await run('histogram_quantiles(lat_bucket, "p", 1.5)');
    expect(vectorOf(r)).toEqual({ '{p="1.5",svc="a"}': Infinity });
    expect(r.warnings[0]).toMatch(/quantile value should be between 0 and 1, got 1.5/);
    expect((await run('histogram_quantiles(missing_bucket, "p", NaN)')).warnings[0]).toMatch(/got NaN/);
  });

  it('fails when the quantile label overwrites one that told series apart', async () => {
    const two = new MemoryQueryable([
      series({ __name__: 'x_bucket', svc: 'a', le: '+Inf' }, 5 * M, [1]),
      series({ __name__: 'x_bucket', svc: 'b', le: '+Inf' }, 5 * M, [1]),
    ]);
    await expect(engine.instantQuery(two, parseExpr('histogram_quantiles(x_bucket, "svc", 0.5)'), 0)).rejects.toThrow(/same labelset/);
  });
});

describe('type and unit labels', () => {
  const typed = new MemoryQueryable([
    series({ __name__: 'disk_total_bytes', __type__: 'gauge', __unit__: 'bytes', vol: 'a' }, 5 * M, [200]),
    series({ __name__: 'disk_free_bytes', __type__: 'gauge', __unit__: 'bytes', vol: 'a' }, 5 * M, [50]),
    series({ __name__: 'reads', __type__: 'counter', __unit__: 'ops', vol: 'a', side: 'l' }, 5 * M, [6]),
    series({ __name__: 'reads', __type__: 'gauge', __unit__: 'bytes', vol: 'a', side: 'r' }, 5 * M, [3]),
  ]);
  const cases: [string, Record<string, number>][] = [
    // Dropping the name (delayed to the end of the query) drops the type and unit with it.
    ['-disk_free_bytes', { '{vol="a"}': -50 }],
    ['disk_free_bytes * 2', { '{vol="a"}': 100 }],
    ['abs(disk_free_bytes)', { '{vol="a"}': 50 }],
    ['disk_free_bytes == bool 50', { '{vol="a"}': 1 }],
    ['(disk_free_bytes + 1) or disk_total_bytes', { '{vol="a"}': 51 }],
    // A name-preserving result keeps them.
    ['disk_free_bytes > 1', { '{__name__="disk_free_bytes",__type__="gauge",__unit__="bytes",vol="a"}': 50 }],
    // Matching still compares them, as in Prometheus 3.14: an arithmetic result has lost them, and
    // two sides whose type or unit differ do not match.
    ['(disk_total_bytes - disk_free_bytes) / disk_total_bytes', {}],
    ['reads{side="l"} / ignoring(side) reads{side="r"}', {}],
    ['reads{side="l"} / ignoring(side, __type__, __unit__) reads{side="r"}', { '{vol="a"}': 2 }],
  ];
  it.each(cases)('%s', async (query, want) => {
    expect(vectorOf(await engine.instantQuery(typed, parseExpr(query), 0))).toEqual(want);
  });
});

describe('errors and limits', () => {
  const failing: [string, RegExp][] = [
    ['http_requests_total + on(job) http_requests_total', /found duplicate series for the match group \{job="api"\} on the right hand-side/],
    ['http_requests_total + ignoring(instance, group) errors_total', /many-to-one matching must be explicit|found duplicate series/],
    ['label_replace(http_requests_total, "instance", "x", "", "")', /vector cannot contain metrics with the same labelset/],
    ['label_replace(http_requests_total, "dst", "x", "src", "(.*")', /invalid regular expression in label_replace/],
    ['topk(scalar(nonexistent), http_requests_total)', /Parameter value is NaN/],
    ['count_values("", build_info)', /invalid label name ""/],
    ['double_exponential_smoothing(errors_total[20m], 2, 0.5)', /invalid smoothing factor. Expected: 0 < sf < 1, got: 2.000000/],
  ];
  it.each(failing)('%s fails', async (query, message) => {
    const err = await instant(query, 50 * M).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).message).toMatch(message);
  });

  it('fails when dropping names leaves two series with the same labels at one step', async () => {
    const q = new MemoryQueryable([series({ __name__: 'a', job: 'x' }, M, [1]), series({ __name__: 'b', job: 'x' }, M, [2])]);
    const err = await engine.instantQuery(q, parseExpr('-{job="x"}'), 0).catch((e: unknown) => e);
    expect((err as QueryError).message).toBe('vector cannot contain metrics with the same labelset');
  });

  it('fails over maxSamples with the Prometheus message', async () => {
    const small = new Engine({ maxSamples: 5 });
    const err = await small.rangeQuery(data, parseExpr('http_requests_total'), 0, 50 * M, 5 * M).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).message).toBe('query processing would load too many samples into memory in query execution');
  });

  it('fails over maxSeries per selector', async () => {
    const err = await new Engine({ maxSeries: 2 }).instantQuery(data, parseExpr('http_requests_total'), 0).catch((e: unknown) => e);
    expect((err as QueryError).errorType).toBe('execution');
  });

  it('reports an aborted query as canceled and a timeout as timeout', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await engine.instantQuery(data, parseExpr('http_requests_total'), 0, ac.signal).catch((e: unknown) => e);
    expect((err as QueryError).errorType).toBe('canceled');
    const late = await new Engine({ timeoutMs: -1 }).instantQuery(data, parseExpr('http_requests_total'), 0).catch((e: unknown) => e);
    expect((late as QueryError).errorType).toBe('timeout');
  });

  it('wraps an unexpected failure as an internal error that says it is a bug', async () => {
    const broken = { querier: () => ({ select: () => Promise.reject(new TypeError('boom')), labelNames: async () => [], labelValues: async () => [], close() {} }) };
    const err = await engine.instantQuery(broken, parseExpr('up'), 0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueryError);
    const viaEval = await engine.instantQuery(data, { kind: 'Bogus' } as never, 0).catch((e: unknown) => e);
    expect((viaEval as QueryError).errorType).toBe('internal');
    expect((viaEval as QueryError).message).toMatch(/bug/);
  });
});

describe('annotations', () => {
  it('passes on storage warnings and notes rate over a non-counter name', async () => {
    const q = new MemoryQueryable([series({ __name__: 'temp' }, M, ramp(1, 1, 10))]);
    q.warnings = ['block 01ABC left out: damaged'];
    const r = await engine.instantQuery(q, parseExpr('rate(temp[5m])'), 10 * M);
    expect(r.warnings).toEqual(['block 01ABC left out: damaged']);
    expect(r.infos).toEqual(['PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: "temp"']);
  });

  it('warns that sorting does nothing in a range query or a subquery, and not in an instant query', async () => {
    const sortWarning = 'PromQL warning: sort is ineffective for range queries since results are always ordered by labels';
    for (const query of ['sort(gauge)', 'sum(sort_desc(gauge))', 'sort_by_label(gauge, "job")']) {
      expect((await engine.rangeQuery(data, parseExpr(query), 0, 10 * M, 5 * M)).warnings, query).toEqual([sortWarning]);
    }
    expect((await instant('max_over_time(sort(gauge)[10m:5m])', 10 * M)).warnings).toEqual([sortWarning]);
    expect((await instant('sort(gauge)', 10 * M)).warnings).toEqual([]);
  });

  it('warns about an invalid quantile', async () => {
    const r = await instant('quantile(2, http_requests_total)', 50 * M);
    expect(r.warnings).toEqual(['PromQL warning: quantile value should be between 0 and 1, got 2']);
  });

  it('notes a classic histogram fixed for monotonicity', async () => {
    const q = new MemoryQueryable([
      series({ __name__: 'h_bucket', le: '1' }, M, [5]),
      series({ __name__: 'h_bucket', le: '2' }, M, [3]),
      series({ __name__: 'h_bucket', le: '+Inf' }, M, [6]),
    ]);
    const r = await engine.instantQuery(q, parseExpr('histogram_quantile(0.5, h_bucket)'), 0);
    expect(r.infos[0]).toMatch(/input to histogram_quantile needed to be fixed for monotonicity.*for metric name "h_bucket"/);
  });
});

describe('info()', () => {
  const ones = [1, 1, 1, 1, 1, 1];
  const infoData = new MemoryQueryable([
    series({ __name__: 'up', job: 'api', instance: 'a', region: 'eu' }, M, ones),
    series({ __name__: 'up', job: 'api', instance: 'b' }, M, ones),
    series({ __name__: 'up', job: 'db', instance: 'c' }, M, ones),
    series({ __name__: 'target_info', job: 'api', instance: 'a', region: 'us', version: '1.0' }, M, ones),
    series({ __name__: 'target_info', job: 'api', instance: 'b', region: 'us', version: '2.0' }, M, [1, 1, 'stale']),
    series({ __name__: 'build_info', job: 'api', instance: 'a', revision: 'abc' }, M, ones),
  ]);
  const upA = 'instance="a",job="api"';
  const cases: [string, number, Record<string, number>][] = [
    // target_info by default; the series' own region is kept.
    ['info(up)', M, {
      [`{__name__="up",${upA},region="eu",version="1.0"}`]: 1,
      '{__name__="up",instance="b",job="api",region="us",version="2.0"}': 1,
      '{__name__="up",instance="c",job="db"}': 1,
    }],
    // The info series of b went stale: b stays as it is.
    ['info(up{job="api"})', 3 * M, { [`{__name__="up",${upA},region="eu",version="1.0"}`]: 1, '{__name__="up",instance="b",job="api"}': 1 }],
    // Only the named data labels are added; a series no info series matches is dropped when the matcher needs a value.
    ['info(up, {__name__=~"build_info|target_info", region=~".+"})', M, {
      [`{__name__="up",${upA},region="eu"}`]: 1,
      '{__name__="up",instance="b",job="api",region="us"}': 1,
    }],
    ['info(up, {__name__=~".+_info", revision=~"a.*"})', M, { [`{__name__="up",${upA},region="eu",revision="abc"}`]: 1 }],
    // Without a data matcher that needs a value, unmatched series are kept.
    ['info(up, {__name__="build_info"})', M, {
      [`{__name__="up",${upA},region="eu",revision="abc"}`]: 1,
      '{__name__="up",instance="b",job="api"}': 1,
      '{__name__="up",instance="c",job="db"}': 1,
    }],
    ['info(up{job="db"}, {__name__="build_info"})', M, { '{__name__="up",instance="c",job="db"}': 1 }],
    // Info series themselves are not enriched.
    ['info(target_info{instance="a"})', M, { [`{__name__="target_info",${upA},region="us",version="1.0"}`]: 1 }],
    // A dropped name is dropped after enrichment.
    ['info(-up{instance="b"})', M, { '{instance="b",job="api",region="us",version="2.0"}': -1 }],
    // Only negative __name__ matchers choose among the *_info metrics, not among all other series.
    ['info(up, {__name__!="target_info"})', M, {
      [`{__name__="up",${upA},region="eu",revision="abc"}`]: 1,
      '{__name__="up",instance="b",job="api"}': 1,
      '{__name__="up",instance="c",job="db"}': 1,
    }],
    ['info(up, {__name__!~".+_info", revision=~".+"})', M, {}],
    ['info(up{instance="a"}, {__name__!~".+_info", revision=~".*"})', M, { [`{__name__="up",${upA},region="eu"}`]: 1 }],
    // ...and a series of v passing them (and so named like an info metric) is passed through.
    ['info(build_info, {__name__!="target_info"})', M, { [`{__name__="build_info",${upA},revision="abc"}`]: 1 }],
  ];
  it.each(cases)('%s at %d', async (query, t, want) => {
    expect(vectorOf(await engine.instantQuery(infoData, parseExpr(query), t))).toEqual(want);
  });

  it('finds info series at each step of a range query, with the lookback and stale markers of instant selectors', async () => {
    const r = await engine.rangeQuery(infoData, parseExpr('info(up{instance="b"})'), 0, 3 * M, M);
    if (r.value.type !== 'matrix') throw new Error('expected a matrix');
    expect(r.value.series.map((s) => [text(s.labels), [...s.ts]])).toEqual([
      ['{__name__="up",instance="b",job="api"}', [2 * M, 3 * M]],
      ['{__name__="up",instance="b",job="api",region="us",version="2.0"}', [0, M]],
    ]);
  });

  it('takes the newer of two info series of one metric and fails on two equally new ones', async () => {
    const two = (newer: boolean) => new MemoryQueryable([
      series({ __name__: 'up', job: 'api', instance: 'a' }, M, [1, 1]),
      series({ __name__: 'target_info', job: 'api', instance: 'a', version: '1' }, M, newer ? [1, null] : [1, 1]),
      series({ __name__: 'target_info', job: 'api', instance: 'a', version: '2' }, M, [null, 1]),
    ]);
    expect(vectorOf(await engine.instantQuery(two(true), parseExpr('info(up)'), M))).toEqual({ '{__name__="up",instance="a",job="api",version="2"}': 1 });
    await expect(engine.instantQuery(two(false), parseExpr('info(up)'), M)).rejects.toThrow(
      'found duplicate series for info metric: existing target_info{instance="a", job="api", version="1"} @ 60000, new target_info{instance="a", job="api", version="2"} @ 60000',
    );
  });

  it('fails when two info metrics give a data label different values', async () => {
    const conflicting = new MemoryQueryable([
      series({ __name__: 'up', job: 'api', instance: 'a' }, M, [1]),
      series({ __name__: 'target_info', job: 'api', instance: 'a', version: '1' }, M, [1]),
      series({ __name__: 'build_info', job: 'api', instance: 'a', version: '2' }, M, [1]),
    ]);
    await expect(engine.instantQuery(conflicting, parseExpr('info(up, {__name__=~".+_info"})'), 0)).rejects.toThrow('conflicting label: version');
  });
});

describe('binop fill modifiers', () => {
  const fillData = new MemoryQueryable([
    series({ __name__: 'l', k: 'a' }, M, [10, 'stale']),
    series({ __name__: 'l', k: 'b' }, M, [20, 20]),
    series({ __name__: 'r', k: 'a' }, M, [100, 100]),
    series({ __name__: 'r', k: 'c' }, M, [300, 300]),
    series({ __name__: 'many', k: 'a', x: '1' }, M, [1, 1]),
    series({ __name__: 'many', k: 'b', x: '2' }, M, [2, 2]),
    series({ __name__: 'one', k: 'a', owner: 'o' }, M, [5, 5]),
    series({ __name__: 'one', k: 'c', owner: 'p' }, M, [7, 7]),
  ]);
  const cases: [string, number, Record<string, number>][] = [
    ['l + fill(0) r', 0, { '{k="a"}': 110, '{k="b"}': 20, '{k="c"}': 300 }],
    ['l + fill_left(1) r', 0, { '{k="a"}': 110, '{k="c"}': 301 }],
    ['l - fill_right(1) r', 0, { '{k="a"}': -90, '{k="b"}': 19 }],
    // At 1m l{k="a"} is gone, so r{k="a"} meets the fill too.
    ['l + fill(0) r', M, { '{k="a"}': 100, '{k="b"}': 20, '{k="c"}': 300 }],
    // A filled left operand carries the right series' match labels and no name; comparisons keep its fill value.
    ['l != fill(300) r', 0, { '{__name__="l",k="a"}': 10, '{__name__="l",k="b"}': 20 }],
    ['l == bool fill(20) r', 0, { '{k="a"}': 0, '{k="b"}': 1, '{k="c"}': 0 }],
    // group_left: the many side is left; a filled one side gives no included label.
    ['many * on (k) group_left (owner) fill_right(10) one', 0, { '{k="a",owner="o",x="1"}': 5, '{k="b",x="2"}': 20 }],
    ['many * on (k) group_left (owner) fill_left(2) one', 0, { '{k="a",owner="o",x="1"}': 5, '{k="c",owner="p"}': 14 }],
    // group_right swaps the sides, and the fill values with them: fill_left fills the (right-hand) many side.
    ['one * on (k) group_right fill_left(3) many', 0, { '{k="a",x="1"}': 5, '{k="c"}': 21 }],
    ['one * on (k) group_right fill_right(3) many', 0, { '{k="a",x="1"}': 5, '{k="b",x="2"}': 6 }],
    // An empty side is filled entirely.
    ['nothing + fill(1) r', 0, { '{k="a"}': 101, '{k="c"}': 301 }],
    ['nothing + fill_right(1) r', 0, {}],
  ];
  it.each(cases)('%s at %d', async (query, t, want) => {
    expect(vectorOf(await engine.instantQuery(fillData, parseExpr(query, { fillModifiers: true }), t))).toEqual(want);
  });
});
