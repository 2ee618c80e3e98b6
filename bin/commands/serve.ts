import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { parseDuration } from '../../model/duration.ts';
import { ApiServer } from '../../pipelines/runtime/api-server.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { ChunkStore } from '../../sinks/chunks/chunk-store.ts';
import { RoutingMetrics } from '../../query/routing/routing-metrics.ts';
import { createStoreApiHandler, type QueryableStore } from '../../query/api/store-api.ts';
import { EMPTY_STORE } from '../../query/routing/empty-store.ts';
import type { ClickHouseClient } from '@clickhouse/client';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';
import { checkIdentifier, migrate } from '../../sinks/clickhouse/schema/migrate.ts';
import { clickhouseTier, tablesOf } from '../../query/sql/clickhouse-tier.ts';
import type { LongTermTier } from '../../query/routing/tiered-engine.ts';
import { createLogger } from '../logger.ts';
import { UsageError } from '../cli.ts';

const USAGE =
  'usage: sluice serve [--tsdb PATH] [--clickhouse embedded|URL [--clickhouse-data-dir DIR] [--clickhouse-database sluice]\n' +
  '                    [--clickhouse-raw-retention 15d]]\n' +
  '                    [--listen 127.0.0.1:9090] [--lookback-delta 5m] [--query-timeout 2m] [--query-max-samples N]';

/**
 * `sluice serve --tsdb PATH`: the Prometheus HTTP API (query/api/) over a chunk store opened
 * read-only, with `/metrics`, `/-/healthy` and `/-/ready`, until SIGINT or SIGTERM. The store is
 * read as it was when opened (its WAL replayed then); samples a running sluice appends later are
 * not seen until a restart. With `--clickhouse`, queries reaching before the store's oldest
 * sample are answered from the ClickHouse tier too (query/routing/); with `--clickhouse` alone,
 * everything is.
 */
export async function commandServe(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tsdb: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:9090' },
      'lookback-delta': { type: 'string', default: '5m' },
      'query-timeout': { type: 'string', default: '2m' },
      'query-max-samples': { type: 'string', default: '50000000' },
      clickhouse: { type: 'string' },
      'clickhouse-data-dir': { type: 'string' },
      'clickhouse-database': { type: 'string', default: 'sluice' },
      'clickhouse-raw-retention': { type: 'string', default: '15d' },
    },
  });
  if (positionals.length > 0 || (values.tsdb === undefined && values.clickhouse === undefined)) throw new UsageError(USAGE);
  const lookbackDeltaMs = durationFlag('lookback-delta', values['lookback-delta']);
  const timeoutMs = durationFlag('query-timeout', values['query-timeout']);
  const maxSamples = Number(values['query-max-samples']);
  if (!Number.isSafeInteger(maxSamples) || maxSamples <= 0) throw new UsageError(`--query-max-samples: expected a positive integer, got "${values['query-max-samples']}"`);
  if (!/^[^:]*:\d+$/.test(values.listen) && !/^\[.*\]:\d+$/.test(values.listen)) throw new UsageError(`--listen: expected HOST:PORT, got "${values.listen}"`);
  const path = values.tsdb;
  if (path !== undefined && !existsSync(path)) {
    process.stderr.write(`sluice serve: ${path} does not exist\n`);
    return 1;
  }

  const logger = createLogger();
  // Without --tsdb only ClickHouse is served: an empty recent tier routes every step there.
  const store: QueryableStore = path === undefined ? EMPTY_STORE : await ChunkStore.open(path, { readOnly: true, logger });
  const closeStore = async () => {
    if (store instanceof ChunkStore) await store.close();
  };
  const engineOptions = { lookbackDeltaMs, timeoutMs, maxSamples };
  let clickhouse: ClickHouseClient | undefined;
  let longTerm: LongTermTier | undefined;
  if (values.clickhouse !== undefined) {
    const database = checkIdentifier(values['clickhouse-database']);
    // Older ranges than the raw table keeps are read from the rollup tables (query/sql/resolution.ts).
    const rawRetentionMs = durationFlag('clickhouse-raw-retention', values['clickhouse-raw-retention']);
    try {
      clickhouse = await openClickHouse(values.clickhouse, { logger, ...(values['clickhouse-data-dir'] ? { dataDir: values['clickhouse-data-dir'] } : {}) });
      await migrate(clickhouse, { database });
    } catch (error) {
      logger.error({ err: error }, `cannot open ClickHouse at ${values.clickhouse}`);
      await closeStore();
      return 1;
    }
    longTerm = clickhouseTier(clickhouse, { tables: tablesOf(database), lookbackDeltaMs, rawRetentionMs, maxSamples });
  }
  const metrics = new SelfMetrics({ defaultMetrics: true });
  const api = new ApiServer(metrics);
  api.mount(createStoreApiHandler(store, engineOptions, logger, longTerm, longTerm ? new RoutingMetrics(metrics.registry) : undefined));
  let address: string;
  try {
    address = await api.listen(values.listen);
  } catch (error) {
    logger.error({ err: error }, `cannot listen on ${values.listen}`);
    await closeStore();
    return 1;
  }
  api.setReady(true);
  logger.info({ tsdb: path ?? null, clickhouse: values.clickhouse ?? null }, `Prometheus API on http://${address}/api/v1/`);

  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      logger.info(`${signal}: stopping`);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  api.setReady(false);
  await api.close();
  await closeStore();
  await clickhouse?.close();
  return 0;
}

function durationFlag(name: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`--${name}: expected a positive Prometheus duration (5m, 1h30m), got "${text}"`);
  return ms;
}

