import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { getLabel, type Labels } from '../model/labels.ts';
import { openClickHouse } from '../sinks/clickhouse/connection.ts';
import { migrate } from '../sinks/clickhouse/schema/migrate.ts';
import { Engine } from '../query/promql/engine/engine.ts';
import { parseExpr } from '../query/promql/parser/index.ts';
import { ClickHouseQueryExecutor } from '../query/sql/clickhouse-backend.ts';
import { ClickHouseQueryable } from '../query/sql/clickhouse-queryable.ts';
import { tablesOf } from '../query/sql/clickhouse-tier.ts';
import { UsageError } from '../bin/cli.ts';
import type { BenchResult } from './bench-context.ts';
import { generateRawSamples, loadBenchSeries, type BenchShape } from './clickhouse-data.ts';
import { SlicedQueryable } from './clickhouse-sliced-queryable.ts';
import { WRITER_PATH, writeAndMeasure } from './clickhouse-writes.ts';
import { copyRawToTimeSeries, createTimeSeriesTable, promqlUnsupportedReason, runPrometheusQueryRange } from './peers/clickhouse-promql.ts';

/**
 * `sluice bench clickhouse`: the ClickHouse long-term tier (issue 5, Performance) in embedded chDB.
 *
 * 1. Raw data: `series` counter series over `days` at `intervalSeconds`, generated inside
 *    ClickHouse (clickhouse-data.ts). The load time is reported, since it decides the interval.
 * 2. Writes through the sink's writer: 5m rollups of the first `rollupSeries` series computed by
 *    RollupWindows (insert_rows_per_second, then merged and measured: bytes_per_row), and the
 *    same series' raw samples into a scratch database (insert_rows_per_second).
 * 3. `sum by (job) (rate(m[5m]))` over the whole span at a 1h step, three ways on the same data:
 *    sluice's translated SQL over the raw table, ClickHouse's own PromQL (prometheusQueryRange over
 *    a TimeSeries table holding the same samples), and the TypeScript engine over the series
 *    fetched by SQL (ClickHouseQueryable, a job at a time). The answers must agree within 1e-6
 *    relative, or the bench fails. ClickHouse's PromQL is probed first: chDB builds without it
 *    get a `skipped` line with ClickHouse's error, and the copy into the TimeSeries table is not
 *    made.
 */

export const BENCH_QUERY = 'sum by (job) (rate(m[5m]))';
const STEP_MS = 3_600_000;
const RELATIVE_TOLERANCE = 1e-6;

export interface ClickHouseBenchOptions {
  readonly series?: number;
  readonly days?: number;
  readonly intervalSeconds?: number;
  readonly instancesPerJob?: number;
  /** Series rolled up for bytes_per_row and insert_rows_per_second (whole jobs). */
  readonly rollupSeries?: number;
  /**
   * Timed runs per query after `warmups` untimed ones. Default 3: at full size one run of the
   * translated SQL takes ~40 s and one of the engine ~3 min on two cores, so 5 would make the
   * bench half an hour.
   */
  readonly runs?: number;
  readonly warmups?: number;
  /** Progress lines (stderr in the CLI), so a long run is not silent. */
  readonly log?: (line: string) => void;
}

/** Tiny sizes for a smoke run: seconds, not minutes. */
export const QUICK: ClickHouseBenchOptions = { series: 40, days: 2, intervalSeconds: 120, instancesPerJob: 10, rollupSeries: 20, runs: 2, warmups: 1 };

export class BenchDisagreementError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchDisagreementError';
  }
}

/** One answer of the bench query: per job, the value at each step (NaN where the series has no point). */
export type JobGrid = Map<string, Float64Array>;

export interface QueryAnswer {
  readonly peer: 'sluice' | 'clickhouse-promql' | 'engine';
  readonly grid: JobGrid;
}

