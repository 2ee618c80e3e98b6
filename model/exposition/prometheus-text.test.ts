import { describe, expect, it, vi } from 'vitest';
import { formatLabels, labelsFromRecord, type Labels } from '../labels.ts';
import { BatchBuilder } from '../sample-batch.ts';
import { SeriesRegistry } from '../series-registry.ts';
import { float64Bits } from '../stale-nan.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { SeriesKeyCache } from './series-key-cache.ts';
import type { ParseOptions, ParseResult } from './types.ts';

const T0 = 1_700_000_000_000;

interface Sample {
  series: string;
  t: number;
  v: number;
}

function setup(targetLabels: Labels = []) {
  const registry = new SeriesRegistry();
  const cache = new SeriesKeyCache(registry, targetLabels);
  const builder = new BatchBuilder(4);
  return { registry, cache, builder };
}

function run(input: string | Uint8Array, options: Partial<ParseOptions> = {}, env = setup()) {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const before = env.builder.length;
  const result: ParseResult = parsePrometheusText(bytes, { defaultTimestampMs: T0, exemplars: 'drop', ...options }, { builder: env.builder, series: env.cache });
  const samples: Sample[] = [];
  for (let i = before; i < env.builder.length; i++) {
    samples.push({ series: formatLabels(env.registry.labels(env.builder.refs[i])), t: env.builder.ts[i], v: env.builder.values[i] });
  }
  return { result, samples, env };
}

