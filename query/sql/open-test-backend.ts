import type { ClickHouseClient } from '@clickhouse/client';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';
import { migrate } from '../../sinks/clickhouse/schema/migrate.ts';
import type { PromQLBackend } from '../promql/test/runner.ts';
import { clickhouseBackend } from './clickhouse-backend.ts';

export interface TestBackend {
  readonly backend: PromQLBackend;
  readonly client: ClickHouseClient;
  readonly database: string;
  /** Drops the database (on a server; embedded chDB keeps it in memory) and closes the client. */
  close(): Promise<void>;
}

/**
 * A fresh database holding sluice's schema, and the promqltest backend over it: what
 * `sluice promqltest --backend clickhouse` and the conformance suite use. `embedded` is chDB in
 * memory (chDB allows one data directory per process; every caller here shares ':memory:'); an
 * http(s) URL is a ClickHouse server, where the database is dropped again on close.
 */
export async function openTestBackend(url: 'embedded' | string = 'embedded'): Promise<TestBackend> {
  const client = await openClickHouse(url, { logger: { info: () => {}, debug: () => {} } });
  const database = `sluice_promqltest_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await migrate(client, { database, rawTtlSeconds: null });
  return {
    backend: clickhouseBackend(client, database),
    client,
    database,
    close: async () => {
      try {
        if (url !== 'embedded') await client.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      } finally {
        await client.close();
      }
    },
  };
}

/** The test backend in embedded chDB (in memory). */
export const openEmbeddedTestBackend = (): Promise<TestBackend> => openTestBackend('embedded');
