import { describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../../../model/labels.ts';
import { newMatcher } from '../../../model/matchers.ts';
import { isStaleNaN, STALE_NAN } from '../../../model/stale-nan.ts';
import type { Expr, VectorSelector } from '../ast.ts';
import { QueryError, type Queryable, type QueryResult, type QueryValue } from '../engine/types.ts';
import {
  almostEqual,
  atModifierVariant,
  checkAnnotations,
  checkFailure,
  compareResult,
  engineBackend,
  queryDurations,
  runTestFile,
  type MatrixTiming,
  type PromQLBackend,
} from './runner.ts';
import { parseTestFile, type EvalCommand } from './test-file.ts';
import { formatKnownFailures, formatReport, parseKnownFailures } from './report.ts';

const L = labelsFromRecord;
const pos = { start: 0, end: 0 };

function evalOf(text: string): EvalCommand {
  const [command] = parseTestFile(text);
  if (command.kind !== 'eval') throw new Error(`not an eval: ${JSON.stringify(command)}`);
  return command;
}

const vector = (...samples: [Labels, number][]): QueryValue => ({ type: 'vector', samples: samples.map(([labels, v]) => ({ labels, t: 0, v })) });
const matrix = (...series: [Labels, [number, number][]][]): QueryValue => ({
  type: 'matrix',
  series: series.map(([labels, points]) => ({
    labels,
    ts: Float64Array.from(points.map((p) => p[0])),
    values: Float64Array.from(points.map((p) => p[1])),
  })),
});
const result = (value: QueryValue, warnings: string[] = [], infos: string[] = []): QueryResult => ({
  value,
  warnings,
  infos,
  stats: { samplesLoaded: 0, peakSamples: 0 },
});
const instantAt: MatrixTiming = { startMs: 0, endMs: null, stepMs: 0 };

describe('almostEqual (upstream util/almost)', () => {
  const table: [number, number, boolean][] = [
    [1, 1, true],
    [NaN, NaN, true],
    [STALE_NAN, NaN, true],
    [NaN, 1, false],
    [1, 1 + 1e-7, true],
    [1, 1 + 1e-5, false],
    [1e20, 1e20 * (1 + 1e-7), true],
    [0, 1e-320, true],
    [0, 1e-300, false],
    [Infinity, Infinity, true],
    [Infinity, -Infinity, false],
    [-0, 0, true],
  ];
  for (const [a, b, want] of table) it(`${a} ~ ${b} is ${want}`, () => expect(almostEqual(a, b)).toBe(want));
});

describe('compareResult', () => {
  const two = evalOf('eval instant at 0 m\n  m{a="1"} 1\n  m{a="2"} 2\n');

  it('vectors compare as sets', () => {
    expect(compareResult(two, vector([L({ __name__: 'm', a: '2' }), 2], [L({ __name__: 'm', a: '1' }), 1]), instantAt)).toBeNull();
  });

  it('an ordered eval wants the written order', () => {
    const ordered = evalOf('eval instant at 0 sort(m)\n  expect ordered\n  m{a="1"} 1\n  m{a="2"} 2\n');
    expect(compareResult(ordered, vector([L({ __name__: 'm', a: '1' }), 1], [L({ __name__: 'm', a: '2' }), 2]), instantAt)).toBeNull();
    expect(compareResult(ordered, vector([L({ __name__: 'm', a: '2' }), 2], [L({ __name__: 'm', a: '1' }), 1]), instantAt)).toMatch(/position 2, but it was at 1/);
  });

  it('reports unexpected, missing and different series', () => {
    expect(compareResult(two, vector([L({ __name__: 'm', a: '1' }), 1]), instantAt)).toMatch(/expected series m\{a="2"\} not found/);
    expect(compareResult(two, vector([L({ __name__: 'm', a: '1' }), 1], [L({ __name__: 'm', a: '2' }), 2], [L({ a: '3' }), 3]), instantAt)).toMatch(
      /unexpected series \{a="3"\} 3/,
    );
    expect(compareResult(two, vector([L({ __name__: 'm', a: '1' }), 1.1], [L({ __name__: 'm', a: '2' }), 2]), instantAt)).toMatch(/expected 1 for m\{a="1"\}, got 1.1/);
  });

  it('label sets compare exactly: a kept __name__ is a different series', () => {
    const noName = evalOf('eval instant at 0 -m\n  {a="1"} -1\n');
    expect(compareResult(noName, vector([L({ __name__: 'm', a: '1' }), -1]), instantAt)).toMatch(/unexpected series m\{a="1"\}/);
  });

  it('NaN matches NaN and an expected stale marker; an empty label set is {}', () => {
    const nan = evalOf('eval instant at 0 m\n  {} NaN\n');
    expect(compareResult(nan, vector([L({}), NaN]), instantAt)).toBeNull();
    const stale = evalOf('eval range from 0 to 1m step 1m m\n  {} 1 stale\n');
    expect(compareResult(stale, matrix([L({}), [[0, 1], [60_000, NaN]]]), { startMs: 0, endMs: 60_000, stepMs: 60_000 })).toBeNull();
  });

  it('scalars and strings', () => {
    const scalar = evalOf('eval instant at 0 1+1\n  2\n');
    expect(compareResult(scalar, { type: 'scalar', t: 0, v: 2 }, instantAt)).toBeNull();
    expect(compareResult(scalar, { type: 'scalar', t: 0, v: 3 }, instantAt)).toMatch(/expected scalar 2, got 3/);
    expect(compareResult(scalar, vector([L({}), 2]), instantAt)).toMatch(/expected a scalar/);
    expect(compareResult(two, { type: 'scalar', t: 0, v: 2 }, instantAt)).toMatch(/expected a vector or matrix/);
    const str = evalOf('eval instant at 0 "Foo"\n  expect string "Foo"\n');
    expect(compareResult(str, { type: 'string', t: 0, v: 'Foo' }, instantAt)).toBeNull();
    expect(compareResult(str, { type: 'string', t: 0, v: 'Bar' }, instantAt)).toMatch(/expected string "Foo", got "Bar"/);
    expect(compareResult(str, vector(), instantAt)).toMatch(/expected string/);
  });

  it('range results: points on the step grid, gaps left out, sorted by labels', () => {
    const range = evalOf('eval range from 0 to 2m step 1m m\n  m{a="1"} 1 _ 3\n  m{a="2"} 2 2 2\n');
    const timing = { startMs: 0, endMs: 120_000, stepMs: 60_000 };
    const ok = matrix(
      [L({ __name__: 'm', a: '1' }), [[0, 1], [120_000, 3]]],
      [L({ __name__: 'm', a: '2' }), [[0, 2], [60_000, 2], [120_000, 2]]],
    );
    expect(compareResult(range, ok, timing)).toBeNull();
    expect(
      compareResult(range, matrix([L({ __name__: 'm', a: '1' }), [[0, 1], [60_000, 3]]], [L({ __name__: 'm', a: '2' }), [[0, 2], [60_000, 2], [120_000, 2]]]), timing),
    ).toMatch(/expected timestamp 120000, got 60000/);
    expect(compareResult(range, matrix([L({ __name__: 'm', a: '1' }), [[0, 1]]]), timing)).toMatch(/expected 2 points/);
    const unsorted = matrix([L({ __name__: 'm', a: '2' }), [[0, 2], [60_000, 2], [120_000, 2]]], [L({ __name__: 'm', a: '1' }), [[0, 1], [120_000, 3]]]);
    expect(compareResult(range, unsorted, timing)).toMatch(/sorted by labels/);
    const tooMany = evalOf('eval range from 0 to 1m step 1m m\n  m 1 2 3\n');
    expect(compareResult(tooMany, matrix([L({ __name__: 'm' }), [[0, 1], [60_000, 2]]]), { startMs: 0, endMs: 60_000, stepMs: 60_000 })).toMatch(/cannot return/);
  });

  it('an instant query returning a range vector needs expect range vector', () => {
    const rv = evalOf('eval instant at 1m m[1m]\n  expect range vector from 30s to 1m step 30s\n  m 1 2\n');
    expect(compareResult(rv, matrix([L({ __name__: 'm' }), [[30_000, 1], [60_000, 2]]]), rv.rangeVector!)).toBeNull();
    const plain = evalOf('eval instant at 1m m[1m]\n  m 2\n');
    expect(compareResult(plain, matrix([L({ __name__: 'm' }), [[60_000, 2]]]), { startMs: 60_000, endMs: null, stepMs: 0 })).toMatch(/cannot return/);
  });
});

describe('expected failures', () => {
  const error = new QueryError('execution', 'vector cannot contain metrics with the same labelset');
  it.each([
    [{ kind: 'any' } as const, true],
    [{ kind: 'msg', text: 'vector cannot contain metrics with the same labelset' } as const, true],
    [{ kind: 'msg', text: 'vector cannot contain' } as const, false],
    [{ kind: 'regex', source: 'cannot .* labelset', regex: /cannot .* labelset/ } as const, true],
    [{ kind: 'regex', source: '^labelset', regex: /^labelset/ } as const, false],
  ])('%j matches: %s', (match, ok) => {
    expect(checkFailure(match, error) === null).toBe(ok);
  });
});

describe('annotations', () => {
  const check = (text: string, warnings: string[], infos: string[] = []) => checkAnnotations(evalOf(text), result(vector(), warnings, infos));
  const W = 'PromQL warning: quantile value should be between 0 and 1, got NaN';

  it('without expect lines they are not checked', () => {
    expect(check('eval instant at 0 m\n', [W], ['PromQL info: x'])).toBeNull();
  });

  it('expect warn needs one; msg: and regex: compare without the position', () => {
    expect(check('eval instant at 0 m\n  expect warn\n', [])).toMatch(/expected warn annotations, but got none/);
    expect(check('eval instant at 0 m\n  expect warn\n', [W])).toBeNull();
    expect(check(`eval instant at 0 m\n  expect warn msg: ${W} (1:25)\n`, [W])).toBeNull();
    expect(check(`eval instant at 0 m\n  expect warn msg: ${W} (1:25)\n`, [`${W} (1:25)`])).toBeNull();
    expect(check('eval instant at 0 m\n  expect warn regex: got NaN \\([0-9]+:[0-9]+\\)\n', [W])).toBeNull();
    expect(check('eval instant at 0 m\n  expect warn msg: PromQL warning: other (1:1)\n', [W])).toMatch(/expected a warn annotation matching/);
  });

  it('with expect lines, every annotation of the kind must be expected', () => {
    expect(check(`eval instant at 0 m\n  expect warn msg: ${W}\n`, [W, 'PromQL warning: surprise'])).toMatch(/unexpected warn annotation "PromQL warning: surprise"/);
    expect(check(`eval instant at 0 m\n  expect warn msg: ${W}\n`, [W], ['PromQL info: x'])).toBeNull();
  });

  it('no_warn and no_info fail on any annotation of the kind', () => {
    expect(check('eval instant at 0 m\n  expect no_warn\n', [W])).toMatch(/unexpected warnings/);
    expect(check('eval instant at 0 m\n  expect no_info\n', [], ['PromQL info: x'])).toMatch(/unexpected info/);
    expect(check('eval instant at 0 m\n  expect no_info\n  expect no_warn\n', [])).toBeNull();
  });

  it('eval_warn and eval_info need one of the kind', () => {
    expect(check('eval_warn instant at 0 m\n', [])).toMatch(/expected warnings/);
    expect(check('eval_info instant at 0 m\n', [], ['PromQL info: x'])).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// AST rewriting for the `@` variant

const sel = (name: string, at: VectorSelector['at'] = null): VectorSelector => ({
  kind: 'VectorSelector',
  name,
  matchers: [newMatcher('=', '__name__', name)],
  offsetMs: 0,
  at,
  pos,
});
const call = (func: string, ...args: Expr[]): Expr => ({ kind: 'Call', func, args, pos });
const at5 = { kind: 'timestamp', ms: 5000 } as const;

describe('atModifierVariant', () => {
  it('pins every selector without @, the vector of a range selector, and subqueries', () => {
    const expr: Expr = {
      kind: 'BinaryExpr',
      op: '+',
      lhs: call('rate', { kind: 'MatrixSelector', vector: sel('a'), rangeMs: 60_000, pos }),
      rhs: { kind: 'AggregateExpr', op: 'topk', expr: sel('b', { kind: 'start' }), param: { kind: 'NumberLiteral', value: 1, pos }, grouping: [], without: false, pos },
      returnBool: false,
      matching: null,
      pos,
    };
    const out = atModifierVariant(expr, 5000) as Extract<Expr, { kind: 'BinaryExpr' }>;
    expect(((out.lhs as Extract<Expr, { kind: 'Call' }>).args[0] as Extract<Expr, { kind: 'MatrixSelector' }>).vector.at).toEqual(at5);
    expect(((out.rhs as Extract<Expr, { kind: 'AggregateExpr' }>).expr as VectorSelector).at).toEqual({ kind: 'start' });
    expect((expr.lhs as Extract<Expr, { kind: 'Call' }>).args[0]).toMatchObject({ vector: { at: null } }); // the input is untouched
  });

  it('leaves the inside of a subquery alone, and a subquery with its own @', () => {
    const sub: Expr = { kind: 'SubqueryExpr', expr: sel('a'), rangeMs: 60_000, stepMs: 0, offsetMs: 0, at: null, pos };
    const out = atModifierVariant(call('max_over_time', sub), 5000) as Extract<Expr, { kind: 'Call' }>;
    expect(out.args[0]).toMatchObject({ at: at5, expr: { at: null } });
    const own: Expr = { ...sub, at: { kind: 'end' } };
    expect((atModifierVariant(own, 5000) as Extract<Expr, { kind: 'SubqueryExpr' }>).at).toEqual({ kind: 'end' });
  });

  it('gives up on functions whose result depends on the evaluation time, except inside subqueries', () => {
    expect(atModifierVariant(call('time'), 5000)).toBeNull();
    expect(atModifierVariant(call('timestamp', sel('a')), 5000)).toBeNull();
    const inner: Expr = { kind: 'SubqueryExpr', expr: call('time'), rangeMs: 60_000, stepMs: 0, offsetMs: 0, at: null, pos };
    expect(atModifierVariant(call('max_over_time', inner), 5000)).not.toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Whole files through a tiny fake backend: plain selectors (5m lookback, stale markers end a
// series) and number literals; it records every query it runs.

interface Call {
  kind: 'instant' | 'range';
  at: number | null;
  t: number;
  end?: number;
}

function fakeBackend(overrides: Partial<PromQLBackend> = {}): { backend: PromQLBackend; calls: Call[] } {
  const calls: Call[] = [];
  const lookup = async (q: Queryable, e: Expr, t: number): Promise<QueryValue> => {
    if (e.kind === 'NumberLiteral') return { type: 'scalar', t, v: e.value };
    if (e.kind === 'Call' && e.func === 'time') return { type: 'scalar', t, v: t / 1000 };
    if (e.kind !== 'VectorSelector') throw new QueryError('bad_data', `fake backend cannot evaluate ${e.kind}`);
    const evalAt = e.at?.kind === 'timestamp' ? e.at.ms : t;
    const querier = q.querier(evalAt - 300_000, evalAt);
    const set = await querier.select(e.matchers, evalAt - 300_000 + 1, evalAt);
    const samples = [];
    for (const s of set.series) {
      const c = s.cursor();
      let last: number | undefined;
      while (c.next()) for (let i = 0; i < c.length; i++) last = c.values[i];
      if (last !== undefined && !isStaleNaN(last)) samples.push({ labels: s.labels, t, v: last });
    }
    return { type: 'vector', samples };
  };
  const backend: PromQLBackend = {
    name: 'fake',
    parse(text) {
      if (/^[a-z_]+$/.test(text)) return sel(text);
      if (/^\d+$/.test(text)) return { kind: 'NumberLiteral', value: Number(text), pos };
      if (text === 'time()') return call('time');
      const error = new Error(`cannot parse ${text}`);
      error.name = 'PromQLParseError';
      if (text.startsWith('experimental')) Object.assign(error, { code: 'unsupported', experimental: true });
      throw error;
    },
    async instantQuery(q, e, t) {
      calls.push({ kind: 'instant', at: e.kind === 'VectorSelector' && e.at?.kind === 'timestamp' ? e.at.ms : null, t });
      return result(await lookup(q, e, t));
    },
    async rangeQuery(q, e, start, end, step) {
      calls.push({ kind: 'range', at: e.kind === 'VectorSelector' && e.at?.kind === 'timestamp' ? e.at.ms : null, t: start, end });
      const bySeries = new Map<string, { labels: Labels; ts: number[]; values: number[] }>();
      for (let t = start; t <= end; t += step) {
        const v = await lookup(q, e, t);
        const samples = v.type === 'vector' ? v.samples : v.type === 'scalar' ? [{ labels: L({}), t, v: v.v }] : [];
        for (const s of samples) {
          const key = s.labels.join(',');
          if (!bySeries.has(key)) bySeries.set(key, { labels: s.labels, ts: [], values: [] });
          bySeries.get(key)!.ts.push(t);
          bySeries.get(key)!.values.push(s.v);
        }
      }
      const series = [...bySeries.values()].map((s) => ({ labels: s.labels, ts: Float64Array.from(s.ts), values: Float64Array.from(s.values) }));
      return result({ type: 'matrix', series });
    },
    unsupported: (error) => ((error as { code?: string }).code === 'unsupported' ? `unsupported syntax: ${(error as Error).message}` : null),
    ...overrides,
  };
  return { backend, calls };
}

describe('runTestFile', () => {
  it('runs an instant eval plainly, with @ at five eval times, and each in range mode', async () => {
    const { backend, calls } = fakeBackend();
    const res = await runTestFile('load 1m\n  m{a="1"} 1 2 3\n\neval instant at 2m m\n  m{a="1"} 3\n', 'x.test', backend);
    expect(res.cases).toEqual([{ status: 'passed', line: 4, title: 'eval instant at 2m m' }]);
    expect(calls.filter((c) => c.kind === 'instant').map((c) => [c.at, c.t])).toEqual([
      [null, 120_000], [120_000, -1_200_000], [120_000, 0], [120_000, 24_000], [120_000, 120_000], [120_000, 1_200_000],
    ]);
    expect(calls.filter((c) => c.kind === 'range').map((c) => [c.t, c.end])).toEqual([
      [60_000, 180_000], [-1_260_000, -1_140_000], [-60_000, 60_000], [-36_000, 84_000], [60_000, 180_000], [1_140_000, 1_260_000],
    ]);
  });

  it('at time 0 the @ variant runs at -1s, 0 and 1s; time-dependent functions get no @ variant', async () => {
    const { backend, calls } = fakeBackend();
    await runTestFile('load 1m\n  m 1\n\neval instant at 0 m\n  m 1\n', 'x.test', backend);
    expect(calls.filter((c) => c.kind === 'instant').map((c) => c.t)).toEqual([0, -1000, 0, 1000]);
    const time = fakeBackend();
    const res = await runTestFile('eval instant at 1m time()\n  60\n', 'x.test', time.backend);
    expect(res.cases[0].status).toBe('passed');
    expect(time.calls.map((c) => c.kind)).toEqual(['instant', 'range']);
  });

  it('reports a failure with file:line, the query, and expected vs got', async () => {
    const { backend } = fakeBackend();
    const res = await runTestFile('load 1m\n  m 1 2\n\neval instant at 1m m\n  m 5\n', 'dir/x.test', backend);
    expect(res.cases[0].status).toBe('failed');
    const message = (res.cases[0] as { message: string }).message;
    expect(message).toContain('dir/x.test:4: eval instant at 1m m');
    expect(message).toContain('expected 5 for m, got 2');
    expect(message).toMatch(/expected:\n {4}m 5\n {2}got:\n {4}m 2/);
  });

  it('names the variant that failed: the @ runs and range mode', async () => {
    const stale = fakeBackend({
      async rangeQuery() {
        return result({ type: 'matrix', series: [] });
      },
    });
    const res = await runTestFile('load 1m\n  m 1\n\neval instant at 1m m\n  m 1\n', 'x.test', stale.backend);
    expect((res.cases[0] as { message: string }).message).toMatch(/range mode .*middle point.*expected series m not found/);
  });

  it('range evals, stale markers and clear', async () => {
    const { backend } = fakeBackend();
    const text = [
      'load 1m',
      '  m 1 stale 3',
      '',
      'eval range from 0 to 2m step 1m m',
      '  m 1 _ 3',
      '',
      'clear',
      '',
      'eval instant at 0 m',
    ].join('\n');
    const res = await runTestFile(text, 'x.test', backend);
    expect(res.cases.map((c) => (c.status === 'failed' ? c.message : c.status))).toEqual(['passed', 'passed']);
  });

  it('expected failures pass on a query error and fail when the query succeeds', async () => {
    const { backend } = fakeBackend();
    const res = await runTestFile('eval instant at 0 1\n  expect fail\n\neval instant at 0 unknown_function_call\n  expect fail\n', 'x.test', {
      ...backend,
      parse: (text) => (text === '1' ? backend.parse(text) : call('unknown')),
    });
    expect(res.cases.map((c) => c.status)).toEqual(['failed', 'passed']);
    expect((res.cases[0] as { message: string }).message).toMatch(/expected the query to fail/);
  });

  it('skips native histograms, shadowed series and unsupported syntax; fails parse errors, bugs and bad lines', async () => {
    const bug = fakeBackend({
      async instantQuery(_q, e) {
        if (e.kind === 'VectorSelector' && e.name === 'boom') throw new TypeError('x is undefined');
        return result(vector());
      },
    });
    const text = [
      'load 1m',
      '  h {{schema:0 sum:1 count:1}}',
      '  f 1',
      '',
      'eval instant at 0 h', // 5: selects a histogram series
      '  h 1',
      '',
      'eval instant at 0 f', // 8: expected histogram
      '  f {{schema:0 sum:1 count:1}}',
      '',
      'eval instant at 0 experimental_thing(f)', // 11
      '',
      'eval instant at 0 sum(f)', // 13: parse error
      '',
      'eval instant at 0 boom', // 15: the engine throws a TypeError
      '',
      'eval instant at 0 f', // 17: bad expected line
      '  f{ 1',
      '',
      'load_with_nhcb 1m', // 20
      '  c_bucket{le="1"} 1',
      '',
      'eval instant at 0 c', // 23: selects a series load_with_nhcb would make
    ].join('\n');
    const res = await runTestFile(text, 'x.test', bug.backend);
    expect(res.cases.map((c) => [c.line, c.status, c.status === 'skipped' ? c.reason : c.status === 'failed' ? c.message : ''])).toEqual([
      [5, 'skipped', 'native histograms in the selected series (h)'],
      [8, 'skipped', 'native histograms in the expected result'],
      [11, 'skipped', 'unsupported syntax: cannot parse experimental_thing(f)'],
      [13, 'failed', 'x.test:13: eval instant at 0 sum(f)\nparse error: cannot parse sum(f)'],
      [15, 'failed', expect.stringMatching(/^x\.test:15: eval instant at 0 boom\nunexpected exception: TypeError: x is undefined/)],
      [18, 'failed', expect.stringMatching(/cannot read the test file: unexpected "1" at column 4/)],
      [20, 'skipped', 'load_with_nhcb: native histograms with custom buckets'],
      [23, 'skipped', 'native histograms in the selected series (c)'],
    ]);
  });
});

describe('report', () => {
  const results = [
    {
      file: 'a.test',
      cases: [
        { status: 'passed', line: 3, title: 'eval instant at 0 m' },
        { status: 'failed', line: 7, title: 'eval instant at 0 n', message: 'a.test:7: eval instant at 0 n\nexpected 1 for n, got 2\n  expected:\n    n 1' },
        { status: 'skipped', line: 9, title: 'eval instant at 0 h', reason: 'native histograms in the expected result' },
      ],
    },
    { file: 'b.test', cases: [{ status: 'skipped', line: 1, title: 'load_with_nhcb 1m', reason: 'load_with_nhcb' }] },
  ] as const;

  it('one line per file and the totals last', () => {
    expect(formatReport(results)).toBe('a.test: 1 passed, 1 failed, 1 skipped\nb.test: 0 passed, 0 failed, 1 skipped\n1 passed, 1 failed, 2 skipped\n');
  });

  it('verbose lists failures with file:line and the difference, and the skip reasons', () => {
    const text = formatReport(results, { verbose: true });
    expect(text).toContain('  FAIL a.test:7: eval instant at 0 n\n    expected 1 for n, got 2\n');
    expect(text).toContain('  skipped 1: native histograms in the expected result\n');
    expect(text.trimEnd().split('\n').at(-1)).toBe('1 passed, 1 failed, 2 skipped');
  });

  it('the known-failures list round-trips: file:line with the first difference', () => {
    const list = formatKnownFailures(results);
    expect(list).toContain('\na.test:7  # eval instant at 0 n -- expected 1 for n, got 2\n');
    expect([...parseKnownFailures(list).keys()]).toEqual(['a.test:7']);
    expect([...parseKnownFailures(formatKnownFailures(results, () => false)).keys()]).toEqual([]);
  });
});

describe('queryDurations (step() and range() in duration expressions)', () => {
  const cases: [string, { stepMs: number; rangeMs: number }][] = [
    ['eval range from 50s to 60s step 10s m[step()]', { stepMs: 10_000, rangeMs: 10_000 }],
    ['eval range from 0 to 5m step 1m m[range()]', { stepMs: 60_000, rangeMs: 300_000 }],
    ['eval instant at 5m m', { stepMs: 0, rangeMs: 0 }],
  ];
  it.each(cases)('%s', (header, want) => {
    const cmd = parseTestFile(`${header}\n`).find((c) => c.kind === 'eval') as EvalCommand;
    expect(queryDurations(cmd)).toEqual(want);
  });

  it('lets the engine backend evaluate them with the eval\'s step and range', async () => {
    const file = 'load 1s\n  m 0+1x100\n\neval range from 50s to 60s step 10s count_over_time(m[STEP()])\n  {} 10 10\n\n'
      + 'eval range from 50s to 60s step 5s m offset step()\n  m 45 50 55\n';
    const res = await runTestFile(file, 'x.test', engineBackend());
    expect(res.cases.map((c) => c.status)).toEqual(['passed', 'passed']);
  });
});
