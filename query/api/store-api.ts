import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Logger } from 'pino';
import type { QueryableData } from '../../pipelines/component.ts';
import { Engine } from '../promql/engine/engine.ts';
import type { EngineOptions, Queryable } from '../promql/engine/types.ts';
import { createApiHandler, type RequestHandler } from './router.ts';
import type { BuildInfo, QueryEngine } from './types.ts';
import { ApiError } from './responses.ts';
import type { ResolutionChoice } from '../sql/resolution.ts';
import { TieredQueryEngine, type LongTermTier } from '../routing/tiered-engine.ts';
import type { RoutingMetrics } from '../routing/routing-metrics.ts';
import { SplitQueryable } from '../routing/split-queryable.ts';

/** What the query API reads: series (the chunk store's querier) and metric metadata. */
export type QueryableStore = Queryable & QueryableData;

/**
 * The Prometheus HTTP API over a store, as `sluice serve` and `sluice run` mount it: one engine
 * with the server's options, and a per-request one when a query asks for its own
 * `lookback_delta` or a shorter `timeout` (never a longer one than the server allows).
 *
 * With a long-term tier (ClickHouse), queries reaching before the store's oldest sample are
 * routed across both tiers (query/routing/), and the series and label endpoints see both.
 */
export function createStoreApiHandler(
  store: QueryableStore,
  options: { lookbackDeltaMs: number; timeoutMs: number; maxSamples?: number } & EngineOptions,
  logger: Logger,
  longTerm?: LongTermTier,
  routingMetrics?: RoutingMetrics,
): RequestHandler {
  const minTime = () => store.minTime();
  const engineWith = (o: EngineOptions & { lookbackDeltaMs: number; resolution?: ResolutionChoice }): QueryEngine => {
    const engine = new Engine(o);
    if (!longTerm) {
      // Without a ClickHouse tier every sample is raw: `raw` and `auto` mean the same; a rollup cannot be read.
      if (o.resolution !== undefined && o.resolution !== 'raw' && o.resolution !== 'auto') {
        throw new ApiError('bad_data', `resolution ${o.resolution}: this server has no ClickHouse tier, only raw samples`);
      }
      return engine;
    }
    const forced = o.resolution !== undefined && o.resolution !== 'auto';
    const tier = o.resolution === undefined ? longTerm : longTerm.withResolution(o.resolution);
    return new TieredQueryEngine({
      engine,
      recent: store,
      recentMinTime: minTime,
      longTerm: tier,
      lookbackDeltaMs: o.lookbackDeltaMs,
      strict: forced,
      ...(routingMetrics ? { metrics: routingMetrics } : {}),
    });
  };
  return createApiHandler({
    engine: engineWith(options),
    engineFor: (o) =>
      engineWith({
        ...options,
        lookbackDeltaMs: o.lookbackDeltaMs ?? options.lookbackDeltaMs,
        timeoutMs: Math.min(o.timeoutMs ?? options.timeoutMs, options.timeoutMs),
        ...(o.resolution !== undefined ? { resolution: o.resolution } : {}),
      }),
    queryable: longTerm ? new SplitQueryable(longTerm.raw, store, minTime) : store,
    metadata: (metric) => store.metadata(metric),
    buildInfo: buildInfo(),
    lookbackDeltaMs: options.lookbackDeltaMs,
    logger,
  });
}

function buildInfo(): BuildInfo {
  const root = new URL('../../', import.meta.url);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
  const git = (...args: string[]): string => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', timeout: 2000, env: { ...process.env, TZ: 'UTC' } });
    return r.status === 0 ? r.stdout.trim() : '';
  };
  let user = 'unknown';
  try {
    user = `${userInfo().username}@${hostname()}`;
  } catch {
    // No passwd entry (a container's arbitrary uid): keep "unknown".
  }
  return {
    version: pkg.version,
    revision: git('rev-parse', 'HEAD'),
    branch: git('rev-parse', '--abbrev-ref', 'HEAD'),
    buildUser: user,
    buildDate: git('log', '-1', '--format=%cd', '--date=format-local:%Y%m%d-%H:%M:%S'),
    goVersion: process.version,
  };
}
