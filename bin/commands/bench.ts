import { parseArgs } from 'node:util';
import type { BenchResult } from '../../bench/bench-context.ts';
import { benchIngest } from '../../bench/ingest.ts';
import { benchNats } from '../../bench/nats.ts';
import { benchChunks } from '../../bench/chunks.ts';
import { benchPromql } from '../../bench/promql.ts';
import { UsageError } from '../cli.ts';

const BENCHES: Record<string, { about: string; run: () => Promise<BenchResult[]> }> = {
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
};

/** `sluice bench <name> [--json]`: runs a benchmark; with --json one JSON object per line on stdout. */
export async function commandBench(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  const name = positionals[0];
  const bench = name === undefined ? undefined : BENCHES[name];
  if (!bench) {
    const list = Object.entries(BENCHES).map(([n, b]) => `  ${n.padEnd(8)} ${b.about}`).join('\n');
    throw new UsageError(`${name === undefined ? 'name a benchmark' : `unknown benchmark "${name}"`}; benchmarks:\n${list}`);
  }
  for (const result of await bench.run()) {
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else {
      const { bench: b, metric, value, unit, ...context } = result;
      const extra = Object.entries(context).map(([k, v]) => `${k}=${v}`).join(' ');
      process.stdout.write(`${b} ${metric}: ${value.toLocaleString('en-US')} ${unit}  (${extra})\n`);
    }
  }
  return 0;
}
