import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../../model/labels.ts';
import { LabelMatcher, matchesAll, type MatchOp } from '../../model/matchers.ts';
import {
  EmptySelectorError,
  gallop,
  intersectMany,
  intersectSorted,
  intersects,
  PostingsIndex,
  subtractSorted,
  unionMany,
  unionSorted,
} from './postings.ts';

const u32 = (xs: number[]): Uint32Array => Uint32Array.from(xs);

const SERIES: Record<string, string>[] = [
  { __name__: 'up', job: 'node', instance: 'a' }, // 0
  { __name__: 'up', job: 'node', instance: 'b' }, // 1
  { __name__: 'up', job: 'api', instance: 'a', env: 'prod' }, // 2
  { __name__: 'http_requests_total', job: 'api', instance: 'a', code: '200', env: 'prod' }, // 3
  { __name__: 'http_requests_total', job: 'api', instance: 'b', code: '500' }, // 4
  { __name__: 'http_requests_total', job: 'api', instance: 'c', code: '200', env: '' }, // 5: env dropped
  { __name__: 'go_goroutines', job: 'node', instance: 'a', env: 'dev' }, // 6
];

function buildIndex(): PostingsIndex {
  const ix = new PostingsIndex();
  SERIES.forEach((s, id) => ix.add(id, labelsFromRecord(s)));
  return ix;
}

const m = (op: MatchOp, name: string, value: string): LabelMatcher => new LabelMatcher(op, name, value);

describe('sorted list operations', () => {
  it('gallop finds the first element not below the target', () => {
    const a = u32([1, 3, 5, 7, 9, 11, 13, 15, 17]);
    for (let t = 0; t <= 18; t++) {
      for (let from = 0; from <= a.length; from++) {
        let want = from;
        while (want < a.length && a[want] < t) want++;
        expect(gallop(a, from, t)).toBe(want);
      }
    }
  });

  it.each([
    { a: [], b: [1, 2], and: [], or: [1, 2], minus: [] },
    { a: [1, 2, 3], b: [], and: [], or: [1, 2, 3], minus: [1, 2, 3] },
    { a: [1, 3, 5], b: [2, 3, 4, 5], and: [3, 5], or: [1, 2, 3, 4, 5], minus: [1] },
    { a: [10], b: Array.from({ length: 100 }, (_, i) => i), and: [10], or: Array.from({ length: 100 }, (_, i) => i), minus: [] },
  ])('intersect / union / subtract: $a with $b', ({ a, b, and, or, minus }) => {
    const out = new Uint32Array(a.length + b.length);
    expect([...out.subarray(0, intersectSorted(u32(a), u32(b), out))]).toEqual(and);
    expect([...out.subarray(0, unionSorted(u32(a), u32(b), out))]).toEqual(or);
    expect([...out.subarray(0, subtractSorted(u32(a), u32(b), out))]).toEqual(minus);
    expect(intersects(u32(a), u32(b))).toBe(and.length > 0);
  });

  const sortedSet = fc.uniqueArray(fc.integer({ min: 0, max: 2000 }), { maxLength: 300 }).map((xs) => u32(xs.sort((x, y) => x - y)));

  it('agree with Set arithmetic on random lists, including lopsided sizes (galloping)', () => {
    fc.assert(
      fc.property(sortedSet, sortedSet, fc.boolean(), (a, b0, shrinkB) => {
        const b = shrinkB ? b0.subarray(0, Math.min(3, b0.length)) : b0;
        const sa = new Set(a);
        const sb = new Set(b);
        const out = new Uint32Array(a.length + b.length);
        expect([...out.subarray(0, intersectSorted(a, b, out))]).toEqual([...a].filter((x) => sb.has(x)));
        expect([...out.subarray(0, subtractSorted(a, b, out))]).toEqual([...a].filter((x) => !sb.has(x)));
        expect([...out.subarray(0, subtractSorted(b, a, out))]).toEqual([...b].filter((x) => !sa.has(x)));
        expect([...out.subarray(0, unionSorted(a, b, out))]).toEqual([...new Set([...a, ...b])].sort((x, y) => x - y));
        expect(intersects(a, b)).toBe([...a].some((x) => sb.has(x)));
        // in place: the output may be the first input
        const inPlace = a.slice();
        expect([...inPlace.subarray(0, intersectSorted(inPlace, b, inPlace))]).toEqual([...a].filter((x) => sb.has(x)));
        expect([...intersectMany([a, b, a])]).toEqual([...a].filter((x) => sb.has(x)));
        expect([...unionMany([a, b], false)]).toEqual([...new Set([...a, ...b])].sort((x, y) => x - y));
      }),
    );
  });
});

