import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ApiServer } from '../../pipelines/runtime/api-server.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { Engine } from '../promql/engine/engine.ts';
import { parseExpr, PromQLParseError } from '../promql/parser/index.ts';
import type { EngineOptions } from '../promql/engine/types.ts';
import { ChunkStore } from '../../sinks/chunks/chunk-store.ts';
import { createApiHandler } from './router.ts';
import { LONG_NAME, T0, fillStore } from './testing/store-fixture.ts';
import type { ApiDeps, BuildInfo } from './types.ts';

/**
 * The API over a real chunk store (filled, closed, reopened read-only as `sluice serve` does)
 * with the real parser and engine, through a real HTTP server: exact bodies, as Prometheus
 * writes them for the same data.
 */

const logger = pino({ level: 'silent' });
const BUILD: BuildInfo = { version: '0.1.0', revision: 'abc', branch: 'main', buildUser: 'me@here', buildDate: '20261122-00:00:00', goVersion: 'v20.19.0' };
/** Evaluation time of instant queries: T0 + 10m (the last sample is at T0 + 9m52s). */
const T = (T0 + 600_000) / 1000;

let dir: string;
let store: ChunkStore;
let api: ApiServer;
let base: string;

function deps(store: ChunkStore, options: EngineOptions = {}): ApiDeps {
  return {
    engine: new Engine(options),
    engineFor: (o) => new Engine({ ...options, ...o, timeoutMs: Math.min(o.timeoutMs ?? Infinity, options.timeoutMs ?? Infinity) }),
    queryable: store,
    metadata: (metric) => store.metadata(metric),
    buildInfo: BUILD,
    lookbackDeltaMs: 300_000,
    logger,
    now: () => T * 1000,
  };
}

async function serve(d: ApiDeps): Promise<{ api: ApiServer; base: string }> {
  const server = new ApiServer(new SelfMetrics());
  server.mount(createApiHandler(d));
  const address = await server.listen('127.0.0.1:0');
  server.setReady(true);
  return { api: server, base: `http://${address}` };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-api-'));
  await fillStore(dir);
  store = await ChunkStore.open(dir, { readOnly: true, logger });
  ({ api, base } = await serve(deps(store)));
});

