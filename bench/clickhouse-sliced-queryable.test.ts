import { describe, expect, it } from 'vitest';
import { newMatcher } from '../model/matchers.ts';
import { MemoryQueryable } from '../query/promql/engine/testing/memory-queryable.ts';
import { SlicedQueryable } from './clickhouse-sliced-queryable.ts';

// Label values that are regex syntax, so a slice's `=~` matcher must escape them to match exactly.
const JOBS = ['a.b', 'aXb', 'a|b', 'x(1)', '[y]', 'back\\slash', 'plain'];
const inner = new MemoryQueryable([
  ...JOBS.map((job, i) => ({ labels: { __name__: 'm', job, instance: `i${i}` }, ts: [1000, 2000], values: [i, i + 1] })),
  { labels: { __name__: 'm', instance: 'no-job' }, ts: [1000], values: [7] },
  { labels: { __name__: 'other', job: 'a.b' }, ts: [1000], values: [8] },
]);

async function labelsOf(q: MemoryQueryable | SlicedQueryable, matchers = [newMatcher('=', '__name__', 'm')]): Promise<string[]> {
  const querier = q.querier(0, 5000);
  const set = await querier.select(matchers, 0, 5000);
  querier.close();
  return set.series.map((s) => s.labels.join(','));
}

describe('SlicedQueryable', () => {
  it.each([1, 2, 3, 100])('returns what one select returns, sorted, with %i label values a slice', async (perSlice) => {
    const expected = await labelsOf(inner);
    expect(expected).toHaveLength(JOBS.length + 1);
    expect(await labelsOf(new SlicedQueryable(inner, 'job', perSlice))).toEqual(expected);
  });

  it('keeps the caller matchers inside each slice', async () => {
    const m = [newMatcher('=', '__name__', 'm'), newMatcher('=~', 'instance', 'i[0-2]')];
    expect(await labelsOf(new SlicedQueryable(inner, 'job', 1), m)).toEqual(await labelsOf(inner, m));
  });
});
