import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { compareLabels, labelsFromRecord, METRIC_NAME, type Labels } from '../../model/labels.ts';
import type { Expr } from '../promql/ast.ts';
import { tooManySamples } from '../promql/engine/limits.ts';
import { QueryError, type Queryable, type QueryResult, type Sample, type Series } from '../promql/engine/types.ts';
import { parseExpr, PromQLParseError } from '../promql/parser/index.ts';
import type { PromQLBackend } from '../promql/test/runner.ts';
import { UNSUPPORTED_PREFIX, UnsupportedQueryError } from './errors.ts';
import { seriesId } from '../../sinks/clickhouse/series-id.ts';
import { translateInstantQuery, translateRangeQuery, type TranslatedQuery, type TranslateOptions } from './translate.ts';
import { bitsToFloat, judge, returnsTexts } from './annotation-checks.ts';

/**
 * Runs translated PromQL (translate.ts) through a ClickHouse client and converts the rows to the
 * engine's QueryResult, so the same callers (the HTTP API, the promqltest runner) can use either.
 */

/** Translated statements nest one subquery per PromQL node; allow long ones. */
export const QUERY_SETTINGS: ClickHouseSettings = { max_query_size: '1048576' };

interface Row {
  labels?: Record<string, string>;
  i: number | string;
  /** A sample's own time (ms), in a range vector result. */
  ts?: number | string;
  b: string;
  s?: string;
  /** A check's strings (annotation-checks.ts returnsTexts). */
  t?: string[];
}

/** What a translated statement reports beside its rows. */
interface Annotated {
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
}

export interface ExecutorOptions extends TranslateOptions {
  /**
   * The most result rows (samples: one per series and grid point) a query may return; past it
   * ClickHouse stops the statement and the query fails with the engine's too-many-samples error,
   * so an answer too large for sluice's memory is refused before it is read.
   */
  readonly maxSamples?: number;
}

export class ClickHouseQueryExecutor {
  constructor(
    private readonly client: ClickHouseClient,
    readonly options: ExecutorOptions,
  ) {}

  async instantQuery(expr: Expr, timeMs: number): Promise<QueryResult> {
    const q = translateInstantQuery(expr, timeMs, this.options);
    const a = await this.annotations(q);
    const rows = await this.run(q, this.resultLimit());
    if (q.resultType === 'string') return result({ type: 'string', t: timeMs, v: rows[0]?.s ?? '' }, q, a);
    if (q.resultType === 'scalar') {
      const v = rows.length > 0 ? bitsToFloat(rows[0].b) : NaN;
      return result({ type: 'scalar', t: timeMs, v }, q, a);
    }
    if (q.resultType === 'matrix') return result({ type: 'matrix', series: seriesOf(rows, (r) => Number(r.ts)) }, q, a);
    // Rows come in the result's order (sort*, topk and bottomk order an instant vector).
    const samples: Sample[] = rows.map((r) => ({ labels: labelsFromRecord(r.labels ?? {}), t: timeMs, v: bitsToFloat(r.b) }));
    return result({ type: 'vector', samples }, q, a);
  }

  async rangeQuery(expr: Expr, startMs: number, endMs: number, stepMs: number): Promise<QueryResult> {
    const q = translateRangeQuery(expr, startMs, endMs, stepMs, this.options);
    if (q.resultType === 'string') throw new QueryError('bad_data', 'invalid expression type "string" for range query, must be Scalar or instant Vector');
    const a = await this.annotations(q);
    const rows = await this.run(q, this.resultLimit());
    return result({ type: 'matrix', series: seriesOf(rows, (r) => q.startMs + Number(r.i) * q.stepMs) }, q, a);
  }

  /** Runs the query's checks (annotation-checks.ts): their warnings, or the engine's error for the parameters. */
  private async annotations(q: TranslatedQuery): Promise<Annotated> {
    const warnings = new Set(q.warnings);
    const infos = new Set<string>();
    for (const c of q.checks) {
      const rows = c.sql === null ? [] : await this.run({ ...q, sql: c.sql });
      const j = returnsTexts(c.kind)
        ? judge(c.kind, [], c.message, rows.map((r) => r.t ?? []))
        : judge(c.kind, c.sql === null ? c.values : rows.map((r) => bitsToFloat(r.b)), c.message);
      if (j.error !== null) throw new QueryError('execution', j.error);
      for (const w of j.warnings) warnings.add(w);
      for (const w of j.infos) infos.add(w);
    }
    return { warnings: [...warnings], infos: [...infos] };
  }

