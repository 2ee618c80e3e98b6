import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, it } from 'vitest';
import { openEmbeddedTestBackend } from '../../query/sql/open-test-backend.ts';
import { parseKnownFailures } from '../../query/promql/test/report.ts';
import { runTestFile, type FileResult } from '../../query/promql/test/runner.ts';

/**
 * The conformance files (`../shared/promqltest`) through the PromQL-to-ClickHouse-SQL translator
 * over embedded chDB, with the mechanism of promql.test.ts: one vitest test per eval; evals the
 * translator does not express are `it.skip` naming the construct; evals listed in
 * promql-clickhouse-known-failures.txt must fail, and one that passes asks to be removed (the list
 * only shrinks). One chDB session for the whole file (chDB binds one data directory per process).
 */

const DIR = new URL('../../../shared/promqltest/', import.meta.url);
const KNOWN_FAILURES_FILE = new URL('./promql-clickhouse-known-failures.txt', import.meta.url);
const LIST = 'test/conformance/promql-clickhouse-known-failures.txt';

const files = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.test')).sort() : [];
const known = existsSync(KNOWN_FAILURES_FILE) ? parseKnownFailures(readFileSync(KNOWN_FAILURES_FILE, 'utf8')) : new Map<string, string>();

const results: FileResult[] = [];
if (files.length > 0) {
  const { backend, client } = await openEmbeddedTestBackend();
  try {
    for (const file of files) results.push(await runTestFile(readFileSync(new URL(file, DIR), 'utf8'), file, backend));
  } finally {
    afterAll(async () => client.close());
  }
} else {
  it.skip(`PromQL conformance (clickhouse): no .test files in ${fileURLToPath(DIR)}`, () => {});
}

const running = new Set(results.flatMap((r) => r.cases.filter((c) => c.status !== 'skipped').map((c) => `${r.file}:${c.line}`)));
const stale = [...known.keys()].filter((key) => !running.has(key));
for (const result of results) {
  describe(`promqltest clickhouse ${result.file}`, () => {
    for (const c of result.cases) {
      const key = `${result.file}:${c.line}`;
      const name = `${key} ${c.title}`;
      if (c.status === 'skipped') {
        it.skip(`${name} (skipped: ${c.reason})`, () => {});
      } else if (known.has(key)) {
        it(`${name} [known failure]`, () => {
          if (c.status === 'passed') throw new Error(`${key} passes now: remove it from ${LIST} (the list may only shrink)`);
        });
      } else {
        it(name, () => {
          if (c.status === 'failed') throw new Error(c.message);
        });
      }
    }
  });
}

if (stale.length > 0) {
  it(`${LIST} names only evals that exist and run`, () => {
    throw new Error(`remove these entries from ${LIST}; they name no eval that runs: ${stale.join(', ')}`);
  });
}
