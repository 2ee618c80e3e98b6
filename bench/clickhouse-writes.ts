import type { ClickHouseClient } from '@clickhouse/client';
import type { Labels } from '../model/labels.ts';
import { newMatcher } from '../model/matchers.ts';
import { RollupWindows, type Rollup } from '../operators/downsample/rollup-state.ts';
import { ClickHouseQueryable } from '../query/sql/clickhouse-queryable.ts';
import { tablesOf } from '../query/sql/clickhouse-tier.ts';
import { rollupBlockOf, sampleBlockOf } from '../sinks/clickhouse/insert-block.ts';
import { migrate } from '../sinks/clickhouse/schema/migrate.ts';
import { ClickHouseWriter } from '../sinks/clickhouse/writer.ts';
import { BENCH_METRIC, benchSeriesLabels, type BenchShape } from './clickhouse-data.ts';

/**
 * The write half of `sluice bench clickhouse`, through the sink's own writer
 * (sinks/clickhouse/writer.ts):
 * - 5m rollups computed by the downsample operator's state machine (RollupWindows) from the raw
 *   samples already in ClickHouse, written to `sluice_rollup_5m` (timed: rows per second), merged
 *   (OPTIMIZE FINAL) and measured on disk (bytes per row);
 * - the same series' raw samples written to `sluice_samples_raw` of a scratch database (timed),
 *   so the bench's own raw table keeps exactly the generated rows.
 */

const FIVE_MINUTES = 300_000;
const DAY = 86_400_000;
/** Rows per block: what the sink hands the writer at its size flush. */
const ROWS_PER_BLOCK = 100_000;
const TENANT = 'default';

export const WRITER_PATH = 'sinks/clickhouse/writer.ts ClickHouseWriter.write';

export interface WriteFigures {
  readonly series: number;
  readonly rollupRows: number;
  readonly rollupSeconds: number;
  readonly rawRows: number;
  readonly rawSeconds: number;
  readonly rollupBytesOnDisk: number;
  /** Compressed column data only (system.parts_columns), without marks, primary index and checksums. */
  readonly rollupColumnBytes: number;
}

async function activeParts(client: ClickHouseClient, database: string, table: string): Promise<{ rows: number; bytes: number; columnBytes: number }> {
  const rs = await client.query({
    query: `SELECT (SELECT sum(rows) FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active) AS rows,
  (SELECT sum(bytes_on_disk) FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active) AS bytes,
  (SELECT sum(column_data_compressed_bytes) FROM system.parts_columns WHERE database = {db:String} AND table = {t:String} AND active) AS column_bytes`,
    query_params: { db: database, t: table },
    format: 'JSONEachRow',
  });
  const r = (await rs.json<{ rows: string | number; bytes: string | number; column_bytes: string | number }>())[0];
  return { rows: Number(r.rows), bytes: Number(r.bytes), columnBytes: Number(r.column_bytes) };
}

/**
 * Reads the first `series` series of the bench data (whole jobs, job by job through the raw
 * table's Queryable), feeds each job's samples to RollupWindows a day at a time and closes the
 * windows the day's end passes, as the operator does on its watermark. Rollups and raw samples
 * go to the writer in blocks of ROWS_PER_BLOCK; only the writer's calls are timed.
 */
