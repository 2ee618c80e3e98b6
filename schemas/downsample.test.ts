import { describe, expect, it } from 'vitest';
import { downsampleConfigSchema } from './downsample.ts';

const M = 60_000;

describe('downsample config', () => {
  it('defaults to 5m and 1h rollups, no extra lateness, no flush at stop', () => {
    expect(downsampleConfigSchema.parse({})).toEqual({
      resolutions: [5 * M, 60 * M],
      allowed_lateness: 0,
      checkpoint_max_log_bytes: 64 * 1024 * 1024,
      flush_on_stop: false,
      retry_backoff: 1_000,
      retry_backoff_max: 60_000,
    });
  });

  it('parses durations and sizes', () => {
    expect(downsampleConfigSchema.parse({ resolutions: ['1m', '5m', '1h', '1d'], allowed_lateness: '30s', checkpoint_max_log_bytes: '16MiB', checkpoint_dir: '/var/lib/sluice/rollups' })).toMatchObject({
      resolutions: [M, 5 * M, 60 * M, 24 * 60 * M],
      allowed_lateness: 30_000,
      checkpoint_max_log_bytes: 16 * 1024 * 1024,
      checkpoint_dir: '/var/lib/sluice/rollups',
    });
  });

  // Every problem is reported at once, each at the key it concerns.
  it.each([
    { name: 'a coarser resolution that is not a multiple', input: { resolutions: ['5m', '7m'] }, issues: [[['resolutions', 1], /not a multiple of 300000ms/]] },
    { name: 'resolutions out of order', input: { resolutions: ['1h', '5m'] }, issues: [[['resolutions', 1], /finest first/]] },
    { name: 'a zero resolution', input: { resolutions: ['0'] }, issues: [[['resolutions', 0], /longer than 0/]] },
    { name: 'no resolution', input: { resolutions: [] }, issues: [[['resolutions'], /at least 1|>=1/]] },
    { name: 'a bad duration', input: { allowed_lateness: '5 minutes' }, issues: [[['allowed_lateness'], /invalid duration "5 minutes"/]] },
    { name: 'an unknown key', input: { resolution: ['5m'] }, issues: [[[], /resolution/]] },
    {
      name: 'two problems',
      input: { resolutions: ['5m', '12m'], retry_backoff: '10s', retry_backoff_max: '1s' },
      issues: [[['resolutions', 1], /multiple/], [['retry_backoff_max'], /not be shorter/]],
    },
  ])('rejects $name', ({ input, issues }) => {
    const got = downsampleConfigSchema.safeParse(input);
    expect(got.success).toBe(false);
    const found = got.error!.issues.map((i) => ({ path: i.path, message: i.message }));
    expect(found).toHaveLength(issues.length);
    issues.forEach(([path, message], i) => expect(found[i]).toEqual({ path, message: expect.stringMatching(message as RegExp) }));
  });
});
