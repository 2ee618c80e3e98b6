import { parsePrometheusText } from '../prometheus-text.ts';
import { parseOpenMetrics } from '../openmetrics.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { labelsFromRecord, METRIC_NAME, type Labels } from '../../labels.ts';
import type { MetricMetadata } from '../../metadata.ts';
import { BatchBuilder } from '../../sample-batch.ts';
import { SeriesRegistry } from '../../series-registry.ts';
import { float64Bits, isStaleNaN, STALE_NAN } from '../../stale-nan.ts';
import { parseInflux } from '../influx.ts';
import { parseJsonLines } from '../json-lines.ts';
import { SeriesKeyCache } from '../series-key-cache.ts';
import type { ExpositionFormat, ExpositionParser } from '../types.ts';
import { countStaleMarkers, writerFor } from './index.ts';
import { formatNanoseconds, influxLinePrefix } from './influx-writer.ts';
import { formatSeconds } from './openmetrics-writer.ts';
import { formatFloat } from './common.ts';

type Sample = readonly [labels: Record<string, string>, ts: number, value: number];

/** A batch over a fresh registry, and the `labelsOf` the writers take. */
function batchOf(samples: readonly Sample[]) {
  const registry = new SeriesRegistry();
  const builder = new BatchBuilder(4);
  for (const [labels, ts, value] of samples) builder.append(registry.intern(labelsFromRecord(labels)), ts, value);
  return { samples: builder, labelsOf: (ref: number) => registry.labels(ref) };
}

function write(format: ExpositionFormat, samples: readonly Sample[], metadata?: readonly MetricMetadata[]): string {
  const { samples: batch, labelsOf } = batchOf(samples);
  return new TextDecoder().decode(writerFor(format).write(batch, labelsOf, metadata));
}

const meta = (family: string, type: MetricMetadata['type'], help = '', unit = ''): MetricMetadata => ({ family, type, help, unit });