  /** Settings that make ClickHouse refuse a result over maxSamples rows (it checks the final result only, not subqueries). */
  private resultLimit(): ClickHouseSettings {
    const max = this.options.maxSamples;
    return max === undefined || !Number.isFinite(max) ? {} : { max_result_rows: String(Math.max(0, Math.floor(max))), result_overflow_mode: 'throw' };
  }

  private async run(q: Pick<TranslatedQuery, 'sql' | 'params'>, limit: ClickHouseSettings = {}): Promise<Row[]> {
    try {
      const rs = await this.client.query({ query: q.sql, query_params: q.params, format: 'JSONEachRow', clickhouse_settings: { ...QUERY_SETTINGS, ...limit } });
      return await rs.json<Row>();
    } catch (error) {
      if (clickhouseCodes(error).includes(TOO_MANY_ROWS_OR_BYTES)) throw new QueryError('execution', tooManySamples().message, { cause: error });
      const message = error instanceof Error ? error.message : String(error);
      // A throwIf's own message leads ClickHouse's text ("<message>: while executing 'FUNCTION throwIf(...'"), which quotes it again, maybe cut short.
      // Only a throwIf's own failure (code 395), not any error whose text quotes the statement's throwIfs; the throwIf may sit inside another function.
      const thrown = clickhouseCodes(error).includes('395') || /FUNCTION_THROW_IF_VALUE_IS_NON_ZERO/.test(message)
        ? (/^(?:[^]*?DB::Exception: )?([^]+?): while executing 'FUNCTION /.exec(message) ?? /'([^']+)'|: (.*?)(?:: while|\. \(FUNCTION_THROW)/.exec(message))
        : null;
      if (thrown) {
        const text = thrown[1] ?? thrown[2];
        // The translator's run-time refusals (e.g. ties it cannot break as the engine would) are 422s like its translate-time ones.
        if (text.startsWith(UNSUPPORTED_PREFIX)) throw new UnsupportedQueryError(text.slice(UNSUPPORTED_PREFIX.length), { cause: error });
        throw new QueryError('execution', text, { cause: error });
      }
      throw new QueryError('execution', `clickhouse: ${message}`, { cause: error });
    }
  }
}

/** Rows (labels, b, and a time `at` reads) as series sorted by labels, each point in row order. */
function seriesOf(rows: readonly Row[], at: (r: Row) => number): Series[] {
  const bySeries = new Map<string, { labels: Labels; ts: number[]; values: number[] }>();
  for (const r of rows) {
    const labels = labelsFromRecord(r.labels ?? {});
    const key = labels.join('\u0000');
    let s = bySeries.get(key);
    if (!s) bySeries.set(key, (s = { labels, ts: [], values: [] }));
    s.ts.push(at(r));
    s.values.push(bitsToFloat(r.b));
  }
  return [...bySeries.values()]
    .map((s) => ({ labels: s.labels, ts: Float64Array.from(s.ts), values: Float64Array.from(s.values) }))
    .sort((a, b) => compareLabels(a.labels, b.labels));
}

/** ClickHouse's error code for a result over max_result_rows (result_overflow_mode 'throw'). */
const TOO_MANY_ROWS_OR_BYTES = '396';

/** The ClickHouse error code an error carries: `code` from the HTTP client, `clickhouseCode` or `code` from chDB's connection. */
function clickhouseCodes(error: unknown): string[] {
  const e = error as { code?: unknown; clickhouseCode?: unknown } | null;
  return [e?.code, e?.clickhouseCode].filter((c) => c !== undefined && c !== null).map(String);
}

/** Over rollups, an info annotation says so (and why), so the API can show the resolution used; raw answers carry none. */
function result(value: QueryResult['value'], q: TranslatedQuery, a: Annotated): QueryResult {
  const infos = q.resolution === 'raw' ? [...a.infos] : [...a.infos, `PromQL info: evaluated over ${q.resolutionReason}`];
  return { value, warnings: [...a.warnings], infos, stats: { samplesLoaded: 0, peakSamples: 0 } };
}


const KIND_NORMAL = 0;
const KIND_BITS = 1;

/**
 * Replaces the contents of the series and raw samples tables with every series of `queryable`
 * (what the promqltest runner loaded). Values travel as their IEEE bits so NaN payloads (the
 * stale marker) arrive exactly.
 */
export async function loadQueryable(client: ClickHouseClient, queryable: Queryable, tables: { database: string }): Promise<void> {
  const db = tables.database;
  await client.command({ query: `TRUNCATE TABLE IF EXISTS ${db}.sluice_series` });
  await client.command({ query: `TRUNCATE TABLE IF EXISTS ${db}.sluice_samples_raw` });
  const querier = queryable.querier(-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  try {
    const set = await querier.select([], -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const series: object[] = [];
    const samples: object[] = [];
    const view = new DataView(new ArrayBuffer(8));
    for (const s of set.series) {
      const id = seriesId(s.labels).toString();
      const labels: Record<string, string> = {};
      let metric = '';
      for (let i = 0; i < s.labels.length; i += 2) {
        if (s.labels[i] === METRIC_NAME) metric = s.labels[i + 1];
        else labels[s.labels[i]] = s.labels[i + 1];
      }
      series.push({ series_id: id, tenant: 'default', metric, labels });
      const cursor = s.cursor();
      while (cursor.next()) {
        for (let k = 0; k < cursor.length; k++) {
          const v = cursor.values[k];
          view.setFloat64(0, v);
          const plain = Number.isFinite(v);
          samples.push({ id, t: cursor.ts[k], k: plain ? KIND_NORMAL : KIND_BITS, v: plain ? v : 0, bits: plain ? '0' : view.getBigUint64(0).toString() });
        }
      }
    }
    if (series.length > 0) await client.insert({ table: `${db}.sluice_series`, values: series, format: 'JSONEachRow' });
    if (samples.length > 0) {
      await client.command({ query: `CREATE TABLE IF NOT EXISTS ${db}.sluice_load_staging (id UInt64, t Int64, k UInt8, v Float64, bits UInt64) ENGINE = Memory` });
      await client.command({ query: `TRUNCATE TABLE ${db}.sluice_load_staging` });
      await client.insert({ table: `${db}.sluice_load_staging`, values: samples, format: 'JSONEachRow' });
      await client.command({
        query: `INSERT INTO ${db}.sluice_samples_raw (series_id, ts, value) SELECT id, fromUnixTimestamp64Milli(t), if(k = ${KIND_BITS}, reinterpretAsFloat64(bits), v) FROM ${db}.sluice_load_staging`,
      });
    }
  } finally {
    querier.close();
  }
}

/**
 * The ClickHouse translator as a promqltest backend: each distinct `Queryable` the runner passes
 * (one per load/clear) is copied into the raw tables before the first query over it. `parse`
 * also translates the query (as an instant and as a range query), so a construct the translator
 * does not express is reported as unsupported there and the runner skips the eval naming it.
 */
export function clickhouseBackend(client: ClickHouseClient, database: string, options: { lookbackDeltaMs?: number } = {}): PromQLBackend {
  const translateOptions: TranslateOptions = {
    tables: { series: `${database}.sluice_series`, samples: `${database}.sluice_samples_raw` },
    ...(options.lookbackDeltaMs !== undefined ? { lookbackDeltaMs: options.lookbackDeltaMs } : {}),
  };
  const executor = new ClickHouseQueryExecutor(client, translateOptions);
  let loaded: Queryable | null = null;
  const ensure = async (queryable: Queryable) => {
    if (loaded === queryable) return;
    await loadQueryable(client, queryable, { database });
    loaded = queryable;
  };
  return {
    name: 'clickhouse',
    parse(text, durations) {
      const expr = parseExpr(text, { experimental: true, ...(durations ? { queryDurations: durations } : {}) });
      translateInstantQuery(expr, 3_600_000, translateOptions);
      try {
        translateRangeQuery(expr, 0, 3_600_000, 60_000, translateOptions);
      } catch (error) {
        // A query error (a range vector as a range query's result) is the range eval's answer, not a reason to skip the instant one.
        if (!(error instanceof QueryError)) throw error;
      }
      return expr;
    },
    async instantQuery(queryable, expr, timeMs) {
      await ensure(queryable);
      return executor.instantQuery(expr, timeMs);
    },
    async rangeQuery(queryable, expr, startMs, endMs, stepMs) {
      await ensure(queryable);
      return executor.rangeQuery(expr, startMs, endMs, stepMs);
    },
    unsupported(error) {
      if (error instanceof UnsupportedQueryError) return error.message;
      if (error instanceof PromQLParseError && (error.code === 'unsupported' || error.code === 'experimental' || error.experimental)) {
        return `unsupported syntax: ${error.reason}`;
      }
      return null;
    },
  };
}
