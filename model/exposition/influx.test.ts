import { describe, expect, it } from 'vitest';
import { labelsFromRecord, type Labels } from '../labels.ts';
import { BatchBuilder } from '../sample-batch.ts';
import { SeriesRegistry } from '../series-registry.ts';
import { float64Bits, NORMAL_NAN } from '../stale-nan.ts';
import { parseInflux } from './influx.ts';
import { SeriesKeyCache } from './series-key-cache.ts';
import type { ParseOptions, ParseResult } from './types.ts';

const DEFAULT_TS = 1_700_000_000_000;
const options: ParseOptions = { defaultTimestampMs: DEFAULT_TS, exemplars: 'drop' };

interface Parsed {
  result: ParseResult;
  samples: { labels: Labels; ts: number; value: number }[];
}

function parse(text: string, opts: ParseOptions = options, cache?: SeriesKeyCache): Parsed {
  const series = cache ?? new SeriesKeyCache(new SeriesRegistry());
  const builder = new BatchBuilder(4);
  const result = parseInflux(new TextEncoder().encode(text), opts, { builder, series });
  const samples = [];
  for (let i = 0; i < builder.length; i++) {
    samples.push({ labels: series.registry.labels(builder.refs[i]), ts: builder.ts[i], value: builder.values[i] });
  }
  return { result, samples };
}

const L = (record: Record<string, string>): Labels => labelsFromRecord(record);

describe('parseInflux: mapping', () => {
  const cases: { name: string; input: string; want: { labels: Labels; ts: number; value: number }[] }[] = [
    {
      name: 'measurement, tags, several fields, ns timestamp',
      input: 'cpu,host=a,region=eu usage_user=12.5,usage_system=3 1700000000000000000',
      want: [
        { labels: L({ __name__: 'cpu_usage_user', host: 'a', region: 'eu' }), ts: 1_700_000_000_000, value: 12.5 },
        { labels: L({ __name__: 'cpu_usage_system', host: 'a', region: 'eu' }), ts: 1_700_000_000_000, value: 3 },
      ],
    },
    {
      name: 'a field named value is not special (measurement_value)',
      input: 'temp value=21.5 1000000',
      want: [{ labels: L({ __name__: 'temp_value' }), ts: 1, value: 21.5 }],
    },
    {
      name: 'no timestamp takes the default',
      input: 'mem free=1',
      want: [{ labels: L({ __name__: 'mem_free' }), ts: DEFAULT_TS, value: 1 }],
    },
    {
      name: 'trailing spaces after the fields are not a timestamp',
      input: 'mem free=1   ',
      want: [{ labels: L({ __name__: 'mem_free' }), ts: DEFAULT_TS, value: 1 }],
    },
    {
      name: 'empty measurement: the field key alone names the series',
      input: ',job=x up=1 0\n up=0 0',
      want: [
        { labels: L({ __name__: 'up', job: 'x' }), ts: 0, value: 1 },
        { labels: L({ __name__: 'up' }), ts: 0, value: 0 },
      ],
    },
    {
      name: 'names are sanitized, leading digit included',
      input: 'disk.io,host.name=a,1st=b read-bytes=1 0',
      want: [{ labels: L({ __name__: 'disk_io_read_bytes', host_name: 'a', _st: 'b' }), ts: 0, value: 1 }],
    },
    {
      name: 'non-ASCII name characters become one _ each',
      input: 'größe wert=1 0',
      want: [{ labels: L({ __name__: 'gr__e_wert' }), ts: 0, value: 1 }],
    },
    {
      name: 'empty tag keys or values are ignored; a tag named __name__ is ignored; later duplicate wins',
      input: 'm,a=,=b,__name__=x,c=1,c=2 f=1 0',
      want: [{ labels: L({ __name__: 'm_f', c: '2' }), ts: 0, value: 1 }],
    },
    {
      name: 'string fields are skipped, numeric ones around them kept',
      input: 'log,host=a msg="hello, world = \\"quoted\\" \\\\",code=404i,ok=T 5000000',
      want: [
        { labels: L({ __name__: 'log_code', host: 'a' }), ts: 5, value: 404 },
        { labels: L({ __name__: 'log_ok', host: 'a' }), ts: 5, value: 1 },
      ],
    },
    {
      name: 'a line of string fields only adds nothing and is no error',
      input: 'log msg="x"',
      want: [],
    },
    {
      name: 'CRLF line endings',
      input: 'a b=1 0\r\nc d=2 0\r\n',
      want: [
        { labels: L({ __name__: 'a_b' }), ts: 0, value: 1 },
        { labels: L({ __name__: 'c_d' }), ts: 0, value: 2 },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { result, samples } = parse(c.input);
      expect(result.errors).toEqual([]);
      expect(result.samples).toBe(c.want.length);
      expect(samples).toEqual(c.want);
    });
  }
});

