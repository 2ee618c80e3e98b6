import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { parseKnownFailures } from '../../query/promql/test/report.ts';
import { engineBackend, runTestFile, type FileResult } from '../../query/promql/test/runner.ts';

/**
 * Prometheus's own PromQL test files (`../shared/promqltest`, the repo's sibling) through sluice's
 * engine: one vitest test per eval, named `file:line query`. Skipped evals (native histograms,
 * unsupported syntax) are `it.skip` with their reason. Evals listed in promql-known-failures.txt
 * must fail; one that passes fails here and asks to be removed from the list, so the list only
 * shrinks. The files run once, at collection, because an eval depends on the loads before it.
 */

const DIR = new URL('../../../shared/promqltest/', import.meta.url);
const KNOWN_FAILURES_FILE = new URL('./promql-known-failures.txt', import.meta.url);
const LIST = 'test/conformance/promql-known-failures.txt';

const files = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.test')).sort() : [];
const known = existsSync(KNOWN_FAILURES_FILE) ? parseKnownFailures(readFileSync(KNOWN_FAILURES_FILE, 'utf8')) : new Map<string, string>();

const backend = engineBackend();
const results: FileResult[] = [];
for (const file of files) results.push(await runTestFile(readFileSync(new URL(file, DIR), 'utf8'), file, backend));

if (files.length === 0) {
  it.skip(`PromQL conformance: no .test files in ${fileURLToPath(DIR)}`, () => {});
}

const running = new Set(results.flatMap((r) => r.cases.filter((c) => c.status !== 'skipped').map((c) => `${r.file}:${c.line}`)));
const stale = [...known.keys()].filter((key) => !running.has(key));
for (const result of results) {
  describe(`promqltest ${result.file}`, () => {
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