describe('parsePrometheusText: valid input', () => {
  const cases: { name: string; input: string; expected: Sample[] }[] = [
    { name: 'bare name', input: 'up 1\n', expected: [{ series: 'up', t: T0, v: 1 }] },
    { name: 'no final newline', input: 'up 1', expected: [{ series: 'up', t: T0, v: 1 }] },
    { name: 'labels', input: 'a{b="c",d="e"} 2\n', expected: [{ series: 'a{b="c", d="e"}', t: T0, v: 2 }] },
    { name: 'labels sorted', input: 'a{z="1",b="2"} 2\n', expected: [{ series: 'a{b="2", z="1"}', t: T0, v: 2 }] },
    { name: 'VictoriaMetrics spacing', input: 'a{b="c", d="e"} 2\n', expected: [{ series: 'a{b="c", d="e"}', t: T0, v: 2 }] },
    { name: 'blanks everywhere', input: '  a {\tb = "c" ,d="e"\t}\t 2 \n', expected: [{ series: 'a{b="c", d="e"}', t: T0, v: 2 }] },
    { name: 'trailing comma', input: 'a{b="c",} 1\n', expected: [{ series: 'a{b="c"}', t: T0, v: 1 }] },
    { name: 'empty braces', input: 'a{} 1\n', expected: [{ series: 'a', t: T0, v: 1 }] },
    { name: 'empty value drops the label', input: 'a{b=""} 1\n', expected: [{ series: 'a', t: T0, v: 1 }] },
    { name: 'escapes', input: 'a{b="x\\\\y\\"z\\nw"} 1\n', expected: [{ series: 'a{b="x\\\\y\\"z\\nw"}', t: T0, v: 1 }] },
    { name: 'unknown escape kept verbatim', input: 'a{b="x\\ty"} 1\n', expected: [{ series: 'a{b="x\\\\ty"}', t: T0, v: 1 }] },
    { name: 'braces and commas in values', input: 'a{b="}{,="} 1\n', expected: [{ series: 'a{b="}{,="}', t: T0, v: 1 }] },
    { name: 'UTF-8 value', input: 'a{b="żółw ✓"} 1\n', expected: [{ series: 'a{b="żółw ✓"}', t: T0, v: 1 }] },
    { name: 'timestamp', input: 'a 1 1700000000123\n', expected: [{ series: 'a', t: 1700000000123, v: 1 }] },
    { name: 'negative timestamp', input: 'a 1 -5\n', expected: [{ series: 'a', t: -5, v: 1 }] },
    { name: 'timestamp with labels', input: 'a{b="c"} 1.5 42\n', expected: [{ series: 'a{b="c"}', t: 42, v: 1.5 }] },
    {
      name: 'special values',
      input: 'a NaN\nb +Inf\nc -Inf\nd Inf\ne inf\nf +infinity\ng nan\nh -0\ni 1e-3\n',
      expected: [
        { series: 'a', t: T0, v: NaN },
        { series: 'b', t: T0, v: Infinity },
        { series: 'c', t: T0, v: -Infinity },
        { series: 'd', t: T0, v: Infinity },
        { series: 'e', t: T0, v: Infinity },
        { series: 'f', t: T0, v: Infinity },
        { series: 'g', t: T0, v: NaN },
        { series: 'h', t: T0, v: -0 },
        { series: 'i', t: T0, v: 0.001 },
      ],
    },
    {
      name: 'quoted UTF-8 metric and label names',
      input: '{"my.metric.name", "some.label"="v"} 1\n{"my.metric.name"} 2\nfoo{"a.b"="c"} 3\n{b="1","x y"} 4\n',
      expected: [
        { series: 'my.metric.name{some.label="v"}', t: T0, v: 1 },
        { series: 'my.metric.name', t: T0, v: 2 },
        { series: 'foo{a.b="c"}', t: T0, v: 3 },
        { series: 'x y{b="1"}', t: T0, v: 4 },
      ],
    },
    { name: 'CRLF', input: 'a 1\r\nb{c="d"} 2 7\r\n# HELP a x\r\n\r\n', expected: [{ series: 'a', t: T0, v: 1 }, { series: 'b{c="d"}', t: 7, v: 2 }] },
    {
      name: 'comments and blank lines are ignored',
      input: '\n# a comment\n#HELP a b\n# HELP\n\n   \na 1\n',
      expected: [{ series: 'a', t: T0, v: 1 }],
    },
    { name: '__ label names are allowed', input: 'a{__meta="x"} 1\n', expected: [{ series: 'a{__meta="x"}', t: T0, v: 1 }] },
    {
      name: 'histogram le and summary quantile normalised as in Prometheus 3',
      input:
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="0.005"} 1\nh_bucket{le="+Inf"} 2\nh_bucket{le="1e+06"} 2\nh_sum 3\nh_count 2\n' +
        '# TYPE s summary\ns{quantile="0"} 1\ns{quantile="0.99"} 1\n# TYPE g gauge\ng{le="1"} 1\n',
      expected: [
        { series: 'h_bucket{le="1.0"}', t: T0, v: 1 },
        { series: 'h_bucket{le="0.005"}', t: T0, v: 1 },
        { series: 'h_bucket{le="+Inf"}', t: T0, v: 2 },
        { series: 'h_bucket{le="1e+06"}', t: T0, v: 2 },
        { series: 'h_sum', t: T0, v: 3 },
        { series: 'h_count', t: T0, v: 2 },
        { series: 's{quantile="0.0"}', t: T0, v: 1 },
        { series: 's{quantile="0.99"}', t: T0, v: 1 },
        { series: 'g{le="1"}', t: T0, v: 1 },
      ],
    },
  ];
  for (const { name, input, expected } of cases) {
    it(name, () => {
      const { result, samples } = run(input);
      expect(result.errors).toEqual([]);
      expect(result.errorCount).toBe(0);
      expect(result.samples).toBe(expected.length);
      expect(samples).toEqual(expected);
      for (let i = 0; i < samples.length; i++) expect(Object.is(samples[i].v, expected[i].v) || Number.isNaN(expected[i].v)).toBe(true);
    });
  }

  it('stores NaN with the canonical bit pattern', () => {
    const { env } = run('a NaN\n');
    expect(float64Bits(env.builder.values[0])).toBe('7ff8000000000001');
  });

  it('attaches target labels', () => {
    const { samples } = run('a{job="x"} 1\n', {}, setup(labelsFromRecord({ job: 'node', instance: 'h:1' })));
    expect(samples).toEqual([{ series: 'a{exported_job="x", instance="h:1", job="node"}', t: T0, v: 1 }]);
  });
});

