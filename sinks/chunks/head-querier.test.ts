import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareLabels, getLabel, labelsFromRecord, type Labels } from '../../model/labels.ts';
import { LabelMatcher, matchesAll, type MatchOp } from '../../model/matchers.ts';
import { float64Bits, STALE_NAN } from '../../model/stale-nan.ts';
import { Head } from './head.ts';
import { HeadQuerier } from './head-querier.ts';
import type { StoredSeries } from './storage.ts';

const L = (r: Record<string, string>): Labels => labelsFromRecord(r);
const m = (op: MatchOp, name: string, value: string): LabelMatcher => new LabelMatcher(op, name, value);

/** A series' samples through its cursor, checking the run contract on the way. */
function read(series: StoredSeries): [number, string][] {
  const out: [number, string][] = [];
  const c = series.cursor();
  while (c.next()) {
    expect(c.length).toBeGreaterThan(0);
    for (let i = 0; i < c.length; i++) {
      if (out.length > 0) expect(c.ts[i]).toBeGreaterThan(out[out.length - 1][0]);
      out.push([c.ts[i], float64Bits(c.values[i])]);
    }
  }
  expect(c.next()).toBe(false);
  return out;
}

describe('HeadQuerier', () => {
  function fixture(): { head: Head; q: HeadQuerier; a: number; b: number; c: number } {
    const head = new Head({ samplesPerChunk: 4, outOfOrderWindowMs: 10_000 });
    const a = head.getOrCreate(L({ __name__: 'up', job: 'node' })).id;
    const b = head.getOrCreate(L({ __name__: 'up', job: 'api', env: 'prod' })).id;
    const c = head.getOrCreate(L({ __name__: 'rate', job: 'api' })).id;
    for (let t = 0; t < 20; t++) {
      head.append(a, t * 100, t);
      head.append(b, t * 100 + 10, -t);
    }
    head.append(a, 150, STALE_NAN); // out of order
    head.append(c, 5000, 1);
    return { head, q: new HeadQuerier(head), a, b, c };
  }

  it('selects by matchers, sorted by labels, trimmed to the range, with out-of-order samples merged', () => {
    const { q } = fixture();
    const got = q.select([m('=', '__name__', 'up')], 120, 420);
    expect(got.map((s) => s.labels)).toEqual([L({ __name__: 'up', job: 'api', env: 'prod' }), L({ __name__: 'up', job: 'node' })]);
    expect(read(got[0]).map(([t]) => t)).toEqual([210, 310, 410]);
    expect(read(got[1])).toEqual([
      [150, float64Bits(STALE_NAN)],
      [200, float64Bits(2)],
      [300, float64Bits(3)],
      [400, float64Bits(4)],
    ]);
    // a cursor can be taken again
    expect(read(got[1]).length).toBe(4);
  });

  it('leaves out series without samples in the range, even when a chunk spans it', () => {
    const { q } = fixture();
    expect(q.select([m('=', 'job', 'api')], 4000, 6000).map((s) => getLabel(s.labels, '__name__'))).toEqual(['rate']);
    // 111..199 lies strictly inside one chunk of `up{job="api"}` (10..310) and holds no sample
    expect(q.select([m('=', 'env', 'prod')], 111, 199)).toEqual([]);
    expect(read(q.select([m('=', 'env', 'prod')], 105, 115)[0])).toEqual([[110, float64Bits(-1)]]);
  });

  it('serves selectors whose matchers all accept the empty value (the PromQL parser, not storage, rejects them)', () => {
    const { q } = fixture();
    const all = q.select([], 0, 1e9).map((s) => s.labels);
    expect(all.length).toBeGreaterThan(1);
    expect(q.select([m('=', 'nope', '')], 0, 1e9).map((s) => s.labels)).toEqual(all);
  });

  it('sees the head as it was at select, while appends and merges continue', () => {
    const { head, q, a } = fixture();
    const [s] = q.select([m('=', 'job', 'node')], 0, 1e9);
    const before = read(s);
    for (let t = 20; t < 40; t++) head.append(a, t * 100, t);
    for (let k = 0; k < 40; k++) head.append(a, 1905 - k * 10, k); // fills and merges the out-of-order buffer
    expect(read(s)).toEqual(before);
    expect(read(q.select([m('=', 'job', 'node')], 0, 1e9)[0]).length).toBe(before.length + 60);
  });

  it('label names and values, by matchers and time range', () => {
    const { q } = fixture();
    expect(q.labelNames([], -Infinity, Infinity)).toEqual(['__name__', 'env', 'job']);
    expect(q.labelNames([m('=', 'job', 'node')], -Infinity, Infinity)).toEqual(['__name__', 'job']);
    expect(q.labelNames([], 4000, 6000)).toEqual(['__name__', 'job']);
    expect(q.labelValues('job', [], -Infinity, Infinity)).toEqual(['api', 'node']);
    expect(q.labelValues('__name__', [m('=', 'job', 'api')], -Infinity, Infinity)).toEqual(['rate', 'up']);
    expect(q.labelValues('__name__', [m('=', 'job', 'api')], 0, 3000)).toEqual(['up']);
    expect(q.labelValues('env', [m('=', 'env', '')], -Infinity, Infinity)).toEqual([]);
    q.close();
  });
});

