import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { ComponentRegistry } from '../../pipelines/registry.ts';
import { ApiServer } from '../../pipelines/runtime/api-server.ts';
import { LocalRuntimeServices } from '../../pipelines/runtime/runtime-services.ts';
import { TopologyRuntime } from '../../pipelines/runtime/topology-runtime.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { formatTopologyError } from '../../pipelines/topology/compile.ts';
import { loadTopologyFile } from '../../pipelines/topology/load.ts';
import { DemoPublisher } from '../demo-publisher.ts';
import { createLogger } from '../logger.ts';
import { UsageError } from '../cli.ts';
import { RoutingMetrics } from '../../query/routing/routing-metrics.ts';
import { createStoreApiHandler } from '../../query/api/store-api.ts';
import { clickhouseTier, tablesOf } from '../../query/sql/clickhouse-tier.ts';
import type { LongTermTier } from '../../query/routing/tiered-engine.ts';
import type { ClickHouseSinkConfig } from '../../schemas/clickhouse-sink.ts';

/**
 * `sluice run [FILE] [--demo]`: runs a topology until SIGTERM/SIGINT, then drains (sources stop,
 * operators flush, sinks make everything durable, sources acknowledge) and exits. A second signal
 * exits at once.
 */
export async function commandRun(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { demo: { type: 'boolean', default: false } },
  });
  if (positionals.length > 1) throw new UsageError('expects at most one topology file');
  const file = positionals[0] ?? 'topology.yaml';
  const logger = createLogger();

  const loaded = await loadTopologyFile(file, new ComponentRegistry());
  if (!loaded.ok) {
    for (const error of loaded.errors) process.stderr.write(`${formatTopologyError(error)}\n`);
    process.stderr.write(`${file}: ${loaded.errors.length} error(s); not started\n`);
    return 1;
  }
  const topology = loaded.topology;
  mkdirSync(topology.dataDir, { recursive: true });
  const services = new LocalRuntimeServices(topology.dataDir, logger);
  const metrics = new SelfMetrics({ defaultMetrics: true });
  const runtime = new TopologyRuntime(topology, { logger, services, metrics });
  const api = new ApiServer(metrics);

  let demo: DemoPublisher | undefined;
  const summary = setInterval(() => void logSummary(metrics, logger), 10_000);
  const shutdown = async (): Promise<void> => {
    clearInterval(summary);
    api.setReady(false);
    await demo?.stop();
    await runtime.stop();
    await api.close();
    await services.close();
  };

  try {
    if (topology.api.enabled) {
      const address = await api.listen(topology.api.listen);
      logger.info(`self-metrics on http://${address}/metrics`);
    }
    await runtime.start();
    const stores = runtime.queryableSinks();
    const longTerm = runtime.clickhouseSinks();
    if (topology.api.enabled && stores.length > 0) {
      let tier: LongTermTier | undefined;
      if (longTerm.length > 0) {
        // Ranges older than the raw table's TTL are read from the rollup tables; all of them when
        // the sink stores no raw samples.
        const config = topology.byName.get(longTerm[0].name)?.config as ClickHouseSinkConfig | undefined;
        const rawTtl = config?.ttl.raw;
        tier = clickhouseTier(longTerm[0].data.client, {
          tables: tablesOf(longTerm[0].data.database),
          ...(config?.raw === false ? { rawMinTimeMs: Infinity } : rawTtl !== null && rawTtl !== undefined ? { rawRetentionMs: rawTtl } : {}),
        });
      }
      api.mount(createStoreApiHandler(stores[0].data, { lookbackDeltaMs: 300_000, timeoutMs: 120_000 }, logger, tier, tier ? new RoutingMetrics(metrics.registry) : undefined));
      logger.info(
        `Prometheus query API over sink "${stores[0].name}"${tier ? `, older ranges from ClickHouse sink "${longTerm[0].name}"` : ''} at http://${topology.api.listen}/api/v1/`,
      );
      if (stores.length > 1) logger.warn(`several queryable sinks; the query API serves the first, "${stores[0].name}"`);
      if (longTerm.length > 1) logger.warn(`several ClickHouse sinks; older ranges are read from the first, "${longTerm[0].name}"`);
    }
    api.setReady(true);
    if (values.demo) {
      const url = await services.natsUrl();
      demo = await DemoPublisher.connect(url);
      demo.start();
      logger.info({ url }, 'demo publisher: sending demo-api metrics to metrics.demo.prom every second');
    }
  } catch (error) {
    logger.error({ err: error }, 'topology failed to start');
    await shutdown().catch(() => {});
    return 1;
  }

  await new Promise<void>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      if (++signals > 1) {
        logger.warn(`second ${signal}: exiting without draining`);
        process.exit(130);
      }
      logger.info(`${signal}: draining`);
      resolve();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  await shutdown();
  await logSummary(metrics, logger);
  return runtime.error ? 1 : 0;
}

/** One log line of per-component totals, so a newcomer sees data flowing. */
async function logSummary(metrics: SelfMetrics, logger: ReturnType<typeof createLogger>): Promise<void> {
  const totals: Record<string, { in: number; out: number; dropped: number }> = {};
  const add = async (counter: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }, key: 'in' | 'out' | 'dropped') => {
    for (const v of (await counter.get()).values) {
      const name = String(v.labels.component);
      (totals[name] ??= { in: 0, out: 0, dropped: 0 })[key] += v.value;
    }
  };
  await add(metrics.received, 'in');
  await add(metrics.sent, 'out');
  await add(metrics.discarded, 'dropped');
  const text = Object.entries(totals)
    .map(([name, t]) => `${name}: in ${t.in} out ${t.out}${t.dropped ? ` dropped ${t.dropped}` : ''}`)
    .join(' | ');
  if (text) logger.info(`samples so far: ${text}`);
}
