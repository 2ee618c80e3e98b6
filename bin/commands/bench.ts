import { parseArgs } from 'node:util';
import type { BenchResult } from '../../bench/bench-context.ts';
import { benchIngest } from '../../bench/ingest.ts';
import { benchNats } from '../../bench/nats.ts';
import { benchChunks } from '../../bench/chunks.ts';
import { benchPromql } from '../../bench/promql.ts';
import { benchClickhouse, clickhouseBenchOptions } from '../../bench/clickhouse.ts';
import { benchDownsample } from '../../operators/downsample/downsample-bench.ts';
import { UsageError } from '../cli.ts';

/** Options after the name; only the benches that take them read them. */
export type BenchArgs = Record<string, string | boolean | undefined>;

const BENCHES: Record<string, { about: string; run: (args: BenchArgs) => Promise<BenchResult[]> }> = {
  ingest: { about: 'parse + relabel over the recorded exporter scrapes, one core', run: () => benchIngest() },
  nats: { about: 'publish-to-sink through a real nats-server (JetStream and core)', run: () => benchNats() },
  chunks: {
    about: 'chunk store bytes/sample vs Prometheus and VictoriaMetrics, append and decode speed, head memory',
    run: () => benchChunks(),
  },
  promql: {
    about: 'range queries (1h at 15s over 10,000 series) through the HTTP API, side by side with Prometheus',
    run: () => benchPromql(),
  },
  downsample: {
    about: 'the downsample operator: pure rollup state and the durable operator (samples/s), snapshot size and time, recovery',
    run: () => benchDownsample(),
  },
  clickhouse: {
    about: 'chDB: writer rows/s, rollup bytes/row, sum by (job) (rate(m[5m])) over 30d at 1h across 10,000 series, SQL vs ClickHouse PromQL vs engine (--series --days --interval --runs --quick)',
    run: (args) => benchClickhouse(clickhouseBenchOptions(args)),
  },
};

/** `sluice bench <name> [--json]`: runs a benchmark; with --json one JSON object per line on stdout. */
export async function commandBench(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      series: { type: 'string' },
      days: { type: 'string' },
      interval: { type: 'string' },
      runs: { type: 'string' },
      quick: { type: 'boolean' },
    },
  });
  const name = positionals[0];
  const bench = name === undefined ? undefined : BENCHES[name];
  if (!bench) {
    const list = Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(8)} ${b.about}`).join('\n');
    throw new UsageError(`${name === undefined ? 'name a benchmark' : `unknown benchmark "${name}"`}; benchmarks:\n${list}`);
  }
  for (const result of await bench.run(values)) {
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const { bench: b, metric, value, unit, ...context } = result;
      const extra = Object.entries(context).map(([k, v]) => `${k}=${v}`).join(' ');
      process.stdout.write(`${b} ${metric}: ${value.toLocaleString('en-US')} ${unit}  (${extra})\n`);
    }
  }
  return 0;
}