function toGrid(series: ReadonlyArray<{ labels: Labels; ts: Float64Array; values: Float64Array }>, startMs: number, points: number): JobGrid {
  const grid: JobGrid = new Map();
  for (const s of series) {
    const job = getLabel(s.labels, 'job');
    if (grid.has(job)) throw new BenchDisagreementError(`two result series for job "${job}"`);
    const row = new Float64Array(points).fill(NaN);
    for (let i = 0; i < s.ts.length; i++) {
      const k = (s.ts[i] - startMs) / STEP_MS;
      if (!Number.isInteger(k) || k < 0 || k >= points) throw new BenchDisagreementError(`job "${job}": a point at ${s.ts[i]} is off the 1h grid`);
      row[k] = s.values[i];
    }
    grid.set(job, row);
  }
  return grid;
}

/**
 * Throws BenchDisagreementError naming the first difference between two answers beyond
 * RELATIVE_TOLERANCE (a point present in one and missing in the other is a difference).
 */
export function assertAgree(a: QueryAnswer, b: QueryAnswer, startMs: number): void {
  const jobs = new Set([...a.grid.keys(), ...b.grid.keys()]);
  for (const job of jobs) {
    const x = a.grid.get(job);
    const y = b.grid.get(job);
    if (!x || !y) throw new BenchDisagreementError(`${BENCH_QUERY}: job "${job}" is in ${x ? a.peer : b.peer}'s answer only`);
    for (let k = 0; k < x.length; k++) {
      const same = Number.isNaN(x[k]) ? Number.isNaN(y[k]) : Math.abs(x[k] - y[k]) <= RELATIVE_TOLERANCE * Math.max(Math.abs(x[k]), Math.abs(y[k]));
      if (!same) {
        const at = new Date(startMs + k * STEP_MS).toISOString();
        throw new BenchDisagreementError(`${BENCH_QUERY}: job "${job}" at ${at}: ${a.peer} says ${x[k]}, ${b.peer} says ${y[k]}`);
      }
    }
  }
}

async function timeRuns(runs: number, warmups: number, once: () => Promise<JobGrid>): Promise<{ times: number[]; grid: JobGrid }> {
  let grid: JobGrid = new Map();
  for (let i = 0; i < warmups; i++) grid = await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    grid = await once();
    times.push((performance.now() - started) / 1000);
  }
  return { times: times.sort((a, b) => a - b), grid };
}

