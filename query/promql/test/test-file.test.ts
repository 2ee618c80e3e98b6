import { describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../model/labels.ts';
import { isStaleNaN, STALE_NAN } from '../../../model/stale-nan.ts';
import {
  parseNumber,
  parseSequence,
  parseSeriesLine,
  parseTestFile,
  unquoteGo,
  type EvalCommand,
  type SequenceValue,
  type TestCommand,
} from './test-file.ts';

const f = (value: number): SequenceValue => ({ kind: 'float', value });
const _ = { kind: 'omitted' } as const;

function only<K extends TestCommand['kind']>(text: string, kind: K): Extract<TestCommand, { kind: K }> {
  const commands = parseTestFile(text);
  expect(commands.map((c) => c.kind)).toEqual([kind]);
  return commands[0] as Extract<TestCommand, { kind: K }>;
}

const evalOf = (text: string): EvalCommand => only(text, 'eval');

describe('value sequences', () => {
  const table: { input: string; want: SequenceValue[] }[] = [
    { input: '1 2 3', want: [f(1), f(2), f(3)] },
    { input: '0+10x3', want: [f(0), f(10), f(20), f(30)] },
    { input: '10-2x2', want: [f(10), f(8), f(6)] },
    { input: '-1-1x2', want: [f(-1), f(-2), f(-3)] },
    { input: '5x2', want: [f(5), f(5), f(5)] },
    { input: '1 _ 3', want: [f(1), _, f(3)] },
    { input: '_x3 4', want: [_, _, _, f(4)] },
    { input: 'NaN nan Inf inf -Inf +Inf', want: [f(NaN), f(NaN), f(Infinity), f(Infinity), f(-Infinity), f(Infinity)] },
    { input: '1e3 -2.5e-1 .5 2.', want: [f(1000), f(-0.25), f(0.5), f(2)] },
    { input: '1e+2+1x1', want: [f(100), f(101)] },
    { input: '0x2', want: [f(0), f(0), f(0)] }, // no hexadecimal in series descriptions
    { input: '  1\t\t2  ', want: [f(1), f(2)] },
    { input: '', want: [] },
  ];
  for (const { input, want } of table) {
    it(JSON.stringify(input), () => {
      expect(parseSequence(input, 1)).toEqual(want);
    });
  }

  it('adds the step the way upstream does (accumulating, with its rounding)', () => {
    const values = parseSequence('0+0.1x3', 1).map((v) => (v.kind === 'float' ? v.value : null));
    expect(values).toEqual([0, 0.1, 0.1 + 0.1, 0.1 + 0.1 + 0.1]);
  });

  it('keeps the stale marker bit-exactly', () => {
    const [a, b, c] = parseSequence('stale 1 stalex1', 1).concat();
    expect(a.kind === 'float' && isStaleNaN(a.value)).toBe(true);
    expect(b).toEqual(f(1));
    expect(c.kind === 'float' && isStaleNaN(c.value)).toBe(true);
  });

  it('marks native histogram values, with repeats', () => {
    const values = parseSequence('1 {{schema:0 sum:1 count:1}}x2 {{schema:1 buckets:[1 2]}}', 1);
    expect(values.map((v) => v.kind)).toEqual(['float', 'histogram', 'histogram', 'histogram', 'histogram']);
  });

  for (const bad of ['foo', '1+x3', '1x', '{{schema:0', '1,2']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(() => parseSequence(bad, 7)).toThrow(/line|invalid|unbalanced/);
    });
  }
});

describe('series descriptions', () => {
  const table: { input: string; labels: Record<string, string>; values: SequenceValue[] }[] = [
    { input: 'metric 1', labels: { __name__: 'metric' }, values: [f(1)] },
    { input: 'http_requests{job="api", instance="0"} 0+1x1', labels: { __name__: 'http_requests', job: 'api', instance: '0' }, values: [f(0), f(1)] },
    { input: '{} 3', labels: {}, values: [f(3)] },
    { input: '{job="a",} 3', labels: { job: 'a' }, values: [f(3)] },
    { input: '{__name__="m", a="b"} 1', labels: { __name__: 'm', a: 'b' }, values: [f(1)] },
    { input: '{"utf8.metric", "a.b"="c"} 1', labels: { __name__: 'utf8.metric', 'a.b': 'c' }, values: [f(1)] },
    { input: "m{a='x', b=`y\\n`} 1", labels: { __name__: 'm', a: 'x', b: 'y\\n' }, values: [f(1)] },
    { input: 'm{a="q\\"uo\\\\te\\n"} 1', labels: { __name__: 'm', a: 'q"uo\\te\n' }, values: [f(1)] },
    { input: 'm{a="a@b.com", empty=""} 1', labels: { __name__: 'm', a: 'a@b.com' }, values: [f(1)] },
    { input: 'ns:metric:rate5m{a="b"}\t1', labels: { __name__: 'ns:metric:rate5m', a: 'b' }, values: [f(1)] },
    { input: 'm', labels: { __name__: 'm' }, values: [] },
  ];
  for (const { input, labels, values } of table) {
    it(JSON.stringify(input), () => {
      expect(parseSeriesLine(input, 1)).toEqual({ labels: labelsFromRecord(labels), values });
    });
  }
  for (const bad of ['{a="b" 1', 'm{a=b} 1', 'm{a} 1', '"m" 1', 'm{a="b"}x 1', '1 2']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      expect(() => parseSeriesLine(bad, 3)).toThrow();
    });
  }
});

