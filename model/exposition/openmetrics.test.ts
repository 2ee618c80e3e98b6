import { describe, expect, it, vi } from 'vitest';
import { formatLabels, type Labels } from '../labels.ts';
import { BatchBuilder } from '../sample-batch.ts';
import { SeriesRegistry } from '../series-registry.ts';
import { float64Bits } from '../stale-nan.ts';
import { parseOpenMetrics } from './openmetrics.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { SeriesKeyCache } from './series-key-cache.ts';
import type { ParseOptions } from './types.ts';

const T0 = 1_700_000_000_000;

interface Sample {
  series: string;
  t: number;
  v: number;
}

function setup(targetLabels: Labels = []) {
  const registry = new SeriesRegistry();
  return { registry, cache: new SeriesKeyCache(registry, targetLabels), builder: new BatchBuilder(4) };
}

function run(input: string | Uint8Array, options: Partial<ParseOptions> = {}, env = setup()) {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const before = env.builder.length;
  const result = parseOpenMetrics(bytes, { defaultTimestampMs: T0, exemplars: 'keep', ...options }, { builder: env.builder, series: env.cache });
  const samples: Sample[] = [];
  for (let i = before; i < env.builder.length; i++) {
    samples.push({ series: formatLabels(env.registry.labels(env.builder.refs[i])), t: env.builder.ts[i], v: env.builder.values[i] });
  }
  return { result, samples, env };
}

