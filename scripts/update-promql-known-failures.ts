/**
 * Rewrites test/conformance/promql-known-failures.txt from a run of ../shared/promqltest/*.test
 * through sluice's engine.
 *
 *   npx tsx scripts/update-promql-known-failures.ts          drop entries that pass now (the list only shrinks)
 *   npx tsx scripts/update-promql-known-failures.ts --add    also add every new failure (first generation, or
 *                                                            a deliberate, reviewed addition)
 *
 * Without --add, failures missing from the list are printed and the exit code is 1.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { countCases, formatKnownFailures, formatTotals, parseKnownFailures } from '../query/promql/test/report.ts';
import { engineBackend, runTestFile, type FileResult } from '../query/promql/test/runner.ts';

const DIR = new URL('../../shared/promqltest/', import.meta.url);
const LIST = new URL('../test/conformance/promql-known-failures.txt', import.meta.url);

const add = process.argv.includes('--add');
const known = existsSync(LIST) ? parseKnownFailures(readFileSync(LIST, 'utf8')) : new Map<string, string>();
const backend = engineBackend();
const results: FileResult[] = [];
for (const file of readdirSync(DIR).filter((f) => f.endsWith('.test')).sort()) {
  const result = await runTestFile(readFileSync(new URL(file, DIR), 'utf8'), file, backend);
  results.push(result);
  process.stdout.write(`${file}: ${formatTotals(countCases(result.cases))}\n`);
}

const failing = new Set(results.flatMap((r) => r.cases.filter((c) => c.status === 'failed').map((c) => `${r.file}:${c.line}`)));
const unlisted = [...failing].filter((k) => !known.has(k));
const fixed = [...known.keys()].filter((k) => !failing.has(k));
writeFileSync(LIST, formatKnownFailures(results, (key) => add || known.has(key)));

const kept = add ? failing.size : failing.size - unlisted.length;
process.stdout.write(`${fileURLToPath(LIST)}: ${kept} known failures (${fixed.length} removed${add ? `, ${unlisted.length} added` : ''})\n`);
if (!add && unlisted.length > 0) {
  process.stdout.write(`new failures, not added (fix them, or rerun with --add after review):\n${unlisted.map((k) => `  ${k}`).join('\n')}\n`);
  process.exitCode = 1;
}
