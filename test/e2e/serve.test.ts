import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../pipelines/services/free-port.ts';
import { T0, fillStore } from '../../query/api/testing/store-fixture.ts';
import { eventually } from '../harness/eventually.ts';

/** `sluice serve --tsdb DIR` as a process: the Prometheus API over HTTP, GET and POST, then SIGTERM. */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const T = (T0 + 600_000) / 1000;
const UP_A = '{"__name__":"up","instance":"a:1","job":"api"}';
const UP_B = '{"__name__":"up","instance":"b:1","job":"api"}';

let dir: string;
let child: ChildProcess;
let base: string;
let stderr = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-serve-'));
  await fillStore(dir);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(join(ROOT, 'bin/sluice'), ['serve', '--tsdb', dir, '--listen', `127.0.0.1:${port}`], {
    cwd: ROOT,
    env: { ...process.env, SLUICE_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await eventually(async () => {
    try {
      return (await fetch(`${base}/-/ready`)).ok;
    } catch {
      return false;
    }
  }, 'sluice serve ready');
}, 60_000);

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

it('answers instant queries over GET and POST with Prometheus bodies', async () => {
  const expected = `{"status":"success","data":{"resultType":"vector","result":[{"metric":${UP_A},"value":[${T},"1"]},{"metric":${UP_B},"value":[${T},"1"]}]}}`;
  const viaGet = await fetch(`${base}/api/v1/query?query=up&time=${T}`);
  expect(viaGet.status).toBe(200);
  expect(viaGet.headers.get('content-type')).toBe('application/json');
  expect(await viaGet.text()).toBe(expected);
  const viaPost = await fetch(`${base}/api/v1/query`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: 'up', time: String(T) }).toString(),
  });
  expect(await viaPost.text()).toBe(expected);
});

it('answers range queries, series, labels and metadata', async () => {
  const range = await fetch(`${base}/api/v1/query_range`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ query: 'sum(http_requests_total)', start: String((T0 + 60_000) / 1000), end: String((T0 + 180_000) / 1000), step: '1m' }).toString(),
  });
  // Scrapes at T0+7s+15s*k: at +60s k=3 (30+3), at +120s k=7 (70+7), at +180s k=11 (110+11).
  expect(await range.text()).toBe(
    `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[${(T0 + 60_000) / 1000},"33"],[${(T0 + 120_000) / 1000},"77"],[${(T0 + 180_000) / 1000},"121"]]}]}}`,
  );
  expect(await (await fetch(`${base}/api/v1/series?match[]=up`)).text()).toBe(`{"status":"success","data":[${UP_A},${UP_B}]}`);
  const labels = await fetch(`${base}/api/v1/labels`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'match[]=up',
  });
  expect(await labels.text()).toBe('{"status":"success","data":["__name__","instance","job"]}');
  expect(await (await fetch(`${base}/api/v1/label/U__service_2e_name/values`)).text()).toBe('{"status":"success","data":["checkout"]}');
  expect(await (await fetch(`${base}/api/v1/metadata?metric=up`)).text()).toBe(
    '{"status":"success","data":{"up":[{"type":"gauge","help":"Whether the target is up.","unit":""}]}}',
  );
});

it('reports errors as Prometheus does and keeps serving', async () => {
  const r = await fetch(`${base}/api/v1/query_range?query=up&start=x&end=1&step=1`);
  expect(r.status).toBe(400);
  expect(await r.text()).toBe('{"status":"error","errorType":"bad_data","error":"invalid parameter \\"start\\": cannot parse \\"x\\" to a valid timestamp"}');
  expect((await fetch(`${base}/-/healthy`)).status).toBe(200);
});

it('buildinfo carries the package version', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const body = JSON.parse(await (await fetch(`${base}/api/v1/status/buildinfo`)).text());
  expect(body.status).toBe('success');
  expect(body.data.version).toBe(pkg.version);
  expect(Object.keys(body.data)).toEqual(['version', 'revision', 'branch', 'buildUser', 'buildDate', 'goVersion']);
});

it('serves /metrics beside the API', async () => {
  const r = await fetch(`${base}/metrics`);
  expect(r.status).toBe(200);
  expect(await r.text()).toContain('process_cpu_seconds_total');
});

it('stops on SIGTERM with exit code 0', async () => {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  expect(stderr).not.toMatch(/"level":(50|60)/);
}, 20_000);

it('refuses to start without --tsdb or --clickhouse (usage, exit 2) or with a missing directory (exit 1)', () => {
  const usage = spawnSync(join(ROOT, 'bin/sluice'), ['serve'], { cwd: ROOT, encoding: 'utf8' });
  expect(usage.status).toBe(2);
  expect(usage.stderr).toContain('usage: sluice serve [--tsdb PATH] [--clickhouse embedded|URL');
  const missing = spawnSync(join(ROOT, 'bin/sluice'), ['serve', '--tsdb', join(dir, 'nope')], { cwd: ROOT, encoding: 'utf8' });
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain('does not exist');
});
