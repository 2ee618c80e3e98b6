import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatReport, countCases } from '../../query/promql/test/report.ts';
import { engineBackend, runTestFile, type FileResult } from '../../query/promql/test/runner.ts';
import { UsageError } from '../cli.ts';

const USAGE = 'usage: sluice promqltest [--backend engine|clickhouse [--clickhouse embedded|URL]] [--verbose] FILE.test...';

/**
 * `sluice promqltest FILES...`: runs Prometheus PromQL test files (`../shared/promqltest`) against
 * sluice's engine; one line per file, `--verbose` adds each failure with its difference and the
 * skip reasons, and last a line `N passed, N failed, N skipped`. Exit 1 when any eval failed.
 * `--backend clickhouse` runs them through the PromQL-to-SQL translator, in embedded chDB or, with
 * `--clickhouse http://host:8123`, on a ClickHouse server (in a database of its own, dropped after).
 */
export async function commandPromqltest(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      backend: { type: 'string', default: 'engine' },
      clickhouse: { type: 'string', default: 'embedded' },
      verbose: { type: 'boolean', short: 'v', default: false },
    },
  });
  if (positionals.length === 0) throw new UsageError(`expects at least one test file; ${USAGE}`);
  if (values.backend !== 'engine' && values.backend !== 'clickhouse') throw new UsageError(`unknown backend "${values.backend}"; backends: engine, clickhouse`);
  if (values.clickhouse !== 'embedded' && values.backend !== 'clickhouse') throw new UsageError(`--clickhouse is for --backend clickhouse; ${USAGE}`);

  const texts: string[] = [];
  for (const file of positionals) {
    try {
      texts.push(await readFile(file, 'utf8'));
    } catch (error) {
      process.stderr.write(`sluice promqltest: cannot read ${file}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  // clickhouse: the PromQL-to-SQL translator over a fresh raw table (query/sql/).
  const opened = values.backend === 'clickhouse' ? await (await import('../../query/sql/open-test-backend.ts')).openTestBackend(values.clickhouse) : null;
  const backend = opened?.backend ?? engineBackend();
  const results: FileResult[] = [];
  try {
    for (let i = 0; i < positionals.length; i++) results.push(await runTestFile(texts[i], positionals[i], backend));
  } finally {
    await opened?.close();
  }
  process.stdout.write(formatReport(results, { verbose: values.verbose }));
  return results.some((r) => countCases(r.cases).failed > 0) ? 1 : 0;
}