afterAll(async () => {
  await api?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply {
  status: number;
  type: string | null;
  body: string;
}

async function get(path: string, params: Record<string, string | string[]> = {}, at = base): Promise<Reply> {
  const res = await fetch(`${at}${path}?${query(params)}`);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

async function post(path: string, params: Record<string, string | string[]>, at = base): Promise<Reply> {
  const res = await fetch(`${at}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: query(params),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

function query(params: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, v === one ? one : one);
  return q.toString();
}

const UP_A = '{"__name__":"up","instance":"a:1","job":"api"}';
const UP_B = '{"__name__":"up","instance":"b:1","job":"api"}';
/** The parser's message for `text` (its wording is the parser's business; the API's is the wrapping). */
function parseError(text: string): string {
  try {
    parseExpr(text);
  } catch (error) {
    expect(error).toBeInstanceOf(PromQLParseError);
    return (error as Error).message;
  }
  throw new Error(`${text} parses`);
}
const ok = (data: string, extra = '') => `{"status":"success","data":${data}${extra}}`;
const bad = (message: string) => `{"status":"error","errorType":"bad_data","error":${JSON.stringify(message)}}`;

describe('/api/v1/query', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['vector', { query: 'up', time: String(T) }, ok(`{"resultType":"vector","result":[{"metric":${UP_A},"value":[${T},"1"]},{"metric":${UP_B},"value":[${T},"1"]}]}`)],
    [
      'aggregation',
      { query: 'sum by (job) (http_requests_total)', time: String(T) },
      ok(`{"resultType":"vector","result":[{"metric":{"job":"api"},"value":[${T},"429"]}]}`),
    ],
    ['scalar', { query: '1 + 1', time: String(T) }, ok(`{"resultType":"scalar","result":[${T},"2"]}`)],
    ['string', { query: '"a<b"', time: String(T) }, ok(`{"resultType":"string","result":[${T},"a\\u003cb"]}`)],
    [
      'special values, escaped label values',
      { query: 'special or temperature_celsius', time: String(T) },
      ok(
        `{"resultType":"vector","result":[` +
          `{"metric":{"__name__":"special","kind":"inf"},"value":[${T},"+Inf"]},` +
          `{"metric":{"__name__":"special","kind":"nan"},"value":[${T},"NaN"]},` +
          `{"metric":{"__name__":"special","kind":"small"},"value":[${T},"1e-07"]},` +
          `{"metric":{"__name__":"temperature_celsius","room":"lab \\u003c1\\u003e \\u0026 co"},"value":[${T},"29.75"]}]}`,
      ),
    ],
    [
      'UTF-8 names',
      { query: '{"http.server.duration", "service.name"="checkout"}', time: String(T) },
      ok(`{"resultType":"vector","result":[{"metric":{"__name__":"http.server.duration","service.name":"checkout"},"value":[${T},"39"]}]}`),
    ],
    [
      'RFC 3339 time with fraction and offset',
      { query: 'up{instance="a:1"}', time: '2023-11-14T23:23:20.5+01:00' },
      ok(`{"resultType":"vector","result":[{"metric":${UP_A},"value":[1700000600.500,"1"]}]}`),
    ],
    ['no data', { query: 'nothing_here', time: String(T) }, ok('{"resultType":"vector","result":[]}')],
    ['time defaults to now', { query: 'vector(1)' }, ok(`{"resultType":"vector","result":[{"metric":{},"value":[${T},"1"]}]}`)],
    ['bad time', { query: 'up', time: 'yesterday' }, bad(`invalid parameter "time": Invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`)],
    ['parse error', { query: 'sum(up', time: String(T) }, bad(`invalid parameter "query": ${parseError('sum(up')}`)],
    ['empty query', { query: '' }, bad('invalid parameter "query": 1:1: parse error: no expression found in input')],
    ['bad timeout', { query: 'up', timeout: 'soon' }, bad('invalid parameter "timeout": cannot parse "soon" to a valid duration')],
    ['bad lookback_delta', { query: 'up', lookback_delta: 'x' }, bad('error parsing lookback delta duration: cannot parse "x" to a valid duration')],
  ];
  it.each(cases)('%s (GET and POST)', async (_name, params, body) => {
    const viaGet = await get('/api/v1/query', params);
    expect(viaGet.body).toBe(body);
    expect(viaGet.status).toBe(body.includes('"status":"error"') ? 400 : 200);
    expect(viaGet.type).toBe('application/json');
    expect(await post('/api/v1/query', params)).toEqual(viaGet);
  });

  it('lookback_delta narrows what an instant selector sees', async () => {
    // 30s after the last sample: seen with the default 5m, not with 20s.
    const at = String(T + 30 - 8 + 8);
    expect((await get('/api/v1/query', { query: 'count(up)', time: at })).body).toBe(ok(`{"resultType":"vector","result":[{"metric":{},"value":[${at},"2"]}]}`));
    expect((await get('/api/v1/query', { query: 'count(up)', time: at, lookback_delta: '20s' })).body).toBe(ok('{"resultType":"vector","result":[]}'));
  });

  it('stats=all adds Prometheus-shaped stats', async () => {
    const r = JSON.parse((await get('/api/v1/query', { query: 'up', time: String(T), stats: 'all' })).body);
    expect(Object.keys(r.data.stats.timings)).toEqual(['evalTotalTime', 'resultSortTime', 'queryPreparationTime', 'innerEvalTime', 'execQueueTime', 'execTotalTime']);
    expect(r.data.stats.samples.totalQueryableSamples).toBeGreaterThan(0);
  });

  it('the body parameter wins over the URL one on POST', async () => {
    const res = await fetch(`${base}/api/v1/query?query=up&time=${T}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'query=vector(2)',
    });
    expect(await res.text()).toBe(ok(`{"resultType":"vector","result":[{"metric":{},"value":[${T},"2"]}]}`));
  });

  it('a query the engine refuses at run time is 422 execution', async () => {
    const r = await get('/api/v1/query', { query: 'label_replace(up, "x", "$1", "job", "(")', time: String(T) });
    expect(r.status).toBe(422);
    const r2 = await get('/api/v1/query', { query: 'up{job="api"} + on() up', time: String(T) });
    expect(r2.status).toBe(422);
    expect(JSON.parse(r2.body)).toMatchObject({ status: 'error', errorType: 'execution' });
  });
});