export async function writeAndMeasure(client: ClickHouseClient, database: string, scratchDatabase: string, shape: BenchShape, series: number): Promise<WriteFigures> {
  await migrate(client, { database: scratchDatabase, rawTtlSeconds: null, rollup5mTtlSeconds: null, rollup1hTtlSeconds: null });
  const rollupWriter = new ClickHouseWriter(client, { database, raw: false, rollupResolutionsMs: [FIVE_MINUTES] });
  const rawWriter = new ClickHouseWriter(client, { database: scratchDatabase, raw: true, rollupResolutionsMs: [] });
  const queryable = new ClickHouseQueryable(client, tablesOf(database));
  const endMs = shape.startMs + shape.days * DAY;
  const jobs = Math.ceil(Math.min(series, shape.series) / shape.instancesPerJob);
  let seriesDone = 0;
  const f = { rollupRows: 0, rollupSeconds: 0, rawRows: 0, rawSeconds: 0 };

  for (let j = 0; j < jobs; j++) {
    const { job } = benchSeriesLabels(j * shape.instancesPerJob, shape);
    const querier = queryable.querier(shape.startMs, endMs);
    const set = await querier.select([newMatcher('=', '__name__', BENCH_METRIC), newMatcher('=', 'job', job)], shape.startMs - 1, endMs + DAY);
    querier.close();
    const labels: Labels[] = set.series.map((s) => s.labels);
    const labelsOf = (ref: number) => labels[ref];
    const runs = set.series.map((s) => {
      const c = s.cursor();
      return c.next() ? { ts: c.ts, values: c.values } : { ts: new Float64Array(0), values: new Float64Array(0) };
    });

    // Raw samples, series by series, in blocks.
    const refs = new Uint32Array(ROWS_PER_BLOCK);
    const ts = new Float64Array(ROWS_PER_BLOCK);
    const values = new Float64Array(ROWS_PER_BLOCK);
    let length = 0;
    const flushRaw = async () => {
      if (length === 0) return;
      const block = sampleBlockOf({ refs: refs.subarray(0, length), ts: ts.subarray(0, length), values: values.subarray(0, length), length, tenant: TENANT }, labelsOf);
      const started = performance.now();
      await rawWriter.write(block);
      f.rawSeconds += (performance.now() - started) / 1000;
      f.rawRows += length;
      length = 0;
    };
    for (let ref = 0; ref < runs.length; ref++) {
      const run = runs[ref];
      for (let i = 0; i < run.ts.length; i++) {
        refs[length] = ref;
        ts[length] = run.ts[i];
        values[length] = run.values[i];
        if (++length === ROWS_PER_BLOCK) await flushRaw();
      }
    }
    await flushRaw();

    // Rollups, a day at a time.
    let pending: Rollup[] = [];
    const flushRollups = async () => {
      if (pending.length === 0) return;
      const block = rollupBlockOf({ rollups: pending, tenant: TENANT, resolutionMs: FIVE_MINUTES }, labelsOf);
      const started = performance.now();
      await rollupWriter.write(block);
      f.rollupSeconds += (performance.now() - started) / 1000;
      f.rollupRows += pending.length;
      pending = [];
    };
    const next = new Int32Array(runs.length);
    const windows = new RollupWindows(FIVE_MINUTES);
    for (let dayEnd = shape.startMs + DAY; ; dayEnd += DAY) {
      for (let ref = 0; ref < runs.length; ref++) {
        const run = runs[ref];
        let i = next[ref];
        for (; i < run.ts.length && run.ts[i] < dayEnd; i++) windows.add(ref, run.ts[i], run.values[i]);
        next[ref] = i;
      }
      const last = dayEnd >= endMs + DAY;
      for (const r of last ? windows.closeAll() : windows.close(dayEnd)) {
        pending.push(r);
        if (pending.length >= ROWS_PER_BLOCK) await flushRollups();
      }
      if (last) break;
    }
    await flushRollups();
    seriesDone += runs.length;
  }

  await client.command({ query: `OPTIMIZE TABLE ${database}.sluice_rollup_5m FINAL` });
  const parts = await activeParts(client, database, 'sluice_rollup_5m');
  if (parts.rows !== f.rollupRows) throw new Error(`bug: the writer wrote ${f.rollupRows} rollup rows, but sluice_rollup_5m holds ${parts.rows} after OPTIMIZE FINAL`);
  const raw = await activeParts(client, scratchDatabase, 'sluice_samples_raw');
  if (raw.rows !== f.rawRows) throw new Error(`bug: the writer wrote ${f.rawRows} raw samples, but ${scratchDatabase}.sluice_samples_raw holds ${raw.rows}`);
  return { series: seriesDone, ...f, rollupBytesOnDisk: parts.bytes, rollupColumnBytes: parts.columnBytes };
}
