import type { ClickHouseClient } from '@clickhouse/client';
import type { LongTermTier } from '../routing/tiered-engine.ts';
import { ClickHouseQueryExecutor } from './clickhouse-backend.ts';
import { ClickHouseQueryable } from './clickhouse-queryable.ts';
import { rawMinTime } from './resolution.ts';
import type { SqlTables, TranslateOptions } from './translate.ts';

/** sluice's tables in `database` (an identifier from configuration, checked by the caller). */
export function tablesOf(database: string): SqlTables {
  return { series: `${database}.sluice_series`, samples: `${database}.sluice_samples_raw` };
}

/** The ClickHouse tier as the query router uses it: the translator, and the raw table as a Queryable. */
export function clickhouseTier(client: ClickHouseClient, options: TranslateOptions): LongTermTier {
  const executor = new ClickHouseQueryExecutor(client, options);
  const raw = new ClickHouseQueryable(client, options.tables, options.tenant);
  return {
    instantQuery: (expr, timeMs) => executor.instantQuery(expr, timeMs),
    rangeQuery: (expr, startMs, endMs, stepMs) => executor.rangeQuery(expr, startMs, endMs, stepMs),
    raw,
    rawMinTime: () => rawMinTime(options),
    withResolution: (resolution) => clickhouseTier(client, { ...options, resolution }),
  };
}