describe('parseInflux: escapes', () => {
  const cases: { input: string; labels: Record<string, string> }[] = [
    { input: 'my\\ cpu,host=a f=1 0', labels: { __name__: 'my_cpu_f', host: 'a' } },
    { input: 'my\\,cpu f=1 0', labels: { __name__: 'my_cpu_f' } },
    { input: 'm,ho\\ st=a\\ b f=1 0', labels: { __name__: 'm_f', ho_st: 'a b' } },
    { input: 'm,k=a\\,b\\=c f=1 0', labels: { __name__: 'm_f', k: 'a,b=c' } },
    { input: 'm,k=a\\\\ f=1 0', labels: { __name__: 'm_f', k: 'a\\' } },
    { input: 'm,k=C:\\temp\\new f=1 0', labels: { __name__: 'm_f', k: 'C:\\temp\\new' } },
    { input: 'm,k=a=b f=1 0', labels: { __name__: 'm_f', k: 'a=b' } },
    { input: 'm f\\ x\\,y\\=z=1 0', labels: { __name__: 'm_f_x_y_z' } },
    { input: 'm,k="q" f=1 0', labels: { __name__: 'm_f', k: '"q"' } },
    { input: 'm,k=ünï f=1 0', labels: { __name__: 'm_f', k: 'ünï' } },
  ];
  for (const c of cases) {
    it(c.input, () => {
      const { result, samples } = parse(c.input);
      expect(result.errors).toEqual([]);
      expect(samples.map((s) => s.labels)).toEqual([L(c.labels)]);
    });
  }
});

describe('parseInflux: field types', () => {
  const cases: { value: string; want: number }[] = [
    { value: '1', want: 1 },
    { value: '1.5', want: 1.5 },
    { value: '-1e3', want: -1000 },
    { value: '+2.5E-2', want: 0.025 },
    { value: '.5', want: 0.5 },
    { value: '1.', want: 1 },
    { value: '-0', want: -0 },
    { value: '0.1', want: 0.1 },
    { value: '1.7976931348623157e308', want: Number.MAX_VALUE },
    { value: '5e-324', want: 5e-324 },
    { value: '0.30000000000000004', want: 0.30000000000000004 },
    { value: '123456789012345678', want: 123456789012345678 },
    { value: '12i', want: 12 },
    { value: '-12i', want: -12 },
    { value: '9223372036854775807i', want: 9223372036854775807 },
    { value: '-9223372036854775808i', want: -9223372036854775808 },
    { value: '12u', want: 12 },
    { value: '18446744073709551615u', want: 18446744073709551615 },
    { value: 'NaN', want: NORMAL_NAN },
    { value: '+Inf', want: Infinity },
    { value: '-inf', want: -Infinity },
    { value: 'Infinity', want: Infinity },
    ...['t', 'T', 'true', 'True', 'TRUE'].map((value) => ({ value, want: 1 })),
    ...['f', 'F', 'false', 'False', 'FALSE'].map((value) => ({ value, want: 0 })),
  ];
  for (const c of cases) {
    it(`${c.value} -> ${c.want}`, () => {
      const { result, samples } = parse(`m f=${c.value} 0`);
      expect(result.errors).toEqual([]);
      expect(samples).toHaveLength(1);
      expect(float64Bits(samples[0].value)).toBe(float64Bits(c.want));
    });
  }
});

