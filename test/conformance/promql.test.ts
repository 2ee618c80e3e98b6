import { engineBackend } from '../../query/promql/test/runner.ts';
import { registerConformanceSuite, runPromqlTestFiles } from './conformance-suite.ts';

/**
 * Prometheus's own PromQL test files through sluice's engine, one vitest test per eval, with a
 * known-failures list (promql-known-failures.txt) that may only shrink.
 */
registerConformanceSuite(
  'promqltest',
  await runPromqlTestFiles(engineBackend()),
  new URL('./promql-known-failures.txt', import.meta.url),
  'test/conformance/promql-known-failures.txt',
);
