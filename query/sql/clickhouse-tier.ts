import type { ClickHouseClient } from '@clickhouse/client';
import type { LongTermTier } from '../routing/tiered-engine.ts';
import { DEFAULT_MAX_SAMPLES } from '../promql/engine/engine.ts';
import { ClickHouseQueryExecutor, type ExecutorOptions } from './clickhouse-backend.ts';
import { ClickHouseQueryable } from './clickhouse-queryable.ts';
import { rawMinTime } from './resolution.ts';
import type { SqlTables } from './translate.ts';

/** sluice's tables in `database` (an identifier from configuration, checked by the caller). */
export function tablesOf(database: string): SqlTables {
  return { series: `${database}.sluice_series`, samples: `${database}.sluice_samples_raw` };
}

/**
 * The ClickHouse tier as the query router uses it: the translator, and the raw table as a
 * Queryable. Both refuse to bring more than `maxSamples` samples into memory (default the engine's).
 */
export function clickhouseTier(client: ClickHouseClient, options: ExecutorOptions): LongTermTier {
  const limited = { ...options, maxSamples: options.maxSamples ?? DEFAULT_MAX_SAMPLES };
  const executor = new ClickHouseQueryExecutor(client, limited);
  const raw = new ClickHouseQueryable(client, options.tables, options.tenant, limited.maxSamples);
  return {
    instantQuery: (expr, timeMs) => executor.instantQuery(expr, timeMs),
    rangeQuery: (expr, startMs, endMs, stepMs) => executor.rangeQuery(expr, startMs, endMs, stepMs),
    raw,
    rawMinTime: () => rawMinTime(options),
    withResolution: (resolution) => clickhouseTier(client, { ...limited, resolution }),
  };
}
