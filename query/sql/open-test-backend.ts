import type { ClickHouseClient } from '@clickhouse/client';
import { openClickHouse } from '../../sinks/clickhouse/connection.ts';
import { migrate } from '../../sinks/clickhouse/schema/migrate.ts';
import type { PromQLBackend } from '../promql/test/runner.ts';
import { clickhouseBackend } from './clickhouse-backend.ts';

/**
 * An embedded chDB (in memory) with a fresh database holding sluice's schema, and the promqltest
 * backend over it: what `sluice promqltest --backend clickhouse` and the conformance suite use.
 * chDB allows one data directory per process; every caller here shares ':memory:'.
 */
export async function openEmbeddedTestBackend(): Promise<{ backend: PromQLBackend; client: ClickHouseClient; database: string }> {
  const client = await openClickHouse('embedded', { logger: { info: () => {}, debug: () => {} } });
  const database = `sluice_promqltest_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await migrate(client, { database, rawTtlSeconds: null });
  return { backend: clickhouseBackend(client, database), client, database };
}