describe('parseOpenMetrics: valid input', () => {
  const cases: { name: string; input: string; expected: Sample[] }[] = [
    { name: 'unknown family without metadata', input: 'a 1\n# EOF\n', expected: [{ series: 'a', t: T0, v: 1 }] },
    { name: 'EOF without final newline', input: 'a 1\n# EOF', expected: [{ series: 'a', t: T0, v: 1 }] },
    {
      name: 'counter with _total and _created, timestamps in seconds',
      input: '# TYPE c counter\nc_total{a="b"} 17 1700000000.123\nc_created{a="b"} 1699999000.5\n# EOF\n',
      expected: [
        { series: 'c_total{a="b"}', t: 1700000000123, v: 17 },
        { series: 'c_created{a="b"}', t: T0, v: 1699999000.5 },
      ],
    },
    { name: 'sub-millisecond timestamp', input: 'a 1 0.0005\n# EOF\n', expected: [{ series: 'a', t: 0.5, v: 1 }] },
    { name: 'integer timestamp', input: 'a 1 1700000000\n# EOF\n', expected: [{ series: 'a', t: 1700000000000, v: 1 }] },
    {
      name: 'histogram',
      input:
        '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 3\nh_count 3\nh_sum 2.5\nh_created 1.5\n# EOF\n',
      expected: [
        { series: 'h_bucket{le="0.5"}', t: T0, v: 1 },
        { series: 'h_bucket{le="1.0"}', t: T0, v: 2 },
        { series: 'h_bucket{le="+Inf"}', t: T0, v: 3 },
        { series: 'h_count', t: T0, v: 3 },
        { series: 'h_sum', t: T0, v: 2.5 },
        { series: 'h_created', t: T0, v: 1.5 },
      ],
    },
    {
      name: 'gaugehistogram',
      input: '# TYPE g gaugehistogram\ng_bucket{le="1.0"} 2\ng_bucket{le="+Inf"} 3\ng_gcount 3\ng_gsum 4\n# EOF\n',
      expected: [
        { series: 'g_bucket{le="1.0"}', t: T0, v: 2 },
        { series: 'g_bucket{le="+Inf"}', t: T0, v: 3 },
        { series: 'g_gcount', t: T0, v: 3 },
        { series: 'g_gsum', t: T0, v: 4 },
      ],
    },
    {
      name: 'summary',
      input: '# TYPE s summary\ns{quantile="0.5"} 1\ns{quantile="1"} 2\ns_count 3\ns_sum 4\n# EOF\n',
      expected: [
        { series: 's{quantile="0.5"}', t: T0, v: 1 },
        { series: 's{quantile="1.0"}', t: T0, v: 2 },
        { series: 's_count', t: T0, v: 3 },
        { series: 's_sum', t: T0, v: 4 },
      ],
    },
    {
      name: 'info, stateset, gauge, unknown',
      input:
        '# TYPE i info\ni_info{version="1"} 1\n# TYPE st stateset\nst{st="a"} 1\nst{st="b"} 0\n# TYPE g gauge\ng NaN\n# TYPE u unknown\nu -Inf\n# EOF\n',
      expected: [
        { series: 'i_info{version="1"}', t: T0, v: 1 },
        { series: 'st{st="a"}', t: T0, v: 1 },
        { series: 'st{st="b"}', t: T0, v: 0 },
        { series: 'g', t: T0, v: NaN },
        { series: 'u', t: T0, v: -Infinity },
      ],
    },
    {
      name: 'an unrelated sample starts a new untyped family',
      input: '# TYPE c counter\nc_total 1\nother 2\nother_count 3\n# EOF\n',
      expected: [
        { series: 'c_total', t: T0, v: 1 },
        { series: 'other', t: T0, v: 2 },
        { series: 'other_count', t: T0, v: 3 },
      ],
    },
    {
      name: 'escapes, VictoriaMetrics spacing, trailing comma, empty braces',
      input: 'a{b="x\\\\y\\"z\\nw", c="d",} 1\nb{} 2\n# EOF\n',
      expected: [
        { series: 'a{b="x\\\\y\\"z\\nw", c="d"}', t: T0, v: 1 },
        { series: 'b', t: T0, v: 2 },
      ],
    },
    {
      name: 'quoted UTF-8 names',
      input: '# TYPE "my.counter" counter\n{"my.counter_total", "some.label"="v"} 1\n# EOF\n',
      expected: [{ series: 'my.counter_total{some.label="v"}', t: T0, v: 1 }],
    },
    { name: 'CRLF', input: 'a 1\r\nb 2 3\r\n# EOF\r\n', expected: [{ series: 'a', t: T0, v: 1 }, { series: 'b', t: 3000, v: 2 }] },
  ];
  for (const { name, input, expected } of cases) {
    it(name, () => {
      const { result, samples } = run(input);
      expect(result.errors).toEqual([]);
      expect(result.samples).toBe(expected.length);
      expect(samples).toEqual(expected);
    });
  }

  it('extracts HELP, TYPE and UNIT merged per family', () => {
    const { result } = run(
      '# TYPE foo_seconds gauge\n# UNIT foo_seconds seconds\n# HELP foo_seconds Foo \\"x\\"\\nbar \\\\.\nfoo_seconds 1\n# HELP b only help\n# EOF\n',
    );
    expect(result.errors).toEqual([]);
    expect(result.metadata).toEqual([
      { family: 'foo_seconds', type: 'gauge', help: 'Foo "x"\nbar \\.', unit: 'seconds' },
      { family: 'b', type: 'unknown', help: 'only help', unit: '' },
    ]);
  });

  it('stores NaN with the canonical bit pattern', () => {
    const { env } = run('a NaN\n# EOF\n');
    expect(float64Bits(env.builder.values[0])).toBe('7ff8000000000001');
  });

  it('keeps its metadata memo apart from the 0.0.4 parser on the same series cache', () => {
    // The same HELP bytes mean `a\"b` in 0.0.4 (only `\\` and `\n` are escapes there) and `a"b` here.
    const env = setup();
    const prom = parsePrometheusText(
      new TextEncoder().encode('# HELP x a\\"b\n# TYPE x gauge\nx 1\n'),
      { defaultTimestampMs: T0, exemplars: 'drop' },
      { builder: env.builder, series: env.cache },
    );
    expect(prom.metadata).toEqual([{ family: 'x', type: 'gauge', help: 'a\\"b', unit: '' }]);
    const { result } = run('# HELP x a\\"b\n# TYPE x gauge\nx 1\n# EOF\n', {}, env);
    expect(result.errors).toEqual([]);
    expect(result.metadata).toEqual([{ family: 'x', type: 'gauge', help: 'a"b', unit: '' }]);
  });
});

