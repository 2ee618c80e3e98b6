import { compareLabels, type Labels } from '../../model/labels.ts';
import type { QueryEngine } from '../api/types.ts';
import type { Expr } from '../promql/ast.ts';
import type { Queryable, QueryResult, Series } from '../promql/engine/types.ts';
import { UnsupportedQueryError } from '../sql/errors.ts';
import type { ResolutionChoice } from '../sql/resolution.ts';
import { readExtent } from './read-extent.ts';
import { RawHorizonQueryable, RawSamplesExpiredError } from './raw-horizon.ts';
import type { RoutingMetrics, StepRoute } from './routing-metrics.ts';
import { SplitQueryable } from './split-queryable.ts';

/** The long-term tier as the router sees it: queries run inside ClickHouse, and its raw samples. */
export interface LongTermTier {
  /** Runs the whole query in ClickHouse (the SQL translator); throws UnsupportedQueryError when it cannot. */
  instantQuery(expr: Expr, timeMs: number): Promise<QueryResult>;
  rangeQuery(expr: Expr, startMs: number, endMs: number, stepMs: number): Promise<QueryResult>;
  /** The raw samples, for the engine when the translator cannot express a query. */
  readonly raw: Queryable;
  /**
   * Where `raw` begins to hold every sample: older ones have expired (the raw table's ttl);
   * -Infinity when it keeps everything, Infinity when there are no raw samples at all.
   */
  rawMinTime(): number;
  /** The same tier reading the table `resolution` names (query/sql/resolution.ts). */
  withResolution(resolution: ResolutionChoice): LongTermTier;
}

export interface TieredEngineOptions {
  /** The TypeScript engine. */
  readonly engine: QueryEngine;
  /** The recent tier (the chunk store). */
  readonly recent: Queryable;
  /** The oldest time the recent tier holds; Infinity when it is empty. */
  readonly recentMinTime: () => number;
  readonly longTerm: LongTermTier;
  readonly lookbackDeltaMs: number;
  /**
   * The query forced a resolution: a construct the tier cannot answer there is the query's error
   * (422), not a reason to fall back to the engine over raw samples.
   */
  readonly strict?: boolean;
  /** Where steps were answered, fallbacks and refusals (self-metrics); none counted when absent. */
  readonly metrics?: RoutingMetrics;
}

/**
 * Answers PromQL across the two tiers. Each evaluation step reads a window of data ending at (or
 * near) its time (`readExtent`); the router splits a range query's steps into three runs:
 * - steps whose whole window lies before the chunk store's oldest sample go to ClickHouse as one
 *   translated SQL statement (over raw samples or rollups, as the translator chooses);
 * - steps whose window straddles that boundary are evaluated by the engine over both tiers' raw
 *   samples, split at the boundary (`SplitQueryable`), so no sample is read twice;
 * - the remaining steps are evaluated by the engine over the chunk store alone.
 * The runs share the query's grid, so their matrices concatenate per series. A query the
 * translator cannot express falls back to the engine over both tiers; a query with `@` (fixed
 * read times) always does. The `queryable` the API passes in is ignored: the tiers are fixed here.
 *
 * The engine reads ClickHouse's raw table only, so it cannot answer for a time whose raw samples
 * have expired (the rollups still cover it): straddling steps reading there go to the translator
 * too (ClickHouse holds the data up to the present as well), and an engine read there fails as
 * RawSamplesExpiredError (422), with the translator's refusal when that is why the engine ran.
 */
export class TieredQueryEngine implements QueryEngine {
  private readonly both: SplitQueryable;

  constructor(private readonly o: TieredEngineOptions) {
    this.both = new SplitQueryable(new RawHorizonQueryable(o.longTerm.raw, () => o.longTerm.rawMinTime()), o.recent, o.recentMinTime);
  }

  async instantQuery(_queryable: Queryable, expr: Expr, timeMs: number, signal?: AbortSignal): Promise<QueryResult> {
    const boundary = this.o.recentMinTime();
    const ext = readExtent(expr, this.o.lookbackDeltaMs);
    if (!ext.pinned && timeMs - ext.before >= boundary) return this.counted('chunk_store', 1, await this.o.engine.instantQuery(this.o.recent, expr, timeMs, signal));
    let refused: UnsupportedQueryError | undefined;
    if (!ext.pinned && (timeMs + ext.after < boundary || timeMs - ext.before < this.o.longTerm.rawMinTime())) {
      const answered = await this.translated(() => this.o.longTerm.instantQuery(expr, timeMs));
      if (!(answered instanceof UnsupportedQueryError)) return this.counted('clickhouse_sql', 1, answered);
      refused = answered;
    }
    if (ext.pinned) this.o.metrics?.fellBack('pinned');
    return this.counted('both_tiers', 1, await this.engineFallback(refused, () => this.o.engine.instantQuery(this.both, expr, timeMs, signal)));
  }

