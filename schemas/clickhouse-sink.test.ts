import { describe, expect, it } from 'vitest';
import { clickhouseSinkConfig } from './clickhouse-sink.ts';

describe('clickhouse sink config', () => {
  it('fills the defaults', () => {
    expect(clickhouseSinkConfig.parse({})).toEqual({
      url: 'embedded',
      database: 'sluice',
      raw: true,
      rollups: [300_000, 3_600_000],
      ttl: { raw: 15 * 86_400_000, '5m': 90 * 86_400_000, '1h': 730 * 86_400_000 },
      batch: { max_rows: 100_000, max_wait: 1_000, max_in_flight: 2 },
      retry: { max_attempts: 3, initial_backoff: 100, max_backoff: 30_000 },
      timeout: 30_000,
      spill: { max_bytes: 1024 ** 3, drain_on_stop: 60_000 },
    });
  });

  const CASES: Array<{ name: string; input: Record<string, unknown>; want?: Record<string, unknown>; errors?: string[] }> = [
    { name: 'forever TTL', input: { ttl: { raw: 'forever', '1h': '5y' } }, want: { ttl: { raw: null, '5m': 90 * 86_400_000, '1h': 5 * 365 * 86_400_000 } } },
    { name: 'one resolution, sizes', input: { rollups: ['1h'], spill: { path: '/q', max_bytes: '10MiB', drain_on_stop: '0s' } }, want: { rollups: [3_600_000], spill: { path: '/q', max_bytes: 10 * 1024 ** 2, drain_on_stop: 0 } } },
    { name: 'a server', input: { url: 'https://ch.example:8443' }, want: { url: 'https://ch.example:8443' } },
    {
      name: 'every problem at once',
      input: { url: 'tcp://x', database: 'my-db', rollups: ['10m'], ttl: { raw: '1.5s' }, batch: { max_rows: 0 }, retry: { initial_backoff: '1m', max_backoff: '1s' }, extra: 1 },
      errors: [
        'url: expected "embedded" or an http(s):// URL',
        'database: a ClickHouse database name here is letters, digits and underscores, not starting with a digit',
        'rollups.0: no ClickHouse rollup table for this resolution; tables exist for 5m, 1h',
        'ttl.raw: invalid TTL "1.5s": expected a whole number of seconds as a duration (e.g. 15d, 90d, 2y) or "forever"',
        'batch.max_rows: Too small: expected number to be >0',
        'retry.initial_backoff: initial_backoff is longer than max_backoff',
        ': Unrecognized key: "extra"',
      ],
    },
    { name: 'data_dir with a server', input: { url: 'http://ch:8123', data_dir: '/d' }, errors: ['data_dir: data_dir is for url: embedded only'] },
  ];
  for (const c of CASES) {
    it(c.name, () => {
      const r = clickhouseSinkConfig.safeParse(c.input);
      if (c.errors) {
        expect(r.success).toBe(false);
        expect(r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`)).toEqual(c.errors);
      } else {
        expect(r.error).toBeUndefined();
        expect(r.data).toMatchObject(c.want!);
      }
    });
  }
});
