import { afterAll } from 'vitest';
import { openEmbeddedTestBackend } from '../../query/sql/open-test-backend.ts';
import { promqlTestFiles, registerConformanceSuite, runPromqlTestFiles } from './conformance-suite.ts';

/**
 * The conformance files (`../shared/promqltest`) through the PromQL-to-ClickHouse-SQL translator
 * over embedded chDB, registered like promql.test.ts (conformance-suite.ts): one test per eval; evals the
 * translator does not express are `it.skip` naming the construct; evals listed in
 * promql-clickhouse-known-failures.txt must fail, and one that passes asks to be removed (the list
 * only shrinks). One chDB session for the whole file (chDB binds one data directory per process).
 */

let results: Awaited<ReturnType<typeof runPromqlTestFiles>> = [];
if (promqlTestFiles().length > 0) {
  const { backend, client } = await openEmbeddedTestBackend();
  try {
    results = await runPromqlTestFiles(backend);
  } finally {
    afterAll(async () => client.close());
  }
}
registerConformanceSuite(
  'promqltest clickhouse',
  results,
  new URL('./promql-clickhouse-known-failures.txt', import.meta.url),
  'test/conformance/promql-clickhouse-known-failures.txt',
);