function median(sorted: number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function partBytes(client: ClickHouseClient, database: string, table: string): Promise<{ rows: number; bytes: number }> {
  const rs = await client.query({
    query: `SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active`,
    query_params: { db: database, t: table },
    format: 'JSONEachRow',
  });
  const r = (await rs.json<{ rows: string | number; bytes: string | number }>())[0];
  return { rows: Number(r.rows), bytes: Number(r.bytes) };
}

/**
 * Runs the bench on a ClickHouse client, in `database` (sluice's schema is migrated into it; use a
 * fresh name: the data generator appends).
 * The CLI entry (benchClickhouse) opens embedded chDB in a temporary directory around this.
 */
export async function runClickhouseBench(client: ClickHouseClient, database: string, options: ClickHouseBenchOptions = {}): Promise<BenchResult[]> {
  const log = options.log ?? (() => {});
  const shape: BenchShape = {
    series: options.series ?? 10_000,
    days: options.days ?? 30,
    intervalSeconds: options.intervalSeconds ?? 120,
    instancesPerJob: options.instancesPerJob ?? 100,
    startMs: Date.UTC(2026, 0, 1),
  };
  if (!(Number.isInteger(shape.intervalSeconds) && shape.intervalSeconds >= 5 && shape.intervalSeconds <= 150)) {
    throw new RangeError(`interval ${shape.intervalSeconds}: must be whole seconds from 5 to 150 (rate(m[5m]) needs two samples a window)`);
  }
  if (!(Number.isInteger(shape.series) && shape.series > 0 && Number.isInteger(shape.days) && shape.days > 0)) {
    throw new RangeError(`series ${shape.series}, days ${shape.days}: both must be positive whole numbers`);
  }
  const runs = options.runs ?? 3;
  const warmups = options.warmups ?? 1;
  const rollupSeries = Math.min(options.rollupSeries ?? 100, shape.series);
  const context = { series: shape.series, days: shape.days, interval: `${shape.intervalSeconds}s` };
  const results: BenchResult[] = [];

  await migrate(client, { database, rawTtlSeconds: null, rollup5mTtlSeconds: null, rollup1hTtlSeconds: null });
  let started = performance.now();
  await loadBenchSeries(client, database, shape);
  const samples = await generateRawSamples(client, database, shape);
  const loadSeconds = (performance.now() - started) / 1000;
  log(`raw: ${samples.toLocaleString('en-US')} samples generated in ${loadSeconds.toFixed(1)} s`);
  results.push({ bench: 'clickhouse', metric: 'load_seconds', value: loadSeconds, unit: 's', table: 'sluice_samples_raw', rows: samples, path: 'INSERT ... SELECT over numbers()', ...context });
  const raw = await partBytes(client, database, 'sluice_samples_raw');
  results.push({ bench: 'clickhouse', metric: 'bytes_per_row', value: raw.bytes / raw.rows, unit: 'B/row', table: 'sluice_samples_raw', rows: raw.rows, merged: false, ...context });

  started = performance.now();
  const scratch = `${database}_writer`;
  const w = await writeAndMeasure(client, database, scratch, shape, rollupSeries);
  await client.command({ query: `DROP DATABASE IF EXISTS ${scratch}` });
  log(`writer: ${w.rollupRows.toLocaleString('en-US')} 5m rollups in ${w.rollupSeconds.toFixed(1)} s, ${w.rawRows.toLocaleString('en-US')} raw samples in ${w.rawSeconds.toFixed(1)} s (of ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  const written = { path: WRITER_PATH, write_series: w.series, ...context };
  results.push({ bench: 'clickhouse', metric: 'insert_rows_per_second', value: Math.round(w.rollupRows / w.rollupSeconds), unit: 'rows/s', table: 'sluice_rollup_5m', rows: w.rollupRows, ...written });
  results.push({ bench: 'clickhouse', metric: 'insert_rows_per_second', value: Math.round(w.rawRows / w.rawSeconds), unit: 'rows/s', table: 'sluice_samples_raw', rows: w.rawRows, ...written });
  results.push({
    bench: 'clickhouse',
    metric: 'bytes_per_row',
    value: w.rollupBytesOnDisk / w.rollupRows,
    unit: 'B/row',
    table: 'sluice_rollup_5m',
    rows: w.rollupRows,
    // Compact parts (small tables) do not record per-column sizes.
    ...(w.rollupColumnBytes > 0 ? { column_bytes_per_row: Number((w.rollupColumnBytes / w.rollupRows).toFixed(3)) } : {}),
    merged: true,
    ...written,
  });

  // The query: every hour of the span, from the first hour that has a full 5m window behind it.
  const startMs = shape.startMs + STEP_MS;
  const endMs = shape.startMs + shape.days * 86_400_000;
  const points = Math.floor((endMs - startMs) / STEP_MS) + 1;
  const expr = parseExpr(BENCH_QUERY);
  const queryContext = { query: BENCH_QUERY, range: `${shape.days}d`, step: '1h', samples, runs, ...context };
  const answers: QueryAnswer[] = [];

  const translator = new ClickHouseQueryExecutor(client, { tables: tablesOf(database) });
  const sql = await timeRuns(runs, warmups, async () => {
    const r = await translator.rangeQuery(expr, startMs, endMs, STEP_MS);
    if (r.value.type !== 'matrix') throw new Error(`bug: a range query answered ${r.value.type}`);
    return toGrid(r.value.series, startMs, points);
  });
  answers.push({ peer: 'sluice', grid: sql.grid });
  const sluiceP50 = median(sql.times);
  log(`sluice SQL: p50 ${sluiceP50.toFixed(3)} s`);
  results.push({ bench: 'clickhouse', metric: 'p50_seconds', value: sluiceP50, unit: 's', table: 'sluice_samples_raw', ...queryContext });

  await createTimeSeriesTable(client, database);
  const unsupported = await promqlUnsupportedReason(client, database);
  if (unsupported !== null) {
    log(`clickhouse-promql: skipped: ${unsupported}`);
    results.push({ bench: 'clickhouse', metric: 'p50_seconds', value: -1, unit: 's', peer: 'clickhouse-promql', skipped: `prometheusQueryRange fails in this ClickHouse: ${unsupported}`, ...queryContext });
  } else {
    started = performance.now();
    await copyRawToTimeSeries(client, database);
    log(`clickhouse-promql: TimeSeries table loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const peer = await timeRuns(runs, warmups, async () => toGrid(await runPrometheusQueryRange(client, database, BENCH_QUERY, startMs, endMs, STEP_MS), startMs, points));
    answers.push({ peer: 'clickhouse-promql', grid: peer.grid });
    const p50 = median(peer.times);
    log(`clickhouse-promql: p50 ${p50.toFixed(3)} s`);
    results.push({ bench: 'clickhouse', metric: 'p50_seconds', value: p50, unit: 's', peer: 'clickhouse-promql', ...queryContext, sluice_ratio: Number((sluiceP50 / p50).toFixed(3)) });
  }

  const engine = new Engine({ maxSamples: Number.MAX_SAFE_INTEGER, timeoutMs: 30 * 60_000 });
  const queryable = new SlicedQueryable(new ClickHouseQueryable(client, tablesOf(database)), 'job', 10);
  const ts = await timeRuns(runs, warmups, async () => {
    const r = await engine.rangeQuery(queryable, expr, startMs, endMs, STEP_MS);
    if (r.value.type !== 'matrix') throw new Error(`bug: a range query answered ${r.value.type}`);
    return toGrid(r.value.series, startMs, points);
  });
  answers.push({ peer: 'engine', grid: ts.grid });
  const engineP50 = median(ts.times);
  log(`engine over ClickHouse: p50 ${engineP50.toFixed(3)} s`);
  results.push({ bench: 'clickhouse', metric: 'p50_seconds', value: engineP50, unit: 's', peer: 'engine', ...queryContext, sluice_ratio: Number((sluiceP50 / engineP50).toFixed(3)) });

  for (const other of answers.slice(1)) assertAgree(answers[0], other, startMs);
  const pointsCompared = [...answers[0].grid.values()].reduce((n, row) => n + row.filter((v) => !Number.isNaN(v)).length, 0);
  if (pointsCompared === 0) throw new BenchDisagreementError(`${BENCH_QUERY}: every answer is empty; the bench data did not load`);
  results.push({ bench: 'clickhouse', metric: 'answers_agree', value: pointsCompared, unit: 'points', peers: answers.map((a) => a.peer).join(','), tolerance: RELATIVE_TOLERANCE, ...queryContext });
  return results;
}

/**
 * Options from `sluice bench clickhouse [--quick] [--series N] [--days N] [--interval S] [--runs N]`:
 * --quick starts from the smoke sizes, the others override. Progress goes to stderr.
 */
export function clickhouseBenchOptions(args: Readonly<Record<string, string | boolean | undefined>>): ClickHouseBenchOptions {
  const whole = (name: string): number | undefined => {
    const v = args[name];
    if (v === undefined) return undefined;
    const n = Number(v);
    if (typeof v !== 'string' || !/^\d+$/.test(v) || !(n > 0)) throw new UsageError(`--${name} ${v}: expected a positive whole number`);
    return n;
  };
  const o: { -readonly [K in keyof ClickHouseBenchOptions]: ClickHouseBenchOptions[K] } = { ...(args.quick ? QUICK : {}) };
  const series = whole('series');
  const days = whole('days');
  const interval = whole('interval');
  const runs = whole('runs');
  if (series !== undefined) o.series = series;
  if (days !== undefined) o.days = days;
  if (interval !== undefined) {
    if (interval < 5 || interval > 150) throw new UsageError(`--interval ${interval}: seconds from 5 to 150 (rate(m[5m]) needs two samples a window)`);
    o.intervalSeconds = interval;
  }
  if (runs !== undefined) o.runs = runs;
  o.log = (line) => process.stderr.write(`bench clickhouse: ${line}\n`);
  return o;
}

/** The CLI entry: embedded chDB in a temporary directory, removed afterwards. */
export async function benchClickhouse(options: ClickHouseBenchOptions = {}): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-clickhouse-'));
  const client = await openClickHouse('embedded', { dataDir: join(dir, 'chdb'), logger: { info: () => {}, debug: () => {} } });
  try {
    return await runClickhouseBench(client, 'sluice_bench', options);
  } finally {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
