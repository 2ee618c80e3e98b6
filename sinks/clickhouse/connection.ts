import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { Logger } from 'pino';

/**
 * The one way sluice reaches ClickHouse: a `@clickhouse/client` ClickHouseClient, whether the
 * server is chDB in this process (`url: embedded`, through `createChdbConnection` from
 * `chdb/connection`) or a ClickHouse server over HTTP(S). Everything above this file (schema
 * migrations, the sink, the SQL translator's executor) sees only the client, so both paths run the
 * same code.
 *
 * chDB binds one data directory per process: every embedded client of a process must use the
 * same `dataDir` (':memory:' when none is given); a second path fails in chDB.
 */
export interface OpenClickHouseOptions {
  /** The chDB data directory for `embedded`; ':memory:' (nothing kept) when omitted. */
  readonly dataDir?: string;
  readonly logger: Pick<Logger, 'info' | 'debug'>;
}

export class ClickHouseConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClickHouseConnectionError';
  }
}

export async function openClickHouse(url: 'embedded' | string, options: OpenClickHouseOptions): Promise<ClickHouseClient> {
  if (url === 'embedded') {
    const path = options.dataDir ?? ':memory:';
    let chdb: typeof import('chdb/connection');
    try {
      chdb = await import('chdb/connection');
    } catch (error) {
      throw new ClickHouseConnectionError('url: embedded needs the npm package "chdb" (npm install chdb)', { cause: error });
    }
    options.logger.info({ path }, 'clickhouse: embedded chDB');
    // The connection hook is experimental in @clickhouse/client's types; chdb implements its Connection.
    return createClient({ connection: chdb.createChdbConnection({ path }) } as unknown as Parameters<typeof createClient>[0]);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new ClickHouseConnectionError(`clickhouse url "${url}" is neither "embedded" nor an http(s) URL`, { cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ClickHouseConnectionError(`clickhouse url "${url}": the protocol must be http or https`);
  }
  options.logger.info({ host: parsed.host }, 'clickhouse: server over HTTP');
  // No `database` for the client: a server refuses every request naming a database that does not
  // exist yet (UNKNOWN_DATABASE), `CREATE DATABASE` among them, and sluice's statements name their
  // tables fully (`sluice.sluice_series`) anyway. The client's own log stays off: every failure
  // reaches sluice as an error, which the caller logs (as JSON, with the component) and counts.
  return createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
}
