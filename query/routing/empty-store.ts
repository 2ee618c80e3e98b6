import type { QueryableStore } from '../api/store-api.ts';

/**
 * A recent tier holding nothing: what `sluice serve --clickhouse` without `--tsdb` queries beside
 * ClickHouse. Its oldest sample is at +Infinity, so the router sends every step to ClickHouse.
 */
export const EMPTY_STORE: QueryableStore = {
  querier: () => ({
    select: async () => ({ series: [], warnings: [] }),
    labelNames: async () => [],
    labelValues: async () => [],
    close: () => {},
  }),
  metadata: () => [],
  minTime: () => Infinity,
};
