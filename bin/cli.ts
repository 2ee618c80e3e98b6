import { commandCheck } from './commands/check.ts';
import { commandRun } from './commands/run.ts';
import { commandDemo } from './commands/demo.ts';
import { commandBench } from './commands/bench.ts';
import { commandTsdb } from './commands/tsdb.ts';
import { commandPromqltest } from './commands/promqltest.ts';
import { commandServe } from './commands/serve.ts';

const USAGE = `usage: sluice <command> [options]

commands:
  run [topology.yaml] [--demo]     run a topology (default topology.yaml); --demo also publishes demo metrics
  check <topology.yaml>            validate a topology; lists every error as file:line:col: message
  demo [--url URL] [--tenant T]    publish demo metrics to NATS (metrics.<tenant>.prom) every second
  bench <name> [--json]            run a benchmark (ingest, nats, chunks, promql, downsample, clickhouse)
  tsdb stats PATH                  a chunk store's series, samples, bytes per sample, top metrics
  tsdb dump PATH [SELECTOR...]     a chunk store's samples, as labels value timestamp
  promqltest [--backend engine|clickhouse [--clickhouse embedded|URL]] [--verbose] FILE.test...
                                   run Prometheus PromQL test files; a line per file, then the totals
  serve [--tsdb PATH] [--clickhouse embedded|URL] [--listen H:P]
                                   the Prometheus HTTP API (/api/v1/query, ...) over a chunk store
                                   and/or the ClickHouse tier, read-only
  help                             this text
`;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  run: commandRun,
  check: commandCheck,
  demo: commandDemo,
  bench: commandBench,
  tsdb: commandTsdb,
  promqltest: commandPromqltest,
  serve: commandServe,
};

/** Runs one CLI command; returns the process exit code (0 ok, 1 failure, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`sluice: unknown command "${name}"; commands: ${Object.keys(COMMANDS).join(', ')}\n\n${USAGE}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await command(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`sluice ${name}: ${error.message}\n`);
      return 2;
    }
    if (isArgumentError(error)) {
      process.stderr.write(`sluice ${name}: ${error.message}\n(sluice help lists the commands and their options)\n`);
      return 2;
    }
    throw error;
  }
}

/** What node:util's parseArgs throws for an unknown option or a missing or ill-typed value. */
function isArgumentError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

export class UsageError extends Error {
  override name = 'UsageError';
}
