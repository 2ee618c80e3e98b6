import type { Migration } from './migration.ts';

/**
 * 004: the rollup tables keep the hashes of their last 1000 inserted blocks, as the raw table
 * does since 001, so the sink's insert deduplication tokens also drop a retried rollup block at
 * insert time (without it only the merge collapses the repeat, and a plain count double counts
 * until then).
 */
export const migration004: Migration = {
  version: 4,
  name: 'rollup_dedup_window',
  statements: [
    'ALTER TABLE {db}.sluice_rollup_5m MODIFY SETTING non_replicated_deduplication_window = 1000',
    'ALTER TABLE {db}.sluice_rollup_1h MODIFY SETTING non_replicated_deduplication_window = 1000',
  ],
};