describe('parseInflux: NaN', () => {
  for (const value of ['NaN', 'nan', '-NaN']) {
    it(`stores ${value} with the canonical bit pattern, as the text parsers do`, () => {
      const { samples } = parse(`m f=${value} 0`);
      expect(float64Bits(samples[0].value)).toBe('7ff8000000000001');
    });
  }
});

describe('parseInflux: timestamps', () => {
  const cases: { ts: string; want: number }[] = [
    { ts: '1700000000123000000', want: 1_700_000_000_123 },
    { ts: '1700000000123456789', want: 1_700_000_000_123 + 0.456789 },
    { ts: '9223372036854775807', want: 9_223_372_036_854 + 0.775807 },
    { ts: '1', want: 0.000001 },
    { ts: '999999', want: 0.999999 },
    { ts: '1000000', want: 1 },
    { ts: '0', want: 0 },
    { ts: '-1000000', want: -1 },
    { ts: '-1500000', want: -1.5 },
  ];
  for (const c of cases) {
    it(`${c.ts} ns -> ${c.want} ms`, () => {
      const { result, samples } = parse(`m f=1 ${c.ts}`);
      expect(result.errors).toEqual([]);
      expect(samples[0].ts).toBe(c.want);
    });
  }
  it('whole milliseconds beyond 2^53 ns stay exact', () => {
    for (const ms of [1, 999, 1_700_000_000_001, 4_102_444_800_000, 9_007_199_254_740]) {
      const { samples } = parse(`m f=1 ${ms}000000`);
      expect(samples[0].ts).toBe(ms);
    }
  });
});