describe('float and time formatting', () => {
  const floats: [number, string][] = [
    [1, '1'],
    [0.1, '0.1'],
    [-0, '-0'],
    [NaN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [1e21, '1e+21'],
    [5e-324, '5e-324'],
    [0.30000000000000004, '0.30000000000000004'],
  ];
  for (const [v, text] of floats) it(`formatFloat(${text})`, () => expect(formatFloat(v)).toBe(text));

  const seconds: [number, string][] = [
    [1_700_000_000_123, '1700000000.123'],
    [1_700_000_000_100, '1700000000.1'],
    [1_700_000_000_000, '1700000000'],
    [5, '0.005'],
    [0, '0'],
    [-1500, '-1.5'],
    [-5, '-0.005'],
    [1.5, '0.0015'],
  ];
  for (const [ms, text] of seconds) it(`formatSeconds(${ms})`, () => expect(formatSeconds(ms)).toBe(text));

  const nanos: [number, string][] = [
    [1_700_000_000_123, '1700000000123000000'],
    [0, '0'],
    [-0, '0'],
    [-1, '-1000000'],
    [1.5, '1500000'],
    [0.000001, '1'],
    [-2.25, '-2250000'],
    [1_700_000_000_000.5, '1700000000000500000'],
  ];
  for (const [ms, text] of nanos) it(`formatNanoseconds(${ms})`, () => expect(formatNanoseconds(ms)).toBe(text));
});

describe('prometheus text writer', () => {
  it('groups by family, writes HELP/TYPE from metadata, escapes, explicit ms timestamps', () => {
    const text = write(
      'prom',
      [
        [{ __name__: 'http_requests_total', code: '200' }, 1000, 5],
        [{ __name__: 'up', job: 'a"b\\c\nd' }, 1000, 1],
        [{ __name__: 'http_requests_total', code: '500' }, 1000, 1],
        [{ __name__: 'http_requests_total', code: '200' }, 500, 4],
        [{ __name__: 'rpc_seconds_sum' }, 1000, 0.5],
        [{ __name__: 'rpc_seconds_count' }, 1000, 2],
      ],
      [meta('http_requests', 'counter', 'Requests.\nAll of them \\o/'), meta('rpc_seconds', 'summary', 'RPC latency.'), meta('unused', 'gauge')],
    );
    expect(text).toBe(
      [
        '# HELP http_requests_total Requests.\\nAll of them \\\\o/',
        '# TYPE http_requests_total counter',
        'http_requests_total{code="200"} 4 500',
        'http_requests_total{code="200"} 5 1000',
        'http_requests_total{code="500"} 1 1000',
        'up{job="a\\"b\\\\c\\nd"} 1 1000',
        '# HELP rpc_seconds RPC latency.',
        '# TYPE rpc_seconds summary',
        'rpc_seconds_sum 0.5 1000',
        'rpc_seconds_count 2 1000',
        '',
      ].join('\n'),
    );
  });

  it('writes OpenMetrics-only types as untyped, special values as Prometheus does', () => {
    const text = write(
      'prom',
      [
        [{ __name__: 'build_info', v: '1' }, 1, NaN],
        [{ __name__: 'x' }, 2, Infinity],
        [{ __name__: 'x' }, 3, -Infinity],
        [{ __name__: 'x' }, 4.6, -0],
      ],
      [meta('build', 'info')],
    );
    expect(text).toBe(
      ['# TYPE build untyped', 'build_info{v="1"} NaN 1', 'x +Inf 2', 'x -Inf 3', 'x -0 5', ''].join('\n'),
    );
  });
});

describe('openmetrics writer', () => {
  it('writes TYPE, UNIT, HELP, float-second timestamps and # EOF', () => {
    const text = write(
      'openmetrics',
      [
        [{ __name__: 'http_requests_total', code: '200' }, 1_700_000_000_123, 5],
        [{ __name__: 'http_requests_created', code: '200' }, 1_700_000_000_123, 1_600_000_000],
        [{ __name__: 'disk_bytes' }, 1_700_000_000_000, 10],
        [{ __name__: 'other' }, 1, 1],
      ],
      [meta('http_requests_total', 'counter', 'Say "hi"'), meta('disk_bytes', 'gauge', '', 'bytes')],
    );
    expect(text).toBe(
      [
        '# TYPE http_requests counter',
        '# HELP http_requests Say \\"hi\\"',
        'http_requests_total{code="200"} 5 1700000000.123',
        'http_requests_created{code="200"} 1600000000 1700000000.123',
        '# TYPE disk_bytes gauge',
        '# UNIT disk_bytes bytes',
        'disk_bytes 10 1700000000',
        'other 1 0.001',
        '# EOF',
        '',
      ].join('\n'),
    );
  });

  it('drops metadata whose type does not fit the sample names, and a unit the name lacks', () => {
    const text = write(
      'openmetrics',
      [
        [{ __name__: 'jobs' }, 1000, 3],
        [{ __name__: 'temp' }, 1000, 20],
      ],
      [meta('jobs', 'counter'), meta('temp', 'gauge', '', 'celsius')],
    );
    expect(text).toBe(['jobs 3 1', '# TYPE temp gauge', 'temp 20 1', '# EOF', ''].join('\n'));
  });

  it('an empty batch is just # EOF', () => {
    expect(write('openmetrics', [])).toBe('# EOF\n');
  });
});

describe('json lines writer', () => {
  it('writes one line per series with its values and timestamps', () => {
    const text = write('json', [
      [{ __name__: 'up', job: 'x' }, 2000, 1],
      [{ __name__: 'down' }, 1000, -0],
      [{ __name__: 'up', job: 'x' }, 1000, NaN],
      [{ __name__: 'up', job: 'x' }, 3000, Infinity],
      [{ __name__: 'up', job: 'x' }, 4000.4, -Infinity],
    ]);
    expect(text).toBe(
      [
        '{"metric":{"__name__":"up","job":"x"},"values":["NaN",1,"+Inf","-Inf"],"timestamps":[1000,2000,3000,4000]}',
        '{"metric":{"__name__":"down"},"values":[-0],"timestamps":[1000]}',
        '',
      ].join('\n'),
    );
  });
});

describe('influx writer', () => {
  const prefixes: [Record<string, string>, string | null][] = [
    [{ __name__: 'http_requests_total', code: '200' }, 'http_requests,code=200 total='],
    [{ __name__: 'cpu_value' }, 'cpu value='],
    [{ __name__: 'up', job: 'a b,c=d\\e' }, ',job=a\\ b\\,c\\=d\\\\e up='],
    [{ __name__: 'up' }, ' up='],
    [{ __name__: '_x' }, ' _x='],
    [{ __name__: 'x_' }, ' x_='],
    [{ __name__: 'a__' }, 'a _='],
    [{ __name__: 'ns:rule_rate5m' }, 'ns:rule rate5m='],
    [{ job: 'nameless' }, null],
  ];
  for (const [labels, want] of prefixes) {
    it(`line prefix of ${JSON.stringify(labels)}`, () => expect(influxLinePrefix(labelsFromRecord(labels))).toBe(want));
  }

  it('writes ns timestamps and special values', () => {
    const text = write('influx', [
      [{ __name__: 'temp_celsius', room: 'a' }, 1_700_000_000_123, 21.5],
      [{ __name__: 'temp_celsius', room: 'a' }, 1_700_000_000_124, NaN],
      [{ __name__: 'up' }, 0, -Infinity],
    ]);
    expect(text).toBe(
      ['temp,room=a celsius=21.5 1700000000123000000', 'temp,room=a celsius=NaN 1700000000124000000', ' up=-Inf 0', ''].join(
        '\n',
      ),
    );
  });

  it('a newline in a tag value is written as the two characters \\n (not representable)', () => {
    expect(write('influx', [[{ __name__: 'a_b', t: 'x\ny' }, 0, 1]])).toBe('a,t=x\\ny b=1 0\n');
  });
});

describe('stale markers', () => {
  const formats: ExpositionFormat[] = ['prom', 'openmetrics', 'json', 'influx'];
  for (const format of formats) {
    it(`${format}: stale NaN samples are skipped, never written as NaN`, () => {
      const samples: Sample[] = [
        [{ __name__: 'a_b' }, 1000, 1],
        [{ __name__: 'a_b' }, 2000, STALE_NAN],
        [{ __name__: 'c_d' }, 2000, STALE_NAN],
      ];
      const text = write(format, samples);
      expect(text).not.toMatch(/NaN/);
      expect(text).not.toMatch(/c_d|"c"|^c /m);
      const { samples: batch } = batchOf(samples);
      expect(countStaleMarkers(batch)).toBe(2);
    });
  }

  it('series without a metric name are skipped by every writer', () => {
    for (const format of formats) expect(write(format, [[{ job: 'x' }, 1, 1]]).replace('# EOF\n', '')).toBe('');
  });

  it('writerFor maps every format and reports content types', () => {
    expect(writerFor('prom').contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(writerFor('openmetrics').contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(writerFor('json').contentType).toBe('application/x-ndjson');
    expect(writerFor('influx').contentType).toBe('text/plain; charset=utf-8');
  });
});

// ---------------------------------------------------------------------------------------------
// Round trip: random label sets and values -> write -> parse gives back the same label sets,
// timestamps and values (value bits compared exactly; a NaN compares as "a NaN that is not stale",
// since no text format carries a NaN payload). Stale NaN is skipped and counted.

const metricNameArb = fc.stringMatching(/^[a-zA-Z_:][a-zA-Z0-9_:]{0,12}$/);
const labelNameArb = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,8}$/).filter((n) => n !== METRIC_NAME);

function labelSetArb(valueArb: fc.Arbitrary<string>): fc.Arbitrary<Record<string, string>> {
  return fc
    .tuple(metricNameArb, fc.dictionary(labelNameArb, valueArb, { maxKeys: 4, noNullPrototype: true }))
    .map(([name, rest]) => ({ ...rest, [METRIC_NAME]: name }));
}

const anyValueArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
/** Influx cannot carry a newline in a tag value (see influx-writer.ts). */
const influxValueArb = anyValueArb.filter((v) => !v.includes('\n'));

const sampleValueArb = fc.oneof({ weight: 8, arbitrary: fc.double() }, { weight: 1, arbitrary: fc.constant(STALE_NAN) });
const tsArb = fc.integer({ min: -1_000_000_000_000, max: 4_102_444_800_000 });

function batchArb(valueArb: fc.Arbitrary<string>) {
  return fc
    .array(labelSetArb(valueArb), { minLength: 1, maxLength: 5 })
    .chain((sets) =>
      fc.array(fc.tuple(fc.constantFrom(...sets), tsArb, sampleValueArb), { minLength: 0, maxLength: 20 }),
    );
}

function sampleKey(labels: Labels, ts: number, value: number): string {
  return `${JSON.stringify(labels)} ${ts} ${value !== value && !isStaleNaN(value) ? 'NaN' : float64Bits(value)}`;
}

function roundTrip(format: ExpositionFormat, parser: ExpositionParser, samples: readonly Sample[]): void {
  const { samples: batch, labelsOf } = batchOf(samples);
  const payload = writerFor(format).write(batch, labelsOf);

  const cache = new SeriesKeyCache(new SeriesRegistry());
  const builder = new BatchBuilder(4);
  const result = parser(payload, { defaultTimestampMs: -1, exemplars: 'drop' }, { builder, series: cache });
  expect(result.errors).toEqual([]);

  const got: string[] = [];
  for (let i = 0; i < builder.length; i++) got.push(sampleKey(cache.registry.labels(builder.refs[i]), builder.ts[i], builder.values[i]));
  const want: string[] = [];
  for (const [labels, ts, value] of samples) if (!isStaleNaN(value)) want.push(sampleKey(labelsFromRecord(labels), ts, value));
  expect(got.sort()).toEqual(want.sort());
  expect(countStaleMarkers(batch)).toBe(samples.length - want.length);
}

describe('round trip through the parsers', () => {
  it('json lines', () => {
    fc.assert(fc.property(batchArb(anyValueArb), (samples) => roundTrip('json', parseJsonLines, samples)), { numRuns: 300 });
  });

  it('influx line protocol', () => {
    fc.assert(fc.property(batchArb(influxValueArb), (samples) => roundTrip('influx', parseInflux, samples)), { numRuns: 300 });
  });

  it('prometheus text', () => {
    fc.assert(fc.property(batchArb(anyValueArb), (samples) => roundTrip('prom', parsePrometheusText, samples)), { numRuns: 300 });
  });

  it('openmetrics', () => {
    fc.assert(fc.property(batchArb(anyValueArb), (samples) => roundTrip('openmetrics', parseOpenMetrics, samples)), { numRuns: 300 });
  });
});
