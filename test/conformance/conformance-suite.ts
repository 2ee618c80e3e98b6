import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { parseKnownFailures } from '../../query/promql/test/report.ts';
import { runTestFile, type FileResult } from '../../query/promql/test/runner.ts';

/** Prometheus's PromQL test files, beside the repository (`../shared/promqltest`). */
export const PROMQLTEST_DIR = new URL('../../../shared/promqltest/', import.meta.url);

export function promqlTestFiles(): string[] {
  return existsSync(PROMQLTEST_DIR) ? readdirSync(PROMQLTEST_DIR).filter((f) => f.endsWith('.test')).sort() : [];
}

/** Runs every file through `backend` (once, at collection: an eval depends on the loads before it). */
export async function runPromqlTestFiles(backend: Parameters<typeof runTestFile>[2]): Promise<FileResult[]> {
  const results: FileResult[] = [];
  for (const file of promqlTestFiles()) results.push(await runTestFile(readFileSync(new URL(file, PROMQLTEST_DIR), 'utf8'), file, backend));
  return results;
}

/**
 * Registers one vitest test per eval, named `file:line query`: skipped evals are `it.skip` with
 * their reason; evals listed in the known-failures file must fail, and one that passes fails and
 * asks to be removed, so the list only shrinks; an entry naming no running eval fails too.
 */
export function registerConformanceSuite(label: string, results: readonly FileResult[], knownFailuresFile: URL, listPath: string): void {
  if (results.length === 0) {
    it.skip(`${label}: no .test files in ${fileURLToPath(PROMQLTEST_DIR)}`, () => {});
    return;
  }
  const known = existsSync(knownFailuresFile) ? parseKnownFailures(readFileSync(knownFailuresFile, 'utf8')) : new Map<string, string>();
  const running = new Set(results.flatMap((r) => r.cases.filter((c) => c.status !== 'skipped').map((c) => `${r.file}:${c.line}`)));
  const stale = [...known.keys()].filter((key) => !running.has(key));
  for (const result of results) {
    describe(`${label} ${result.file}`, () => {
      for (const c of result.cases) {
        const key = `${result.file}:${c.line}`;
        const name = `${key} ${c.title}`;
        if (c.status === 'skipped') {
          it.skip(`${name} (skipped: ${c.reason})`, () => {});
        } else if (known.has(key)) {
          it(`${name} [known failure]`, () => {
            if (c.status === 'passed') throw new Error(`${key} passes now: remove it from ${listPath} (the list may only shrink)`);
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
    it(`${listPath} names only evals that exist and run`, () => {
      throw new Error(`remove these entries from ${listPath}; they name no eval that runs: ${stale.join(', ')}`);
    });
  }
}