describe('parsePrometheusText: metadata', () => {
  it('extracts HELP and TYPE merged per family', () => {
    const { result } = run(
      '# HELP a Some\\ntext \\\\ with \\"quotes\\" and \\t.\n# TYPE a counter\na 1\n' +
        '# TYPE b untyped\n# HELP b  two spaces\n# TYPE c histogram\n# HELP "d.e" quoted\n# HELP f\n',
    );
    expect(result.errors).toEqual([]);
    expect(result.metadata).toEqual([
      { family: 'a', type: 'counter', help: 'Some\ntext \\ with \\"quotes\\" and \\t.', unit: '' },
      { family: 'b', type: 'unknown', help: ' two spaces', unit: '' },
      { family: 'c', type: 'histogram', help: '', unit: '' },
      { family: 'd.e', type: 'unknown', help: 'quoted', unit: '' },
      { family: 'f', type: 'unknown', help: '', unit: '' },
    ]);
  });

  it('returns the same metadata when the payload is parsed again (memoised lines)', () => {
    const env = setup();
    const text = '# HELP a x\n# TYPE a gauge\na 1\n';
    const first = run(text, {}, env).result.metadata;
    const second = run(text, {}, env).result.metadata;
    expect(second).toEqual(first);
    expect(run('# TYPE a gauge\n# TYPE a gauge\n', {}, env).result.errors.map((e) => e.reason)).toEqual(['duplicate_type']);
  });
});

describe('parsePrometheusText: malformed lines', () => {
  const cases: { name: string; bad: string | Uint8Array; reason: string; column?: number; prefix?: string }[] = [
    { name: 'metric name starting with a digit', bad: '0abc 1', reason: 'invalid_metric_name', column: 1 },
    { name: 'bad character in metric name', bad: 'a-b 1', reason: 'invalid_metric_name', column: 2 },
    { name: 'label name starting with a digit', bad: 'a{0b="c"} 1', reason: 'invalid_label_name', column: 3 },
    { name: 'empty quoted label name', bad: 'a{""="c"} 1', reason: 'invalid_label_name', column: 3 },
    { name: 'unquoted label value', bad: 'a{b=c} 1', reason: 'invalid_label_value', column: 5 },
    { name: 'missing =', bad: 'a{b "c"} 1', reason: 'unexpected_character', column: 5 },
    { name: 'unterminated label value', bad: 'a{b="c} 1', reason: 'unterminated_label_value', column: 5 },
    { name: 'unterminated label set', bad: 'a{b="c"', reason: 'unterminated_label_set', column: 8 },
    { name: 'missing comma', bad: 'a{b="c" d="e"} 1', reason: 'unexpected_character', column: 9 },
    { name: 'duplicate label', bad: 'a{b="1",b="2"} 1', reason: 'duplicate_label', column: 9 },
    { name: '__name__ as a label', bad: 'a{__name__="b"} 1', reason: 'duplicate_label' },
    { name: 'two quoted names', bad: '{"a", "b"} 1', reason: 'invalid_metric_name' },
    { name: 'name before braces and inside', bad: 'a{"b"} 1', reason: 'invalid_metric_name' },
    { name: 'no metric name', bad: '{b="c"} 1', reason: 'invalid_metric_name' },
    { name: 'missing value', bad: 'a', reason: 'invalid_value', column: 2 },
    { name: 'missing value after labels', bad: 'a{b="c"}   ', reason: 'invalid_value' },
    { name: 'garbage value', bad: 'a abc', reason: 'invalid_value', column: 3 },
    { name: 'overflowing value', bad: 'a 1e400', reason: 'invalid_value' },
    { name: 'signed NaN', bad: 'a +NaN', reason: 'invalid_value' },
    { name: 'hex float', bad: 'a 0x1p3', reason: 'invalid_value' },
    { name: 'digit separators', bad: 'a 1_000', reason: 'invalid_value' },
    { name: 'float timestamp', bad: 'a 1 12.5', reason: 'invalid_timestamp', column: 5 },
    { name: 'int64 overflow timestamp', bad: 'a 1 99999999999999999999', reason: 'invalid_timestamp' },
    { name: 'extra token', bad: 'a 1 2 3', reason: 'unexpected_character', column: 7 },
    { name: 'invalid UTF-8 in a value', bad: new Uint8Array([0x61, 0x7b, 0x62, 0x3d, 0x22, 0xff, 0x22, 0x7d, 0x20, 0x31]), reason: 'invalid_utf8', column: 6 },
    { name: 'unknown type', bad: '# TYPE a foo', reason: 'invalid_type_line', column: 10 },
    { name: 'gaugehistogram is not a 0.0.4 type', bad: '# TYPE a gaugehistogram', reason: 'invalid_type_line' },
    { name: 'bad HELP name', bad: '# HELP 0a x', reason: 'invalid_help_line', column: 8 },
    { name: 'HELP name glued to text', bad: '# HELP a"x', reason: 'invalid_help_line' },
    { name: 'invalid UTF-8 in HELP', bad: new Uint8Array([0x23, 0x20, 0x48, 0x45, 0x4c, 0x50, 0x20, 0x61, 0x20, 0xc3]), reason: 'invalid_utf8' },
    { name: 'duplicate TYPE', prefix: '# TYPE a gauge\n', bad: '# TYPE a gauge', reason: 'duplicate_type' },
    { name: 'bucket without le', prefix: '# TYPE h histogram\n', bad: 'h_bucket{x="1"} 1', reason: 'missing_le' },
    { name: 'summary quantile sample without quantile', prefix: '# TYPE s summary\n', bad: 's 1', reason: 'missing_quantile' },
  ];
  for (const { name, bad, reason, column, prefix = '' } of cases) {
    it(`${name} -> ${reason}`, () => {
      const enc = new TextEncoder();
      const badBytes = typeof bad === 'string' ? enc.encode(bad) : bad;
      const head = enc.encode(`${prefix}before 1\n`);
      const tail = enc.encode('\nafter{x="y"} 2\n');
      const payload = new Uint8Array([...head, ...badBytes, ...tail]);
      const { result, samples } = run(payload);
      const line = prefix.split('\n').length + 1;
      expect(result.errorCount).toBe(1);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toMatchObject({ line, reason });
      if (column !== undefined) expect(result.errors[0].column).toBe(column);
      expect(result.errors[0].message).toMatch(/expected/);
      expect(samples.map((s) => s.series)).toEqual(['before', 'after{x="y"}']);
      expect(result.samples).toBe(2);
    });
  }

  it('a malformed line is reported even when its series is cached', () => {
    const env = setup();
    run('a{b="c"} 1\n', {}, env);
    const { result, samples } = run('a{b="c"} x\na{b="c"} 1 2 3\na{b="c"} 2\n', {}, env);
    expect(result.errors.map((e) => [e.line, e.reason])).toEqual([
      [1, 'invalid_value'],
      [2, 'unexpected_character'],
    ]);
    expect(samples).toEqual([{ series: 'a{b="c"}', t: T0, v: 2 }]);
  });

  it('keeps maxErrorDetails details but counts every error', () => {
    const { result } = run('x\ny\nz\nok 1\n', { maxErrorDetails: 2 });
    expect(result.errorCount).toBe(3);
    expect(result.errors.map((e) => e.line)).toEqual([1, 2]);
    expect(result.samples).toBe(1);
    expect(run('x\n'.repeat(150)).result.errors).toHaveLength(100);
  });
});

