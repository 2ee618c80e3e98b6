import { pino } from 'pino';
import { ComponentRegistry } from '../../pipelines/registry.ts';
import { TopologyRuntime } from '../../pipelines/runtime/topology-runtime.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { compileTopology, formatTopologyError } from '../../pipelines/topology/compile.ts';

export interface RunningTopology {
  readonly runtime: TopologyRuntime;
  readonly metrics: SelfMetrics;
  /** Sum of a self-metric's values whose labels include `labels`. */
  value(metric: 'received' | 'sent' | 'discarded' | 'errors', labels: Record<string, string>): Promise<number>;
}

/** Compiles inline topology YAML with the real component registry and starts it. */
export async function startTopology(
  yaml: string,
  natsUrl: string,
  registry: ComponentRegistry = new ComponentRegistry(),
): Promise<RunningTopology> {
  const compiled = compileTopology(yaml, 'test.yaml', registry, {});
  if (!compiled.ok) throw new Error(`test topology invalid:\n${compiled.errors.map(formatTopologyError).join('\n')}`);
  const metrics = new SelfMetrics();
  const runtime = new TopologyRuntime(compiled.topology, {
    logger: pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' }),
    metrics,
    services: { natsUrl: async () => natsUrl },
  });
  await runtime.start();
  return {
    runtime,
    metrics,
    value: async (metric, labels) => {
      const got = await metrics[metric].get();
      let sum = 0;
      for (const v of got.values) {
        const have = v.labels as Record<string, unknown>;
        if (Object.entries(labels).every(([k, want]) => have[k] === want)) sum += v.value;
      }
      return sum;
    },
  };
}
