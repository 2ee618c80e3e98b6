import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';
import { ChdbHttpServer } from '../harness/clickhouse-server.ts';

/**
 * `sluice promqltest --backend clickhouse --clickhouse URL` runs Prometheus's test files through
 * the translator on a ClickHouse server (chDB behind ClickHouse's HTTP protocol,
 * test/harness/chdb-http-server.ts) and counts what the embedded run counts; its database is gone
 * afterwards. Two of the files, for time: all of them take minutes this way.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FILES = ['selectors.test', 'staleness.test'].map((f) => join(ROOT, '../shared/promqltest', f));
let dir: string;
let server: ChdbHttpServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-promqltest-http-'));
  server = await ChdbHttpServer.start(join(dir, 'chdb'));
}, 60_000);

afterAll(async () => {
  await server?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const promqltest = (...args: string[]) => spawnSync(join(ROOT, 'bin/sluice'), ['promqltest', '--backend', 'clickhouse', ...args, ...FILES], { cwd: ROOT, encoding: 'utf8' });
const lastLine = (text: string) => text.trim().split('\n').at(-1);

it('passes on a ClickHouse server what it passes embedded, and drops its database', async () => {
  const embedded = promqltest();
  const overHttp = promqltest('--clickhouse', server.url);
  expect(overHttp.status, overHttp.stderr + overHttp.stdout).toBe(0);
  expect(lastLine(overHttp.stdout)).toBe(lastLine(embedded.stdout));
  expect(lastLine(overHttp.stdout)).toMatch(/^[1-9]\d* passed, 0 failed, \d+ skipped$/);
  const client = await openClickHouse(server.url, { logger: pino({ level: 'silent' }) });
  try {
    const rs = await client.query({ query: "SELECT name FROM system.databases WHERE name LIKE 'sluice_promqltest_%'", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([]);
  } finally {
    await client.close();
  }
}, 180_000);

it('refuses --clickhouse without --backend clickhouse (usage, exit 2)', () => {
  const r = spawnSync(join(ROOT, 'bin/sluice'), ['promqltest', '--clickhouse', server.url, ...FILES], { cwd: ROOT, encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('--clickhouse is for --backend clickhouse');
});