describe('parseInflux: malformed lines', () => {
  const cases: { name: string; line: string; reason: string; column: number }[] = [
    { name: 'no field set', line: 'cpu,host=a', reason: 'missing_fields', column: 11 },
    { name: 'only spaces after the head', line: 'cpu   ', reason: 'missing_fields', column: 4 },
    { name: 'field without =', line: 'cpu usage', reason: 'missing_field_value', column: 5 },
    { name: 'field without value', line: 'cpu usage= 1', reason: 'missing_field_value', column: 11 },
    { name: 'field with empty key', line: 'cpu =1', reason: 'missing_field_key', column: 5 },
    { name: 'trailing comma in fields', line: 'cpu a=1, 0', reason: 'missing_field_value', column: 9 },
    { name: 'bad float', line: 'cpu a=1.5x 0', reason: 'invalid_field_value', column: 7 },
    { name: 'bad integer', line: 'cpu a=1.5i 0', reason: 'invalid_field_value', column: 7 },
    { name: 'negative unsigned', line: 'cpu a=-1u 0', reason: 'invalid_field_value', column: 7 },
    { name: 'integer out of int64 range', line: 'cpu a=9223372036854775808i 0', reason: 'invalid_field_value', column: 7 },
    { name: 'unsigned out of range', line: 'cpu a=18446744073709551616u 0', reason: 'invalid_field_value', column: 7 },
    { name: 'bad boolean', line: 'cpu a=yes 0', reason: 'invalid_field_value', column: 7 },
    { name: 'lone exponent', line: 'cpu a=1e 0', reason: 'invalid_field_value', column: 7 },
    { name: 'unterminated string', line: 'cpu a="abc 0', reason: 'unterminated_string', column: 7 },
    { name: 'string ending in an escaped quote', line: 'cpu a="abc\\"', reason: 'unterminated_string', column: 7 },
    { name: 'garbage after a string', line: 'cpu a="x"y 0', reason: 'invalid_field_value', column: 10 },
    { name: 'non-numeric timestamp', line: 'cpu a=1 12abc', reason: 'invalid_timestamp', column: 9 },
    { name: 'fractional timestamp', line: 'cpu a=1 1.5', reason: 'invalid_timestamp', column: 9 },
    { name: 'two timestamps', line: 'cpu a=1 1 2', reason: 'invalid_timestamp', column: 9 },
    { name: 'timestamp over 19 digits', line: 'cpu a=1 12345678901234567890', reason: 'invalid_timestamp', column: 9 },
    { name: 'backslash ends the head', line: 'cpu\\', reason: 'invalid_escape', column: 4 },
    { name: 'backslash ends a field key', line: 'cpu a\\', reason: 'invalid_escape', column: 6 },
    { name: 'tag without =', line: 'cpu,host a=1 0', reason: 'missing_tag_value', column: 5 },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.reason}, good lines around it still ingested`, () => {
      const input = `good a=1 0\n${c.line}\n\n# comment\ngood b=2 0`;
      const { result, samples } = parse(input);
      expect(result.errorCount).toBe(1);
      expect(result.errors).toHaveLength(1);
      const [err] = result.errors;
      expect(err).toMatchObject({ line: 2, column: c.column, reason: c.reason });
      expect(err.message).toContain('line 2');
      expect(samples.map((s) => s.labels)).toEqual([L({ __name__: 'good_a' }), L({ __name__: 'good_b' })]);
      expect(result.samples).toBe(2);
    });
  }

  it('a malformed field anywhere in the line drops the whole line', () => {
    const { result, samples } = parse('m a=1,b=2,c=oops 0\nm a=3 0');
    expect(result.errors.map((e) => e.reason)).toEqual(['invalid_field_value']);
    expect(samples.map((s) => s.value)).toEqual([3]);
  });

  it('a bad tag drops the line even when its fields are known', () => {
    const cache = new SeriesKeyCache(new SeriesRegistry());
    parse('m,a=1 f=1 0', options, cache);
    const { result, samples } = parse('m,a f=1 0\nm,a=1 f=2 0', options, cache);
    expect(result.errors.map((e) => e.reason)).toEqual(['missing_tag_value']);
    expect(samples.map((s) => s.value)).toEqual([2]);
  });

  it('keeps at most maxErrorDetails details but counts every error', () => {
    const { result } = parse('x\n'.repeat(10), { ...options, maxErrorDetails: 3 });
    expect(result.errorCount).toBe(10);
    expect(result.errors.map((e) => e.line)).toEqual([1, 2, 3]);
  });

  it('blank lines, whitespace-only lines and comments are not errors', () => {
    const { result, samples } = parse('\n   \n# a comment\n  # indented comment\n\t\nm f=1 0\n');
    expect(result.errorCount).toBe(0);
    expect(samples).toHaveLength(1);
  });
});

describe('parseInflux: series caching', () => {
  it('resolves the same series through the cache and the head index, whatever the field order', () => {
    const cache = new SeriesKeyCache(new SeriesRegistry());
    const first = parse('cpu,host=a user=1,system=2 0', options, cache);
    const again = parse('cpu,host=a system=3,user=4 0\ncpu,host=a  user=5 0', options, cache);
    const refOf = (p: Parsed, i: number) => cache.registry.lookup(p.samples[i].labels);
    expect(refOf(again, 0)).toBe(refOf(first, 1));
    expect(refOf(again, 1)).toBe(refOf(first, 0));
    expect(refOf(again, 2)).toBe(refOf(first, 0));
    expect(cache.registry.size).toBe(2);
  });

  it('attaches the target labels of the cache', () => {
    const cache = new SeriesKeyCache(new SeriesRegistry(), L({ job: 'influx' }));
    const { samples } = parse('cpu,host=a user=1 0', options, cache);
    expect(samples[0].labels).toEqual(L({ __name__: 'cpu_user', host: 'a', job: 'influx' }));
  });

  it('keeps two caches (two targets) apart', () => {
    const registry = new SeriesRegistry();
    const a = new SeriesKeyCache(registry, L({ job: 'a' }));
    const b = new SeriesKeyCache(registry, L({ job: 'b' }));
    parse('cpu user=1 0', options, a);
    const { samples } = parse('cpu user=1 0', options, b);
    expect(samples[0].labels).toEqual(L({ __name__: 'cpu_user', job: 'b' }));
  });
});
