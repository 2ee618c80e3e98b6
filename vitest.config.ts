import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'data/**'],
    // Integration tests start real nats-server processes on free ports; keep them from
    // competing for the two cores of a CI machine.
    fileParallelism: true,
    // Each test file in a process of its own: chDB (embedded ClickHouse) crashes in worker threads.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/harness/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