describe('parsePrometheusText: series key cache', () => {
  it('a second parse of the same payload hits the cache and yields identical refs', () => {
    const env = setup(labelsFromRecord({ job: 'j' }));
    const text = '# TYPE a gauge\na{b="1"} 1\na{b="2"} 2\n{"x.y", c="3"} 3\nplain 4 5\n';
    const first = run(text, {}, env);
    const refs1 = Array.from(env.builder.refs.subarray(0, env.builder.length));
    const size = env.registry.size;
    const add = vi.spyOn(env.cache, 'add');
    const get = vi.spyOn(env.cache, 'get');
    const predicted = vi.spyOn(env.cache, 'matchExpected');
    const second = run(text, {}, env);
    const refs2 = Array.from(env.builder.refs.subarray(refs1.length, env.builder.length));
    expect(add).not.toHaveBeenCalled();
    // Same order as last time: every key is the predicted one, found without hashing.
    expect(predicted).toHaveBeenCalledTimes(4);
    expect(get).not.toHaveBeenCalled();
    expect(refs2).toEqual(refs1);
    expect(env.registry.size).toBe(size);
    expect(second.samples).toEqual(first.samples);
  });

  it('different spellings of one series share a ref', () => {
    const env = setup();
    run('a{b="1",c="2"} 1\na{c="2", b="1"} 2\n', {}, env);
    expect(env.builder.refs[0]).toBe(env.builder.refs[1]);
    expect(env.registry.size).toBe(1);
  });
});
