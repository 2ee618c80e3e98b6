import type { Migration } from './migration.ts';

/**
 * 003: the analysts' wide view: one row per (series, resolution, window start) with the metric
 * name, the label map and the aggregates, deduplicated (FINAL) so a window written twice counts once.
 */
export const migration003: Migration = {
  version: 3,
  name: 'wide_view',
  statements: [
    `CREATE VIEW IF NOT EXISTS {db}.sluice_rollups_wide AS
SELECT s.tenant AS tenant, s.metric AS metric, s.labels AS labels, r.resolution AS resolution, r.window_start AS window_start,
       r.count AS count, r.sum AS sum, r.min AS min, r.max AS max, r.sum / r.count AS avg, r.counter AS counter,
       r.first_ts AS first_ts, r.first_value AS first_value, r.last_ts AS last_ts, r.last_value AS last_value
FROM (
  SELECT '5m' AS resolution, * FROM {db}.sluice_rollup_5m FINAL
  UNION ALL
  SELECT '1h' AS resolution, * FROM {db}.sluice_rollup_1h FINAL
) AS r
INNER JOIN (SELECT series_id, argMax(tenant, updated_at) AS tenant, argMax(metric, updated_at) AS metric, argMax(labels, updated_at) AS labels
            FROM {db}.sluice_series GROUP BY series_id) AS s USING (series_id)`,
  ],
};