describe('numbers and quoted strings', () => {
  const numbers: [string, number | undefined][] = [
    ['12340000', 12340000], ['0.00001234', 0.00001234], ['-0.0000002', -0.0000002], ['+Inf', Infinity], ['-Inf', -Infinity],
    ['NaN', NaN], ['1e6', 1e6], ['0x1F', 31], ['0x1p-2', 0.25], ['017', 15], ['{} 1', undefined], ['foo', undefined], ['1_000', undefined],
  ];
  for (const [text, want] of numbers) it(`number ${text}`, () => expect(parseNumber(text)).toEqual(want));

  const strings: [string, string | null][] = [
    ['"Foo"', 'Foo'], ['`Foo`', 'Foo'], ['" Foo "', ' Foo '], ['""', ''], ['"a\\tb"', 'a\tb'], ['"\\u00e9\\x41"', 'éA'],
    ['`raw\\n`', 'raw\\n'], ['"unterminated', null], ['"a" trailing', null], ['Foo', null], ['"bad \\q"', null],
  ];
  for (const [text, want] of strings) it(`string ${text}`, () => expect(unquoteGo(text)).toBe(want));
});

describe('commands', () => {
  it('load: interval, series and their lines', () => {
    const load = only('\n# comment\nload 5m\n  a{x="1"} 0+1x2\n  b 1 _ stale\n', 'load');
    expect(load.line).toBe(3);
    expect(load.intervalMs).toBe(300_000);
    expect(load.series.map((s) => s.line)).toEqual([4, 5]);
    expect(load.series[0]).toMatchObject({ labels: labelsFromRecord({ __name__: 'a', x: '1' }), values: [f(0), f(1), f(2)] });
    expect(load.series[1].values[1]).toEqual(_);
    expect(load.series[1].values[2]).toEqual(f(STALE_NAN));
  });

  it('load_with_nhcb: skipped, still loading the classic series, shadowing the derived ones', () => {
    const skip = only('load_with_nhcb 1m\n  h_bucket{le="1", job="a"} 1\n  h_count{job="a"} 1\n  other 1\n', 'skip');
    expect(skip.reason).toMatch(/nhcb/);
    expect(skip.load?.series).toHaveLength(3);
    expect(skip.shadowedSeries).toEqual([labelsFromRecord({ __name__: 'h', job: 'a' }), labelsFromRecord({ __name__: 'h', job: 'a' })]);
  });

  it('a load with @st start-timestamp lines is skipped with its reason', () => {
    const skip = only('load 1m\n  m@st 0s+1mx2\n  m 1 2 3\n', 'skip');
    expect(skip.reason).toMatch(/start timestamps/);
    expect(skip.shadowedSeries).toEqual([labelsFromRecord({ __name__: 'm' })]);
  });

  it('clear, case-insensitively', () => {
    expect(parseTestFile('clear\nCLEAR\n').map((c) => [c.kind, c.line])).toEqual([['clear', 1], ['clear', 2]]);
  });

  it('an unknown command is skipped with its reason, never dropped', () => {
    const skip = only('frobnicate all the things\n', 'skip');
    expect(skip).toMatchObject({ line: 1, reason: 'unknown command "frobnicate"' });
  });

  it('a bad load line is invalid at its line and the block is passed over', () => {
    const commands = parseTestFile('load 1m\n  a 1\n  b{ 2\n  c 3\n\neval instant at 0 a\n  a 1\n');
    expect(commands.map((c) => c.kind)).toEqual(['invalid', 'eval']);
    expect(commands[0]).toMatchObject({ line: 3, text: 'b{ 2' });
  });

  it('a bad load interval is invalid', () => {
    expect(only('load 1x\n a 1\n', 'invalid').message).toMatch(/invalid step/);
  });
});