describe('PostingsIndex.select', () => {
  const ix = buildIndex();
  const table: { name: string; matchers: LabelMatcher[]; ids: number[] }[] = [
    { name: 'equality', matchers: [m('=', 'job', 'node')], ids: [0, 1, 6] },
    { name: 'two equalities', matchers: [m('=', '__name__', 'up'), m('=', 'instance', 'a')], ids: [0, 2] },
    { name: 'equality to an absent value', matchers: [m('=', 'job', 'nope')], ids: [] },
    { name: 'equality on an absent name', matchers: [m('=', 'nope', 'x')], ids: [] },
    { name: 'inequality with a positive matcher', matchers: [m('=', '__name__', 'up'), m('!=', 'job', 'node')], ids: [2] },
    { name: '!= selects series without the label', matchers: [m('=', 'job', 'api'), m('!=', 'env', 'prod')], ids: [4, 5] },
    { name: '="" selects series without the label', matchers: [m('=', 'job', 'api'), m('=', 'env', '')], ids: [4, 5] },
    { name: '!="" selects series with the label', matchers: [m('!=', 'env', '')], ids: [2, 3, 6] },
    { name: 'regex', matchers: [m('=~', '__name__', 'http_.*'), m('=~', 'code', '2..')], ids: [3, 5] },
    { name: 'literal alternation', matchers: [m('=~', 'instance', 'b|c')], ids: [1, 4, 5] },
    { name: 'regex matching empty selects absent', matchers: [m('=', 'job', 'api'), m('=~', 'env', 'prod|')], ids: [2, 3, 4, 5] },
    { name: '=~".*" is a no-op', matchers: [m('=', 'job', 'node'), m('=~', 'env', '.*')], ids: [0, 1, 6] },
    { name: '=~".+" requires the label', matchers: [m('=~', 'env', '.+')], ids: [2, 3, 6] },
    { name: '!~ with a positive matcher', matchers: [m('=', 'job', 'api'), m('!~', 'instance', 'a|b')], ids: [5] },
    { name: '!~ matching empty removes absent', matchers: [m('=', 'job', 'node'), m('!~', 'env', 'dev|')], ids: [] },
    { name: '!~".*" selects nothing', matchers: [m('=', 'job', 'node'), m('!~', 'env', '.*')], ids: [] },
    { name: '!~".+" selects series without the label', matchers: [m('=', 'job', 'node'), m('!~', 'env', '.+')], ids: [0, 1] },
    { name: 'label demanded by one matcher, narrowed by !=', matchers: [m('=~', 'env', '.+'), m('!=', 'env', 'prod')], ids: [6] },
    { name: 'contradictory equalities', matchers: [m('=', 'env', 'prod'), m('=', 'env', '')], ids: [] },
    { name: 'only a != that rejects empty', matchers: [m('!=', 'code', ''), m('!=', 'code', '500')], ids: [3, 5] },
    { name: 'regex with a class', matchers: [m('=~', 'instance', '[ab]'), m('=', '__name__', 'up')], ids: [0, 1, 2] },
  ];

  it.each(table)('$name', ({ matchers, ids }) => {
    expect([...ix.select(matchers)]).toEqual(ids);
    const naive = SERIES.map((s, id) => (matchesAll(matchers, labelsFromRecord(s)) ? id : -1)).filter((id) => id >= 0);
    expect(ids).toEqual(naive);
  });

  it.each([[[]], [[m('=', 'env', '')]], [[m('!=', 'job', 'x'), m('=~', 'env', '.*')]]])(
    'rejects selectors that accept the empty string everywhere: %s',
    (matchers) => {
      expect(() => ix.select(matchers)).toThrow(EmptySelectorError);
    },
  );

  it('postingsForMatchers allows them and starts from all postings', () => {
    expect([...ix.postingsForMatchers([])]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([...ix.postingsForMatchers([m('=', 'env', '')])]).toEqual([0, 1, 4, 5]);
    expect([...ix.postingsForMatchers([m('!=', 'env', 'prod')])]).toEqual([0, 1, 4, 5, 6]);
    expect([...ix.postingsForMatchers([m('=~', 'env', '.*')])]).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('returns a fresh array each time', () => {
    const a = ix.select([m('=', 'job', 'node')]);
    a[0] = 99;
    expect([...ix.select([m('=', 'job', 'node')])]).toEqual([0, 1, 6]);
    expect([...ix.postings('job', 'node')]).toEqual([0, 1, 6]);
  });

  it('evaluates a regex once per distinct value, not per series', () => {
    const big = new PostingsIndex();
    for (let id = 0; id < 1000; id++) big.add(id, labelsFromRecord({ __name__: 'x', pod: `p${id % 10}` }));
    const matcher = m('=~', 'pod', 'p[0-4]');
    let calls = 0;
    const counted = Object.create(matcher) as LabelMatcher;
    counted.matchesValue = (v: string) => {
      calls++;
      return matcher.matchesValue(v);
    };
    expect(big.select([counted]).length).toBe(500);
    expect(calls).toBeLessThanOrEqual(10 + 2); // per value, plus the "matches empty" probes
  });
});

describe('label listings', () => {
  const ix = buildIndex();
  it('names and values, all and filtered', () => {
    expect(ix.labelNames()).toEqual(['__name__', 'code', 'env', 'instance', 'job']);
    expect(ix.labelNames([m('=', 'job', 'node')])).toEqual(['__name__', 'env', 'instance', 'job']);
    expect(ix.labelNames([m('=', '__name__', 'up'), m('=', 'job', 'node')])).toEqual(['__name__', 'instance', 'job']);
    expect(ix.labelNames([m('=', 'job', 'nope')])).toEqual([]);
    expect(ix.labelValues('instance')).toEqual(['a', 'b', 'c']);
    expect(ix.labelValues('instance', [m('=', '__name__', 'up')])).toEqual(['a', 'b']);
    expect(ix.labelValues('env', [m('=', 'job', 'api')])).toEqual(['prod']);
    expect(ix.labelValues('nope')).toEqual([]);
  });
});

describe('add and remove', () => {
  it('adds out of order, removes, and drops empty names and values', () => {
    const ix = new PostingsIndex();
    ix.add(5, labelsFromRecord({ a: 'x' }));
    ix.add(2, labelsFromRecord({ a: 'x', b: 'y' }));
    ix.add(9, labelsFromRecord({ a: 'z' }));
    ix.add(2, labelsFromRecord({ a: 'x', b: 'y' })); // idempotent
    expect([...ix.postings('a', 'x')]).toEqual([2, 5]);
    expect([...ix.allPostings()]).toEqual([2, 5, 9]);
    const labels = new Map<number, Labels>([
      [2, labelsFromRecord({ a: 'x', b: 'y' })],
      [9, labelsFromRecord({ a: 'z' })],
    ]);
    ix.remove(u32([2, 9]), (id) => labels.get(id)!);
    expect([...ix.postings('a', 'x')]).toEqual([5]);
    expect([...ix.allPostings()]).toEqual([5]);
    expect(ix.labelNames()).toEqual(['a']);
    expect(ix.labelValues('a')).toEqual(['x']);
    expect(ix.seriesCount).toBe(1);
    expect(ix.stats()).toMatchObject({ names: 1, pairs: 1, entries: 1 });
  });
});

describe('property: select equals a naive filter over random series', () => {
  const NAMES = ['__name__', 'a', 'b', 'c'];
  const VALUES = ['x', 'y', 'xy', 'z'];
  const PATTERNS = ['.*', '.+', 'x.*', 'x|y', 'y|', '', 'x', '[xz]', '.*y', 'q'];
  const seriesArb = fc.uniqueArray(
    fc.record({ __name__: fc.constantFrom('m1', 'm2'), a: fc.constantFrom('', ...VALUES), b: fc.constantFrom('', ...VALUES), c: fc.constantFrom('', 'x') }),
    { minLength: 0, maxLength: 60, selector: (r) => JSON.stringify(r) },
  );
  const matcherArb = fc
    .record({ op: fc.constantFrom<MatchOp>('=', '!=', '=~', '!~'), name: fc.constantFrom(...NAMES, 'd'), eq: fc.constantFrom('', 'm1', ...VALUES), re: fc.constantFrom(...PATTERNS) })
    .map(({ op, name, eq, re }) => m(op, name, op === '=' || op === '!=' ? eq : re));

  it('for random matcher lists', () => {
    fc.assert(
      fc.property(seriesArb, fc.array(matcherArb, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 10 }), (records, matchers, removals) => {
        const ix = new PostingsIndex();
        const all = records.map((r) => labelsFromRecord(r));
        // add in a shuffled order, then remove some ids
        const order = all.map((_, i) => i).sort((x, y) => ((x * 7919) % 31) - ((y * 7919) % 31));
        for (const id of order) ix.add(id, all[id]);
        const removed = [...new Set(removals.filter((r) => r < all.length))].sort((x, y) => x - y);
        ix.remove(u32(removed), (id) => all[id]);
        const live = all.map((_, i) => i).filter((i) => !removed.includes(i));
        const naive = live.filter((i) => matchesAll(matchers, all[i]));
        expect([...ix.postingsForMatchers(matchers)]).toEqual(naive);
        if (matchers.every((x) => x.matchesEmpty)) expect(() => ix.select(matchers)).toThrow(EmptySelectorError);
        else expect([...ix.select(matchers)]).toEqual(naive);
        const names = [...new Set(naive.flatMap((i) => all[i].filter((_, k) => k % 2 === 0)))].sort();
        expect(ix.labelNames(matchers)).toEqual(names);
        const values = [...new Set(naive.map((i) => all[i]).flatMap((l) => (l.includes('a') ? [l[l.indexOf('a') + 1]] : [])))].sort();
        expect(ix.labelValues('a', matchers)).toEqual(values);
      }),
      { numRuns: 300 },
    );
  });
});
