import type { CaseResult, FileResult } from './runner.ts';

/**
 * The report of a conformance run, as DESIGN.md's CLI contract wants it: one line per file,
 * `<file>: N passed, N failed, N skipped`, and last a line `N passed, N failed, N skipped`.
 * Verbose adds, under each file, every failure (file:line, the query, the difference) and the
 * skip reasons with their counts.
 */

export interface Totals {
  passed: number;
  failed: number;
  skipped: number;
}

export function countCases(cases: readonly CaseResult[]): Totals {
  const totals: Totals = { passed: 0, failed: 0, skipped: 0 };
  for (const c of cases) totals[c.status]++;
  return totals;
}

export function formatTotals(t: Totals): string {
  return `${t.passed} passed, ${t.failed} failed, ${t.skipped} skipped`;
}

/** Skip reasons with how often each occurs, most frequent first. */
export function skipReasons(cases: readonly CaseResult[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const c of cases) if (c.status === 'skipped') counts.set(c.reason, (counts.get(c.reason) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
}

export function formatReport(results: readonly FileResult[], options: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  const total: Totals = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) {
    const t = countCases(r.cases);
    total.passed += t.passed;
    total.failed += t.failed;
    total.skipped += t.skipped;
    lines.push(`${r.file}: ${formatTotals(t)}`);
    if (!options.verbose) continue;
    for (const c of r.cases) {
      if (c.status !== 'failed') continue;
      lines.push(...c.message.split('\n').map((l, i) => (i === 0 ? `  FAIL ${l}` : `    ${l}`)));
    }
    for (const [reason, n] of skipReasons(r.cases)) lines.push(`  skipped ${n}: ${reason}`);
  }
  lines.push(formatTotals(total));
  return `${lines.join('\n')}\n`;
}

/**
 * The known-failures list (test/conformance/promql-known-failures.txt): one `file:line` per line,
 * each with a `# why` comment; `#` lines and blank lines are comments. Returns key -> why.
 */
export function parseKnownFailures(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const hash = line.indexOf('#');
    const key = (hash < 0 ? line : line.slice(0, hash)).trim();
    out.set(key, hash < 0 ? '' : line.slice(hash + 1).trim());
  }
  return out;
}

export const KNOWN_FAILURES_HEADER = `# PromQL conformance: evals of ../shared/promqltest/*.test that sluice's engine does not pass yet.
# One \`file:line\` per line (the eval's line), then \`# why\` (the first difference the runner saw).
# test/conformance/promql.test.ts expects exactly these to fail: one that starts passing fails the
# suite until it is removed here, so this list can only shrink. Regenerate (removals only) with
#   npx tsx scripts/update-promql-known-failures.ts
# and see every difference with: ./bin/sluice promqltest --verbose ../shared/promqltest/*.test
`;

/** The list for these results: every failed case, sorted by file and line, with its first difference. */
export function formatKnownFailures(results: readonly FileResult[], keep: (key: string) => boolean = () => true): string {
  const lines: string[] = [];
  for (const r of [...results].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    for (const c of [...r.cases].sort((a, b) => a.line - b.line)) {
      const key = `${r.file}:${c.line}`;
      if (c.status !== 'failed' || !keep(key)) continue;
      lines.push(`${key}  # ${c.title.slice(0, 100)} -- ${failureSummary(c.message)}`);
    }
  }
  return KNOWN_FAILURES_HEADER + (lines.length > 0 ? `\n${lines.join('\n')}\n` : '');
}

/** The line of a failure message that says what differed (the first after the file:line title). */
export function failureSummary(message: string): string {
  const lines = message.split('\n');
  let line = lines[1] ?? lines[0];
  if (line.endsWith(':') && lines[2] !== undefined) line = `${line} ${lines[2]}`;
  line = line.replace(/\s+/g, ' ').trim();
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
