import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Logger } from 'pino';
import type { QueryableData } from '../../pipelines/component.ts';
import { Engine } from '../promql/engine/engine.ts';
import type { EngineOptions, Queryable } from '../promql/engine/types.ts';
import { createApiHandler, type RequestHandler } from './router.ts';
import type { BuildInfo } from './types.ts';

/** What the query API reads: series (the chunk store's querier) and metric metadata. */
export type QueryableStore = Queryable & QueryableData;

/**
 * The Prometheus HTTP API over a store, as `sluice serve` and `sluice run` mount it: one engine
 * with the server's options, and a per-request one when a query asks for its own
 * `lookback_delta` or a shorter `timeout` (never a longer one than the server allows).
 */
export function createStoreApiHandler(
  store: QueryableStore,
  options: { lookbackDeltaMs: number; timeoutMs: number; maxSamples?: number } & EngineOptions,
  logger: Logger,
): RequestHandler {
  return createApiHandler({
    engine: new Engine(options),
    engineFor: (o) =>
      new Engine({
        ...options,
        lookbackDeltaMs: o.lookbackDeltaMs ?? options.lookbackDeltaMs,
        timeoutMs: Math.min(o.timeoutMs ?? options.timeoutMs, options.timeoutMs),
      }),
    queryable: store,
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