describe('property: HeadQuerier equals a naive in-memory reference', () => {
  const VALUES = new Float64Array(4); // typed: plain arrays of doubles would quiet the stale NaN
  VALUES[1] = 1.5;
  VALUES[2] = STALE_NAN;
  VALUES[3] = -7;
  const recordArb = fc.record({ __name__: fc.constantFrom('a', 'b'), job: fc.constantFrom('', 'x', 'y'), pod: fc.constantFrom('', 'p1', 'p2', 'p3') });
  const sampleArb = fc.record({ s: fc.nat(), t: fc.integer({ min: 0, max: 2000 }), k: fc.integer({ min: 0, max: 3 }) });
  const matcherArb = fc
    .record({
      op: fc.constantFrom<MatchOp>('=', '!=', '=~', '!~'),
      name: fc.constantFrom('__name__', 'job', 'pod', 'zone'),
      eq: fc.constantFrom('', 'a', 'x', 'p1'),
      re: fc.constantFrom('.*', '.+', 'p.*', 'x|', 'a', '[ab]', 'p[12]'),
    })
    .map(({ op, name, eq, re }) => m(op, name, op === '=' || op === '!=' ? eq : re));
  const rangeArb = fc.tuple(fc.integer({ min: -100, max: 2100 }), fc.integer({ min: 0, max: 2200 })).map(([a, len]) => [a, a + len] as const);

  it('select, cursors, label names and values', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(recordArb, { minLength: 1, maxLength: 12, selector: (r) => JSON.stringify(r) }),
        fc.array(sampleArb, { maxLength: 300 }),
        fc.integer({ min: 2, max: 15 }),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.array(matcherArb, { minLength: 1, maxLength: 3 }), rangeArb), { minLength: 1, maxLength: 5 }),
        (records, samples, perChunk, oooCapacity, queries) => {
          const head = new Head({ samplesPerChunk: perChunk, outOfOrderCapacity: oooCapacity, outOfOrderWindowMs: 500, chunkRange: 700 });
          const labels = records.map((r) => L(r));
          const ids = labels.map((l) => head.getOrCreate(l).id);
          const model = labels.map(() => new Map<number, string>());
          for (const { s, t, k } of samples) {
            const i = s % labels.length;
            const r = head.append(ids[i], t, VALUES[k]);
            if (r === 'appended' || r === 'out_of_order') model[i].set(t, float64Bits(VALUES[k]));
          }
          const q = new HeadQuerier(head);
          for (const [matchers, [mint, maxt]] of queries) {
            const expected = labels
              .map((l, i) => ({ l, rows: [...model[i]].filter(([t]) => t >= mint && t <= maxt).sort((x, y) => x[0] - y[0]) }))
              .filter(({ l, rows }) => rows.length > 0 && matchesAll(matchers, l))
              .sort((x, y) => compareLabels(x.l, y.l));
            const got = q.select(matchers, mint, maxt);
            expect(got.map((s) => s.labels)).toEqual(expected.map((e) => e.l));
            got.forEach((s, k) => expect(read(s)).toEqual(expected[k].rows));
            // Listings go by each series' time span, not by exact samples.
            const spanning = labels.filter((l, i) => {
              const ts = [...model[i].keys()];
              return ts.length > 0 && Math.min(...ts) <= maxt && Math.max(...ts) >= mint && matchesAll(matchers, l);
            });
            expect(q.labelNames(matchers, mint, maxt)).toEqual([...new Set(spanning.flatMap((l) => l.filter((_, k) => k % 2 === 0)))].sort());
            expect(q.labelValues('pod', matchers, mint, maxt)).toEqual([...new Set(spanning.map((l) => getLabel(l, 'pod')).filter((v) => v !== ''))].sort());
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