  async rangeQuery(_queryable: Queryable, expr: Expr, startMs: number, endMs: number, stepMs: number, signal?: AbortSignal): Promise<QueryResult> {
    const boundary = this.o.recentMinTime();
    const ext = readExtent(expr, this.o.lookbackDeltaMs);
    const steps = Math.floor((endMs - startMs) / stepMs) + 1;
    if (ext.pinned) {
      this.o.metrics?.fellBack('pinned');
      return this.counted('both_tiers', steps, await this.engineFallback(undefined, () => this.o.engine.rangeQuery(this.both, expr, startMs, endMs, stepMs, signal)));
    }
    // Steps [0, oldEnd) read only older data; [recentStart, steps) only the chunk store's.
    const recentStart = clamp(Math.ceil((boundary + ext.before - startMs) / stepMs), 0, steps);
    let oldEnd = clamp(Math.ceil((boundary - ext.after - startMs) / stepMs), 0, recentStart);
    if (recentStart === 0) return this.counted('chunk_store', steps, await this.o.engine.rangeQuery(this.o.recent, expr, startMs, endMs, stepMs, signal));

    const at = (k: number) => startMs + k * stepMs;
    // Straddling steps that would read expired raw samples are the translator's as well.
    if (oldEnd < recentStart && at(oldEnd) - ext.before < this.o.longTerm.rawMinTime()) oldEnd = recentStart;
    const parts: QueryResult[] = [];
    let mixedFrom = oldEnd;
    let refused: UnsupportedQueryError | undefined;
    if (oldEnd > 0) {
      const old = await this.translated(() => this.o.longTerm.rangeQuery(expr, startMs, at(oldEnd - 1), stepMs));
      if (old instanceof UnsupportedQueryError) {
        refused = old;
        mixedFrom = 0;
      } else parts.push(this.counted('clickhouse_sql', oldEnd, old));
    }
    if (mixedFrom < recentStart) {
      const from = mixedFrom;
      parts.push(this.counted('both_tiers', recentStart - from, await this.engineFallback(refused, () => this.o.engine.rangeQuery(this.both, expr, at(from), at(recentStart - 1), stepMs, signal))));
    }
    if (recentStart < steps) parts.push(this.counted('chunk_store', steps - recentStart, await this.o.engine.rangeQuery(this.o.recent, expr, at(recentStart), at(steps - 1), stepMs, signal)));
    return concatRanges(parts);
  }

  /** The translator's answer, or its refusal when it cannot express the query (the engine takes over). */
  private async translated(run: () => Promise<QueryResult>): Promise<QueryResult | UnsupportedQueryError> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof UnsupportedQueryError) {
        if (!this.o.strict) {
          this.o.metrics?.fellBack('unsupported');
          return error;
        }
        this.o.metrics?.refused('unsupported_forced');
      }
      throw error;
    }
  }

  private counted(route: StepRoute, steps: number, result: QueryResult): QueryResult {
    this.o.metrics?.answered(route, steps);
    return result;
  }

  /** The engine over both tiers; where it needs expired raw samples, that is the error, saying why it ran. */
  private async engineFallback(refused: UnsupportedQueryError | undefined, run: () => QueryResult | Promise<QueryResult>): Promise<QueryResult> {
    try {
      return await run();
    } catch (error) {
      // The engine wraps a failed read as "expanding series: ..."; the expiry is the answer here.
      const expired = error instanceof RawSamplesExpiredError ? error : (error as { cause?: unknown } | null)?.cause;
      if (!(expired instanceof RawSamplesExpiredError)) throw error;
      this.o.metrics?.refused('raw_expired');
      throw refused ? new RawSamplesExpiredError(expired.neededFromMs, expired.rawFromMs, refused.message) : expired;
    }
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Range results over consecutive runs of one grid, in time order: one matrix, series merged by labels. */
function concatRanges(parts: readonly QueryResult[]): QueryResult {
  if (parts.length === 1) return parts[0];
  const bySeries = new Map<string, { labels: Labels; ts: Float64Array[]; values: Float64Array[] }>();
  for (const part of parts) {
    if (part.value.type !== 'matrix') throw new Error(`bug: a range query returned a ${part.value.type}`);
    for (const s of part.value.series) {
      const key = s.labels.join('\xff');
      let acc = bySeries.get(key);
      if (!acc) bySeries.set(key, (acc = { labels: s.labels, ts: [], values: [] }));
      acc.ts.push(s.ts);
      acc.values.push(s.values);
    }
  }
  const series: Series[] = [...bySeries.values()]
    .map((s) => ({ labels: s.labels, ts: concat(s.ts), values: concat(s.values) }))
    .sort((a, b) => compareLabels(a.labels, b.labels));
  return {
    value: { type: 'matrix', series },
    warnings: [...new Set(parts.flatMap((p) => p.warnings))],
    infos: [...new Set(parts.flatMap((p) => p.infos))],
    stats: {
      samplesLoaded: parts.reduce((n, p) => n + p.stats.samplesLoaded, 0),
      peakSamples: Math.max(...parts.map((p) => p.stats.peakSamples)),
    },
  };
}

function concat(arrays: readonly Float64Array[]): Float64Array {
  if (arrays.length === 1) return arrays[0];
  const out = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}
