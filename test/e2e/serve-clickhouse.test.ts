import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { freePort } from '../../pipelines/services/free-port.ts';
import { Engine } from '../../query/promql/engine/engine.ts';
import { MemoryQueryable } from '../../query/promql/engine/testing/memory-queryable.ts';
import { parseExpr } from '../../query/promql/parser/index.ts';
import { loadQueryable } from '../../query/sql/clickhouse-backend.ts';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';
import { migrate } from '../../sinks/clickhouse/schema/migrate.ts';
import { eventually } from '../harness/eventually.ts';

/**
 * `sluice serve --clickhouse embedded --clickhouse-data-dir DIR` as a process, with no chunk store:
 * the Prometheus API answers from the ClickHouse tier alone (what a Grafana over the long-term
 * tier uses). The data is written into the directory by this test's own chDB, closed before the
 * server opens it.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const T0 = 1_700_000_000_000;
let dir: string;
let child: ChildProcess;
let base: string;
const data = new MemoryQueryable();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-serve-ch-'));
  for (let s = 0; s < 3; s++) {
    data.add({ labels: { __name__: 'm_total', job: `j${s}` }, ts: Array.from({ length: 240 }, (_, k) => T0 + k * 15_000), values: Array.from({ length: 240 }, (_, k) => k * (s + 1)) });
  }
  const client = await openClickHouse('embedded', { dataDir: join(dir, 'ch'), logger: pino({ level: 'silent' }) });
  await migrate(client, { database: 'sluice', rawTtlSeconds: null });
  await loadQueryable(client, data, { database: 'sluice' });
  await client.close();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  child = spawn(join(ROOT, 'bin/sluice'), ['serve', '--clickhouse', 'embedded', '--clickhouse-data-dir', join(dir, 'ch'), '--clickhouse-raw-retention', '100000d', '--listen', `127.0.0.1:${port}`], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  await eventually(async () => {
    try {
      return (await fetch(`${base}/-/ready`)).ok;
    } catch {
      return false;
    }
  }, 'sluice serve ready', 60_000);
}, 90_000);

afterAll(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('answers a range query from ClickHouse alone, as the engine over the same samples', async () => {
  const query = 'sum by (job) (rate(m_total[5m]))';
  const [start, end, step] = [T0 + 600_000, T0 + 3_600_000, 300_000];
  const body = new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: String(step / 1000) });
  const res = await fetch(`${base}/api/v1/query_range`, { method: 'POST', body });
  expect(res.status).toBe(200);
  const json = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
  const want = await new Engine().rangeQuery(data, parseExpr(query), start, end, step);
  if (want.value.type !== 'matrix') throw new Error('bug: a range query returns a matrix');
  expect(json.data.result.map((s) => [s.metric.job, s.values.map(([t, v]) => [t * 1000, Number(v)])])).toEqual(
    want.value.series.map((s) => [s.labels[1], Array.from(s.ts, (t, i) => [t, s.values[i]])]),
  );
});

it('lists series and label values from ClickHouse', async () => {
  const values = (await (await fetch(`${base}/api/v1/label/job/values?start=${T0 / 1000}&end=${(T0 + 3_600_000) / 1000}`)).json()) as { data: string[] };
  expect(values.data).toEqual(['j0', 'j1', 'j2']);
});

it('counts where the steps were answered in its self-metrics', async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  // The range query above: every step before the (empty) chunk store, so all of them in ClickHouse.
  expect(text).toMatch(/^sluice_query_tier_steps_total\{route="clickhouse_sql"\} 11$/m);
});