describe('parseOpenMetrics: exemplars', () => {
  const text =
    '# TYPE h histogram\nh_bucket{le="1"} 3 # {trace_id="abc",span="x"} 1.5 1700000000.123\n' +
    'h_bucket{le="+Inf"} 4 1700000001 # {} 2\nh_count 4\nh_sum 5\n# TYPE c counter\nc_total 1 # {trace_id="q"} 1\n# EOF\n';

  it('keeps them with the series ref of their sample', () => {
    const { result, env } = run(text, { exemplars: 'keep' });
    expect(result.errors).toEqual([]);
    expect(result.samples).toBe(5);
    expect(result.exemplars).toEqual([
      { seriesRef: env.builder.refs[0], labels: ['span', 'x', 'trace_id', 'abc'], value: 1.5, timestampMs: 1700000000123 },
      { seriesRef: env.builder.refs[1], labels: [], value: 2, timestampMs: undefined },
      { seriesRef: env.builder.refs[4], labels: ['trace_id', 'q'], value: 1, timestampMs: undefined },
    ]);
    expect(env.builder.ts[1]).toBe(1700000001000);
  });

  it('drops them but keeps the samples', () => {
    const { result, samples } = run(text, { exemplars: 'drop' });
    expect(result.errors).toEqual([]);
    expect(result.exemplars).toEqual([]);
    expect(samples.map((s) => s.v)).toEqual([3, 4, 4, 5, 1]);
  });
});