describe('eval', () => {
  it('instant: time, expression, expected series with their positions', () => {
    const ev = evalOf('eval instant at 50m sum by (job) (http_requests)\n  {job="api"} 3\n  {job="app"} 4\n');
    expect(ev).toMatchObject({
      line: 1,
      expr: 'sum by (job) (http_requests)',
      header: 'eval instant at 50m',
      timing: { kind: 'instant', timeMs: 3_000_000 },
      fail: null,
      ordered: false,
      expectScalar: null,
      excludeFromRangeQuery: false,
      nativeHistograms: false,
    });
    expect(ev.expected.map((s) => [s.labels, s.values, s.line, s.position])).toEqual([
      [labelsFromRecord({ job: 'api' }), [f(3)], 2, 1],
      [labelsFromRecord({ job: 'app' }), [f(4)], 3, 2],
    ]);
  });

  it('instant without "at" is at 0; a query with nothing expected has no series', () => {
    expect(evalOf('eval instant at 0 metric\n').timing).toEqual({ kind: 'instant', timeMs: 0 });
    expect(evalOf('eval instant at 20s count_over_time(metric[1s])\n').expected).toEqual([]);
  });

  it('range: from, to, step and expanded values', () => {
    const ev = evalOf('eval range from 0 to 10m step 5m rate(x[5m])\n  {} 1 _ 0+1x0\n');
    expect(ev.timing).toEqual({ kind: 'range', startMs: 0, endMs: 600_000, stepMs: 300_000 });
    expect(ev.header).toBe('eval range from 0 to 10m step 5m');
    expect(ev.expected[0].values).toEqual([f(1), _, f(0)]);
  });

  it('range with the end before the start is invalid', () => {
    expect(only('eval range from 10m to 0 step 1m x\n', 'invalid').message).toMatch(/before/);
  });

  it('bare scalar lines, NaN and Inf spellings', () => {
    expect(evalOf('eval instant at 50m 12.34e6\n\t12340000\n').expectScalar).toBe(12340000);
    expect(evalOf('eval instant at 50m NaN\n NaN\n').expectScalar).toBeNaN();
    expect(evalOf('eval instant at 50m -inf\n -Inf\n').expectScalar).toBe(-Infinity);
  });

  it('a scalar line ends the eval block', () => {
    const commands = parseTestFile('eval instant at 0 1\n  1\nclear\n');
    expect(commands.map((c) => c.kind)).toEqual(['eval', 'clear']);
  });

  it('a comment line ends the block, as upstream (comments are blank lines)', () => {
    const commands = parseTestFile('eval instant at 0 m\n# between\n  m 1\n');
    expect(commands.map((c) => c.kind)).toEqual(['eval', 'skip']);
    expect(commands[1]).toMatchObject({ line: 3, reason: 'unknown command "m"' });
  });

  it('eval_fail, eval_ordered, eval_warn, eval_info (deprecated spellings)', () => {
    expect(evalOf('eval_fail instant at 0 -{job="api"}\n').fail).toEqual({ kind: 'any' });
    expect(evalOf('eval_ordered instant at 0 sort(m)\n m 1\n').ordered).toBe(true);
    expect(evalOf('eval_warn instant at 0 m\n').anyWarn).toBe(true);
    expect(evalOf('eval_info range from 0 to 1m step 1m m\n').anyInfo).toBe(true);
  });

  it('expected_fail_message / expected_fail_regexp after eval_fail', () => {
    expect(evalOf('eval_fail instant at 0 m\n  expected_fail_message vector cannot contain metrics with the same labelset\n').fail).toEqual({
      kind: 'msg',
      text: 'vector cannot contain metrics with the same labelset',
    });
    const ev = evalOf('eval_fail instant at 0 m\n  expected_fail_regexp (vector|metrics) cannot\n');
    expect(ev.fail).toMatchObject({ kind: 'regex', source: '(vector|metrics) cannot' });
  });

  it('expect fail, with msg: and regex:', () => {
    expect(evalOf('eval instant at 0 m\n  expect fail\n').fail).toEqual({ kind: 'any' });
    expect(evalOf('eval instant at 0 m\n  expect fail msg:invalid label name "a\\xc5z"\n').fail).toEqual({ kind: 'msg', text: 'invalid label name "a\\xc5z"' });
    expect(evalOf('eval instant at 0 m\n  expect fail msg: Parameter value is NaN\n').fail).toEqual({ kind: 'msg', text: 'Parameter value is NaN' });
    const ev = evalOf('eval instant at 0 m\n  expect fail regex: vector cannot .*|other\n');
    expect(ev.fail?.kind === 'regex' && ev.fail.regex.test('xx vector cannot contain')).toBe(true);
  });

  it('expect warn / info / no_warn / no_info / ordered', () => {
    const ev = evalOf(
      'eval instant at 0 m\n  expect warn\n  expect warn msg: PromQL warning: w (1:8)\n  expect info regex: PromQL info: .* \\(1:21\\)\n  expect ordered\n  m 1\n',
    );
    expect(ev.warn).toEqual([{ kind: 'any' }, { kind: 'msg', text: 'PromQL warning: w (1:8)' }]);
    expect(ev.info).toMatchObject([{ kind: 'regex', source: 'PromQL info: .* \\(1:21\\)' }]);
    expect(ev.ordered).toBe(true);
    expect(ev.expected).toHaveLength(1);
    const no = evalOf('eval instant at 0 m\n  expect no_warn\n  expect no_info\n');
    expect([no.noWarn, no.noInfo]).toEqual([true, true]);
  });

  it('contradictory or malformed expect lines are invalid', () => {
    expect(only('eval instant at 0 m\n  expect warn\n  expect no_warn\n', 'invalid').line).toBe(3);
    expect(only('eval instant at 0 m\n  expect info\n  expect no_info\n', 'invalid').line).toBe(3);
    expect(only('eval instant at 0 m\n  expect fail\n  expect fail\n', 'invalid').line).toBe(3);
    expect(only('eval instant at 0 m\n  expect sometimes\n', 'invalid').message).toMatch(/invalid expect/);
    expect(only('eval instant at 0 m\n  expect fail regex: (\n', 'invalid').message).toMatch(/invalid regex/);
  });

  it('expect string, in double quotes or backquotes', () => {
    expect(evalOf('eval instant at 50m ("Foo")\n\texpect string `Foo`\n')).toMatchObject({ expectString: 'Foo', excludeFromRangeQuery: true });
    expect(evalOf('eval instant at 50m " Foo "\n    expect string " Foo "\n').expectString).toBe(' Foo ');
    expect(evalOf('eval instant at 50m ""\n   \texpect string ""\n').expectString).toBe('');
    expect(only('eval instant at 50m "x"\n  expect string x\n', 'invalid').message).toMatch(/quoted/);
  });

  it('expect range vector: the instant query runs at its end and returns a matrix', () => {
    const ev = evalOf(
      'eval instant at 1m some_metric[1m]\n  expect range vector from 10s to 1m step 10s\n  some_metric{env="a"} 2 3 4 5 6\n',
    );
    expect(ev.rangeVector).toEqual({ startMs: 10_000, endMs: 60_000, stepMs: 10_000 });
    expect(ev.timing).toEqual({ kind: 'instant', timeMs: 60_000 });
    expect(ev.excludeFromRangeQuery).toBe(true);
    expect(ev.expected[0].values).toHaveLength(5);
  });

  it('several values for an instant eval need expect range vector', () => {
    expect(only('eval instant at 0 m\n  m 1 2\n', 'invalid').message).toMatch(/expect range vector/);
  });

  it('native histograms in the expected values mark the eval', () => {
    expect(evalOf('eval instant at 0 h\n  h {{schema:0 sum:1 count:1}}\n').nativeHistograms).toBe(true);
  });

  it('the later of two expected series with the same labels wins', () => {
    const ev = evalOf('eval instant at 0 m\n  {a="1"} 1\n  {a="2"} 2\n  {a="1"} 3\n');
    expect(ev.expected.map((s) => [s.values, s.position])).toEqual([[[f(2)], 1], [[f(3)], 2]]);
  });

  it('a bad eval header is invalid', () => {
    expect(only('eval sometime m\n', 'invalid').message).toMatch(/invalid evaluation command/);
    expect(only('eval instant at 5x m\n', 'invalid').message).toMatch(/invalid timestamp/);
  });
});

describe('a whole file', () => {
  it('keeps order and line numbers of every command', () => {
    const text = [
      '# --- header ---', // 1
      'load 10s', // 2
      '  metric 0 1 stale 2', // 3
      '', // 4
      '# Instant vector', // 5
      'eval instant at 10s metric', // 6
      '  {__name__="metric"} 1', // 7
      '', // 8
      'eval instant at 20s metric', // 9
      '', // 10
      'clear', // 11
      'load_with_nhcb 1m', // 12
      '  h_bucket{le="+Inf"} 1', // 13
      '', // 14
      'eval range from 0 to 1m step 30s metric', // 15
      '  metric 1 _ 2', // 16
      'load 1m', // 17: a load right after an eval block is read as an expected series
    ].join('\n');
    expect(parseTestFile(text).map((c) => [c.kind, c.line])).toEqual([
      ['load', 2],
      ['eval', 6],
      ['eval', 9],
      ['clear', 11],
      ['skip', 12],
      ['invalid', 17],
    ]);
  });
});
