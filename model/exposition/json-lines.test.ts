import { describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../labels.ts';
import { BatchBuilder } from '../sample-batch.ts';
import { SeriesRegistry } from '../series-registry.ts';
import { float64Bits, NORMAL_NAN } from '../stale-nan.ts';
import { formatPath, jsonLineSchema, parseJsonLines } from './json-lines.ts';
import { SeriesKeyCache } from './series-key-cache.ts';
import type { ParseOptions, ParseResult } from './types.ts';

const options: ParseOptions = { defaultTimestampMs: 0, exemplars: 'drop' };

function parse(text: string, opts: ParseOptions = options, cache?: SeriesKeyCache) {
  const series = cache ?? new SeriesKeyCache(new SeriesRegistry());
  const builder = new BatchBuilder(4);
  const result: ParseResult = parseJsonLines(new TextEncoder().encode(text), opts, { builder, series });
  const samples: { labels: Labels; ts: number; value: number }[] = [];
  for (let i = 0; i < builder.length; i++) {
    samples.push({ labels: series.registry.labels(builder.refs[i]), ts: builder.ts[i], value: builder.values[i] });
  }
  return { result, samples };
}

const L = (record: Record<string, string>): Labels => labelsFromRecord(record);
const GOOD = '{"metric":{"__name__":"good"},"values":[1],"timestamps":[1000]}';

describe('parseJsonLines: accepted lines', () => {
  it('reads the VictoriaMetrics import line format', () => {
    const { result, samples } = parse(
      '{"metric":{"__name__":"up","job":"x"},"values":[1,0.5,"NaN"],"timestamps":[1700000000000,1700000001000,1700000002000]}',
    );
    expect(result).toMatchObject({ samples: 3, errors: [], errorCount: 0, metadata: [], exemplars: [] });
    const labels = L({ __name__: 'up', job: 'x' });
    expect(samples.slice(0, 2)).toEqual([
      { labels, ts: 1_700_000_000_000, value: 1 },
      { labels, ts: 1_700_000_001_000, value: 0.5 },
    ]);
    expect(samples[2].value).toBeNaN();
  });

  const specials: { text: string; want: number }[] = [
    { text: '"NaN"', want: NORMAL_NAN },
    { text: '"+Inf"', want: Infinity },
    { text: '"Inf"', want: Infinity },
    { text: '"-Inf"', want: -Infinity },
    { text: '-0', want: -0 },
    { text: '1e308', want: 1e308 },
    { text: '5e-324', want: 5e-324 },
    { text: '0.1', want: 0.1 },
  ];
  for (const c of specials) {
    it(`value ${c.text}`, () => {
      const { result, samples } = parse(`{"metric":{"__name__":"m"},"values":[${c.text}],"timestamps":[1]}`);
      expect(result.errors).toEqual([]);
      expect(float64Bits(samples[0].value)).toBe(float64Bits(c.want));
    });
  }

  it('stores NaN with the canonical bit pattern, as the text parsers do', () => {
    const { samples } = parse('{"metric":{"__name__":"m"},"values":["NaN"],"timestamps":[1]}');
    expect(float64Bits(samples[0].value)).toBe('7ff8000000000001');
  });

  it('null values skip their pair, the rest of the line is kept', () => {
    const { result, samples } = parse('{"metric":{"__name__":"m"},"values":[1,null,3],"timestamps":[1,2,3]}');
    expect(result.errors).toEqual([]);
    expect(result.samples).toBe(2);
    expect(samples.map((s) => [s.ts, s.value])).toEqual([
      [1, 1],
      [3, 3],
    ]);
  });

  it('empty label values mean no label; blank lines and CRLF are fine', () => {
    const { result, samples } = parse(`\n  \r\n{"metric":{"__name__":"m","a":""},"values":[1],"timestamps":[-5]}\r\n\n`);
    expect(result.errors).toEqual([]);
    expect(samples).toEqual([{ labels: L({ __name__: 'm' }), ts: -5, value: 1 }]);
  });

  it('resolves a repeated series through the cache, with the target labels attached', () => {
    const cache = new SeriesKeyCache(new SeriesRegistry(), L({ job: 'import' }));
    const { samples } = parse(`${GOOD}\n${GOOD}`, options, cache);
    expect(samples.map((s) => s.labels)).toEqual([L({ __name__: 'good', job: 'import' }), L({ __name__: 'good', job: 'import' })]);
    expect(cache.registry.size).toBe(1);
  });

  it('keeps a label named __proto__', () => {
    const { result, samples } = parse('{"metric":{"__name__":"m","__proto__":"p"},"values":[1],"timestamps":[1]}');
    expect(result.errors).toEqual([]);
    expect(samples[0].labels).toEqual(['__name__', 'm', '__proto__', 'p']);
  });
});

describe('parseJsonLines: malformed lines', () => {
  const cases: { name: string; line: string; reason: string; column?: number; path?: string }[] = [
    { name: 'not JSON', line: 'nope', reason: 'invalid_json' },
    { name: 'truncated JSON', line: '{"metric":{"__name__":"m"}', reason: 'invalid_json', column: 27 },
    { name: 'JSON array', line: '[1,2]', reason: 'schema_violation' },
    { name: 'JSON null', line: 'null', reason: 'schema_violation' },
    { name: 'missing metric', line: '{"values":[1],"timestamps":[1]}', reason: 'schema_violation', path: 'metric' },
    { name: 'unknown key', line: '{"metric":{"__name__":"m"},"values":[1],"timestamps":[1],"x":1}', reason: 'schema_violation' },
    { name: 'label value not a string', line: '{"metric":{"__name__":"m","a":1},"values":[1],"timestamps":[1]}', reason: 'schema_violation', path: 'metric.a' },
    { name: 'value of a wrong type', line: '{"metric":{"__name__":"m"},"values":[1,true],"timestamps":[1,2]}', reason: 'schema_violation', path: 'values[1]' },
    { name: 'value string not a special', line: '{"metric":{"__name__":"m"},"values":["1.5"],"timestamps":[1]}', reason: 'schema_violation', path: 'values[0]' },
    { name: 'lower-case nan', line: '{"metric":{"__name__":"m"},"values":["nan"],"timestamps":[1]}', reason: 'schema_violation', path: 'values[0]' },
    { name: 'fractional timestamp', line: '{"metric":{"__name__":"m"},"values":[1],"timestamps":[1.5]}', reason: 'schema_violation', path: 'timestamps[0]' },
    { name: 'null timestamp', line: '{"metric":{"__name__":"m"},"values":[1],"timestamps":[null]}', reason: 'schema_violation', path: 'timestamps[0]' },
    { name: 'timestamps not an array', line: '{"metric":{"__name__":"m"},"values":[1],"timestamps":1}', reason: 'schema_violation', path: 'timestamps' },
    { name: 'length mismatch', line: '{"metric":{"__name__":"m"},"values":[1,2],"timestamps":[1]}', reason: 'length_mismatch', path: 'timestamps' },
    { name: 'no __name__', line: '{"metric":{"job":"x"},"values":[1],"timestamps":[1]}', reason: 'missing_metric_name', path: 'metric.__name__' },
    { name: 'invalid metric name', line: '{"metric":{"__name__":"1up"},"values":[1],"timestamps":[1]}', reason: 'invalid_metric_name', path: 'metric.__name__' },
    { name: 'empty metric name', line: '{"metric":{"__name__":""},"values":[1],"timestamps":[1]}', reason: 'invalid_metric_name' },
    { name: 'invalid label name', line: '{"metric":{"__name__":"m","a-b":"x"},"values":[1],"timestamps":[1]}', reason: 'invalid_label_name', path: 'metric["a-b"]' },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.reason}, good lines around it still ingested`, () => {
      const { result, samples } = parse(`${GOOD}\n${c.line}\n\n${GOOD}`);
      expect(result.errorCount).toBe(1);
      const [err] = result.errors;
      expect(err).toMatchObject({ line: 2, reason: c.reason });
      expect(err.column).toBe(c.column ?? err.column);
      expect(err.column).toBeGreaterThanOrEqual(1);
      expect(err.message).toContain('line 2');
      if (c.path !== undefined) expect(err.message).toContain(`${c.path}:`);
      expect(samples.map((s) => s.labels)).toEqual([L({ __name__: 'good' }), L({ __name__: 'good' })]);
      expect(result.samples).toBe(2);
    });
  }

  it('the JSON error column is a byte column', () => {
    const { result } = parse('{"é":1 x}');
    expect(result.errors[0]).toMatchObject({ reason: 'invalid_json', column: 9 });
  });

  it('keeps at most maxErrorDetails details but counts every error', () => {
    const { result } = parse('x\n'.repeat(5), { ...options, maxErrorDetails: 2 });
    expect(result.errorCount).toBe(5);
    expect(result.errors.map((e) => e.line)).toEqual([1, 2]);
  });
});

describe('jsonLineSchema and formatPath', () => {
  it('is a strict schema usable on its own', () => {
    expect(jsonLineSchema.safeParse({ metric: { __name__: 'm' }, values: [], timestamps: [] }).success).toBe(true);
    expect(jsonLineSchema.safeParse({ metric: { __name__: 'm' }, values: [], timestamps: [], extra: 1 }).success).toBe(false);
  });
  it('formats zod paths', () => {
    expect(formatPath(['values', 2])).toBe('values[2]');
    expect(formatPath(['metric', 'job'])).toBe('metric.job');
    expect(formatPath(['metric', 'a-b'])).toBe('metric["a-b"]');
    expect(formatPath([])).toBe('');
  });
});