describe('parseOpenMetrics: malformed lines', () => {
  const cases: { name: string; bad: string; reason: string; prefix?: string; exemplars?: 'keep' | 'drop' }[] = [
    { name: 'blank line', bad: '', reason: 'blank_line' },
    { name: 'other comment', bad: '# just a comment', reason: 'invalid_comment' },
    { name: 'unknown escape', bad: 'a{b="x\\ty"} 1', reason: 'invalid_escape' },
    { name: 'unterminated label value', bad: 'a{b="x} 1', reason: 'unterminated_label_value' },
    { name: 'duplicate label', bad: 'a{b="1", b="2"} 1', reason: 'duplicate_label' },
    { name: 'invalid label name', bad: 'a{1="1"} 1', reason: 'invalid_label_name' },
    { name: 'invalid metric name', bad: '1a 1', reason: 'invalid_metric_name' },
    { name: 'invalid value', bad: 'a one', reason: 'invalid_value' },
    { name: 'NaN timestamp', bad: 'a 1 NaN', reason: 'invalid_timestamp' },
    { name: 'garbage timestamp', bad: 'a 1 1x', reason: 'invalid_timestamp' },
    { name: 'exemplar without braces', bad: 'a_total 1 # trace 1', reason: 'invalid_exemplar', prefix: '# TYPE a counter\n' },
    { name: 'exemplar without value', bad: 'a_total 1 # {t="1"}', reason: 'invalid_exemplar', prefix: '# TYPE a counter\n' },
    { name: 'exemplar bad value', bad: 'a_total 1 # {t="1"} x', reason: 'invalid_exemplar', prefix: '# TYPE a counter\n' },
    { name: 'exemplar bad value (drop)', bad: 'a_total 1 # {t="1"} x', reason: 'invalid_exemplar', prefix: '# TYPE a counter\n', exemplars: 'drop' },
    { name: 'exemplar bad labels', bad: 'a_total 1 # {t=1} 1', reason: 'invalid_exemplar', prefix: '# TYPE a counter\n' },
    { name: 'exemplar trailing junk', bad: 'a_total 1 # {t="1"} 1 2 3', reason: 'invalid_exemplar', prefix: '# TYPE a counter\n' },
    { name: 'exemplar labels too long', bad: `a_total 1 # {t="${'x'.repeat(128)}"} 1`, reason: 'invalid_exemplar', prefix: '# TYPE a counter\n' },
    { name: 'counter sample without suffix', bad: 'c 1', reason: 'family_mismatch', prefix: '# TYPE c counter\n' },
    { name: 'gauge sample with _total', bad: 'g_total 1', reason: 'family_mismatch', prefix: '# TYPE g gauge\n' },
    { name: 'summary sample with _bucket', bad: 's_bucket{le="1"} 1', reason: 'family_mismatch', prefix: '# TYPE s summary\n' },
    { name: 'bucket without le', bad: 'h_bucket{a="1"} 1', reason: 'missing_le', prefix: '# TYPE h histogram\n' },
    { name: 'summary without quantile', bad: 's 1', reason: 'missing_quantile', prefix: '# TYPE s summary\n' },
    { name: 'unknown type', bad: '# TYPE x untyped', reason: 'invalid_type_line' },
    { name: 'duplicate TYPE', bad: '# TYPE x gauge', reason: 'duplicate_type', prefix: '# TYPE x gauge\n' },
    { name: 'duplicate HELP', bad: '# HELP x b', reason: 'duplicate_help', prefix: '# HELP x a\n' },
    { name: 'unit not a suffix', bad: '# UNIT x seconds', reason: 'invalid_unit_line' },
    { name: 'bad HELP name', bad: '# HELP {x} y', reason: 'invalid_help_line' },
    { name: 'bad HELP escape', bad: '# HELP x a\\tb', reason: 'invalid_escape' },
  ];
  for (const { name, bad, reason, prefix = '', exemplars = 'keep' } of cases) {
    it(`${name} -> ${reason}`, () => {
      const { result, samples } = run(`before 1\n${prefix}${bad}\nafter{x="y"} 2\n# EOF\n`, { exemplars });
      expect(result.errors).toHaveLength(1);
      expect(result.errorCount).toBe(1);
      expect(result.errors[0]).toMatchObject({ line: prefix.split('\n').length + 1, reason });
      expect(result.errors[0].message).toMatch(/expected/);
      expect(samples.map((s) => s.series)).toEqual(['before', 'after{x="y"}']);
      expect(result.exemplars).toEqual([]);
    });
  }

  it('missing EOF is one error and the samples are kept', () => {
    const { result, samples } = run('a 1\nb 2\n');
    expect(result.errors).toEqual([{ line: 3, column: 1, reason: 'missing_eof', message: expect.stringMatching(/expected "# EOF"/) }]);
    expect(samples.map((s) => s.series)).toEqual(['a', 'b']);
    expect(run('').result.errors.map((e) => e.reason)).toEqual(['missing_eof']);
  });

  it('content after EOF is one error and is not parsed', () => {
    const { result, samples } = run('a 1\n# EOF\nb 2\nc 3\n');
    expect(result.errors.map((e) => [e.line, e.reason])).toEqual([[3, 'content_after_eof']]);
    expect(samples.map((s) => s.series)).toEqual(['a']);
    expect(run('a 1\n# EOF\n\n').result.errors.map((e) => e.reason)).toEqual(['content_after_eof']);
  });

  it('family checks also apply to cached series', () => {
    const env = setup();
    run('c 1\n# EOF\n', {}, env);
    const { result } = run('# TYPE c counter\nc 1\n# EOF\n', {}, env);
    expect(result.errors.map((e) => e.reason)).toEqual(['family_mismatch']);
  });
});

describe('parseOpenMetrics: series key cache', () => {
  it('a second parse of the same payload hits the cache and yields identical refs', () => {
    const env = setup();
    const text = '# TYPE h histogram\nh_bucket{le="1"} 1 # {t="a"} 1\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 1\n# EOF\n';
    run(text, {}, env);
    const refs1 = Array.from(env.builder.refs.subarray(0, env.builder.length));
    const add = vi.spyOn(env.cache, 'add');
    const { result } = run(text, {}, env);
    expect(add).not.toHaveBeenCalled();
    expect(result.errors).toEqual([]);
    expect(Array.from(env.builder.refs.subarray(refs1.length, env.builder.length))).toEqual(refs1);
  });
});