describe('/api/v1/query_range', () => {
  const start = String((T0 + 60_000) / 1000);
  const end = String(T);
  const points = (values: string[]) => values.map((v, i) => `[${(T0 + 60_000 * (i + 1)) / 1000},"${v}"]`).join(',');
  const cases: Array<[string, Record<string, string>, string]> = [
    [
      'matrix',
      { query: 'up{instance="b:1"}', start, end, step: '60' },
      ok(`{"resultType":"matrix","result":[{"metric":${UP_B},"values":[${points(['0', '0', '0', '0', '0', '1', '1', '1', '1', '1'])}]}]}`),
    ],
    [
      'step as a duration, several series sorted',
      { query: 'up', start, end: String((T0 + 120_000) / 1000), step: '1m' },
      ok(`{"resultType":"matrix","result":[{"metric":${UP_A},"values":[${points(['1', '1'])}]},{"metric":${UP_B},"values":[${points(['0', '0'])}]}]}`),
    ],
    ['scalar is a matrix', { query: '2', start, end: String((T0 + 60_000) / 1000), step: '60' }, ok(`{"resultType":"matrix","result":[{"metric":{},"values":[${points(['2'])}]}]}`)],
    ['bad start', { query: 'up', start: 'x', end, step: '60' }, bad('invalid parameter "start": cannot parse "x" to a valid timestamp')],
    ['end before start', { query: 'up', start: end, end: start, step: '60' }, bad('invalid parameter "end": end timestamp must not be before start time')],
    [
      'zero step',
      { query: 'up', start, end, step: '0' },
      bad('invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'),
    ],
    [
      'too many points',
      { query: 'up', start: '0', end: '11001', step: '1' },
      bad('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)'),
    ],
    ['parse error', { query: 'up[', start, end, step: '60' }, bad(`invalid parameter "query": ${parseError('up[')}`)],
  ];
  it.each(cases)('%s (GET and POST)', async (_name, params, body) => {
    const viaGet = await get('/api/v1/query_range', params);
    expect(viaGet.body).toBe(body);
    expect(await post('/api/v1/query_range', params)).toEqual(viaGet);
  });

  it.each([
    ['up{instance="b:1"} offset step()', 'up{instance="b:1"} offset 1m'],
    ['max_over_time(up[range() - 8m])', 'max_over_time(up[1m])'], // the range is 9m,
  ])('step() and range() in a duration stand for the query\'s step and range: %s = %s', async (durations, literal) => {
    const range = { start, end, step: '60' };
    const got = await get('/api/v1/query_range', { query: durations, ...range });
    expect(got.body).toMatch(/^\{"status":"success","data":\{"resultType":"matrix","result":\[\{/);
    expect(got.body).toBe((await get('/api/v1/query_range', { query: literal, ...range })).body);
  });
});

describe('/api/v1/series, /labels, /label/<name>/values', () => {
  const cases: Array<[string, string, Record<string, string | string[]>, string]> = [
    ['series', '/api/v1/series', { 'match[]': 'up' }, ok(`[${UP_A},${UP_B}]`)],
    [
      'series: union of selectors, deduplicated and sorted',
      '/api/v1/series',
      { 'match[]': ['up{instance="b:1"}', 'http_requests_total{code="500"}', 'up'] },
      ok(`[{"__name__":"http_requests_total","code":"500","job":"api"},${UP_A},${UP_B}]`),
    ],
    ['series: limit', '/api/v1/series', { 'match[]': 'up', limit: '1' }, ok(`[${UP_A}]`, ',"warnings":["results truncated due to limit"]')],
    ['series: limit not reached', '/api/v1/series', { 'match[]': 'up', limit: '2' }, ok(`[${UP_A},${UP_B}]`)],
    ['series: time range outside the data', '/api/v1/series', { 'match[]': 'up', start: '0', end: '1000' }, ok('[]')],
    ['series: no match[]', '/api/v1/series', {}, bad('no match[] parameter provided')],
    ['series: empty matchers', '/api/v1/series', { 'match[]': '{job=~".*"}' }, bad(`invalid parameter "match[]": ${parseError('{job=~".*"}')}`)],
    ['series: not a selector', '/api/v1/series', { 'match[]': 'rate(up[5m])' }, bad('invalid parameter "match[]": 1:1: parse error: expected a series selector (a vector selector without range, offset or @), got "rate(up[5m])"')],
    ['series: bad limit', '/api/v1/series', { 'match[]': 'up', limit: 'x' }, bad('invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax')],
    ['series: bad end', '/api/v1/series', { 'match[]': 'up', end: 'x' }, bad(`invalid parameter "end": Invalid time value for 'end': cannot parse "x" to a valid timestamp`)],
    [
      'labels',
      '/api/v1/labels',
      {},
      ok('["__name__","code","instance","job","kind","room","service.name"]'),
    ],
    ['labels: match[]', '/api/v1/labels', { 'match[]': ['up', 'special'] }, ok('["__name__","instance","job","kind"]')],
    ['labels: limit', '/api/v1/labels', { limit: '2' }, ok('["__name__","code"]', ',"warnings":["results truncated due to limit"]')],
    ['labels: bad match[] is not wrapped', '/api/v1/labels', { 'match[]': 'up{' }, bad(parseError('up{'))],
  ];
  it.each(cases)('%s (GET and POST)', async (_name, path, params, body) => {
    const viaGet = await get(path, params);
    expect(viaGet.body).toBe(body);
    expect(await post(path, params)).toEqual(viaGet);
  });

  const values: Array<[string, string, Record<string, string | string[]>, string]> = [
    ['job', 'job', {}, ok('["api"]')],
    ['instance of up', 'instance', { 'match[]': 'up' }, ok('["a:1","b:1"]')],
    ['__name__ with limit', '__name__', { limit: '3' }, ok(`["${LONG_NAME}","http.server.duration","http_requests_total"]`, ',"warnings":["results truncated due to limit"]')],
    ['U__ escaped UTF-8 name', 'U__service_2e_name', {}, ok('["checkout"]')],
    ['percent-encoded UTF-8 name', encodeURIComponent('service.name'), {}, ok('["checkout"]')],
    ['unknown label', 'nope', {}, ok('[]')],
    ['escaped values', 'room', {}, ok('["lab \\u003c1\\u003e \\u0026 co"]')],
    ['bad limit', 'job', { limit: '-1' }, bad('invalid parameter "limit": limit must be non-negative')],
  ];
  it.each(values)('label values: %s', async (_name, label, params, body) => {
    expect((await get(`/api/v1/label/${label}/values`, params)).body).toBe(body);
  });

  it('label values: POST is not allowed (Prometheus registers GET only)', async () => {
    const r = await post('/api/v1/label/job/values', {});
    expect(r.status).toBe(405);
  });
});

describe('/api/v1/metadata, /status/buildinfo, /format_query', () => {
  const UP = '"up":[{"type":"gauge","help":"Whether the target is up.","unit":""}]';
  const HTTP = '"http_requests_total":[{"type":"counter","help":"Requests served, by status code.","unit":""}]';
  const TEMP = '"temperature_celsius":[{"type":"gauge","help":"Room temperature \\u003c°C\\u003e.","unit":"celsius"}]';
  const cases: Array<[string, string, Record<string, string>, string]> = [
    ['metadata', '/api/v1/metadata', {}, ok(`{${HTTP},${TEMP},${UP}}`)],
    ['metadata: metric', '/api/v1/metadata', { metric: 'up' }, ok(`{${UP}}`)],
    ['metadata: unknown metric', '/api/v1/metadata', { metric: 'nope' }, ok('{}')],
    ['metadata: limit', '/api/v1/metadata', { limit: '2' }, ok(`{${HTTP},${TEMP}}`)],
    ['metadata: limit 0', '/api/v1/metadata', { limit: '0' }, ok('{}')],
    ['metadata: limit_per_metric', '/api/v1/metadata', { limit_per_metric: '1', metric: 'up' }, ok(`{${UP}}`)],
    ['metadata: bad limit', '/api/v1/metadata', { limit: 'x' }, bad('limit must be a number')],
    ['metadata: bad limit_per_metric', '/api/v1/metadata', { limit_per_metric: 'x' }, bad('limit_per_metric must be a number')],
    [
      'buildinfo',
      '/api/v1/status/buildinfo',
      {},
      ok('{"version":"0.1.0","revision":"abc","branch":"main","buildUser":"me@here","buildDate":"20261122-00:00:00","goVersion":"v20.19.0"}'),
    ],
    ['format_query', '/api/v1/format_query', { query: 'sum(rate(foo{bar="baz"}[5m]))by(job)' }, ok('"sum by (job) (rate(foo{bar=\\"baz\\"}[5m]))"')],
    ['format_query: parse error', '/api/v1/format_query', { query: 'foo{' }, bad(`invalid parameter "query": ${parseError('foo{')}`)],
  ];
  it.each(cases)('%s', async (_name, path, params, body) => {
    expect((await get(path, params)).body).toBe(body);
  });

  it('format_query takes POST too', async () => {
    expect((await post('/api/v1/format_query', { query: 'up  +  1' })).body).toBe(ok('"up + 1"'));
  });
});

describe('HTTP behaviour', () => {
  it('CORS: headers when the request has an Origin; OPTIONS answers 204', async () => {
    const r = await fetch(`${base}/api/v1/query?query=1`, { headers: { Origin: 'http://grafana.local' } });
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS');
    const pre = await fetch(`${base}/api/v1/query_range`, { method: 'OPTIONS', headers: { Origin: 'http://grafana.local' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toBe('Accept, Authorization, Content-Type, Origin');
    const plain = await fetch(`${base}/api/v1/query?query=1`);
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('gzip when accepted', async () => {
    const r = await fetch(`${base}/api/v1/labels`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(r.headers.get('content-encoding')).toBe('gzip');
    expect(await r.text()).toBe(ok('["__name__","code","instance","job","kind","room","service.name"]'));
  });

  it('unknown API paths are 404; the server\'s own paths still work', async () => {
    expect((await fetch(`${base}/api/v1/nope`)).status).toBe(404);
    expect(await (await fetch(`${base}/-/healthy`)).text()).toBe('sluice is healthy.\n');
    expect((await fetch(`${base}/-/ready`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it('DELETE on a query endpoint is 405', async () => {
    const r = await fetch(`${base}/api/v1/query`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET, POST, OPTIONS');
  });
});

describe('limits', () => {
  it('a catastrophic regex over a long label value answers fast (RE2, linear time)', async () => {
    const started = performance.now();
    const series = await get('/api/v1/series', { 'match[]': '{__name__=~"(a+)+$"}' });
    const q = await get('/api/v1/query', { query: 'count({__name__=~"(a+)+$"})', time: String(T) });
    const elapsed = performance.now() - started;
    expect(series.body).toBe(ok('[]'));
    expect(q.body).toBe(ok('{"resultType":"vector","result":[]}'));
    // And the same regex that does match the long name.
    const hit = await get('/api/v1/query', { query: 'count({__name__=~"(a+)+b"})', time: String(T) });
    expect(hit.body).toBe(ok(`{"resultType":"vector","result":[{"metric":{},"value":[${T},"1"]}]}`));
    expect(LONG_NAME.length).toBe(20_001);
    expect(elapsed).toBeLessThan(2000);
  });

  it('a query over the sample limit is 422 with the limit message, and the server stays up', async () => {
    const small = await serve(deps(store, { maxSamples: 50 }));
    try {
      const r = await get('/api/v1/query', { query: 'up[10m]', time: String(T) }, small.base);
      expect(r.status).toBe(422);
      expect(r.body).toBe('{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory in query execution"}');
      const after = await get('/api/v1/query', { query: 'up{instance="a:1"}', time: String(T) }, small.base);
      expect(after.body).toBe(ok(`{"resultType":"vector","result":[{"metric":${UP_A},"value":[${T},"1"]}]}`));
    } finally {
      await small.api.close();
    }
  });

  it('a query over its timeout is 503 timeout, and the server stays up', async () => {
    const r = await get('/api/v1/query_range', {
      query: 'count_over_time(sum(http_requests_total)[10m:1ms])',
      start: String((T0 + 600_000 - 5_000) / 1000),
      end: String(T),
      step: '0.1',
      timeout: '0.05',
    });
    expect(r.status).toBe(503);
    expect(r.body).toBe('{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}');
    expect((await get('/api/v1/query', { query: '1', time: String(T) })).status).toBe(200);
  });

  it('the server-wide timeout of the engine applies too', async () => {
    const slow = await serve(deps(store, { timeoutMs: 20 }));
    try {
      const r = await get('/api/v1/query', { query: 'count_over_time(sum(http_requests_total)[10m:1ms])', time: String(T) }, slow.base);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).errorType).toBe('timeout');
    } finally {
      await slow.api.close();
    }
  });
});
