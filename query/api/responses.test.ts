import { describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../model/labels.ts';
import { STALE_NAN } from '../../model/stale-nan.ts';
import {
  errorBody,
  formatSampleValue,
  formatTimestamp,
  jsonString,
  limitAnnotations,
  queryValueJson,
  statusCodeOf,
  successBody,
  type ErrorType,
} from './responses.ts';

describe('formatSampleValue (Go strconv: f below 1e21 and from 1e-6, e otherwise)', () => {
  const cases: Array<[number, string]> = [
    [1, '1'],
    [0, '0'],
    [-0, '-0'],
    [0.1, '0.1'],
    [1 / 3, '0.3333333333333333'],
    [-2.5, '-2.5'],
    [1e20, '100000000000000000000'],
    [1e21, '1e+21'],
    [1.5e300, '1.5e+300'],
    [0.000001, '0.000001'],
    [9.99e-7, '9.99e-07'],
    [1e-7, '1e-07'],
    [-1.25e-10, '-1.25e-10'],
    [5e-324, '5e-324'],
    [Number.MAX_VALUE, '1.7976931348623157e+308'],
    [NaN, 'NaN'],
    [STALE_NAN, 'NaN'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [123456789.123, '123456789.123'],
  ];
  it.each(cases)('%d -> %s', (v, s) => expect(formatSampleValue(v)).toBe(s));
});

describe('formatTimestamp (seconds, three decimals when there is a fraction)', () => {
  const cases: Array<[number, string]> = [
    [1435781451781, '1435781451.781'],
    [1435781451780, '1435781451.780'],
    [1435781451005, '1435781451.005'],
    [1435781451000, '1435781451'],
    [0, '0'],
    [-1500, '-1.500'],
    [-1000, '-1'],
    [1.4, '0.001'],
  ];
  it.each(cases)('%d -> %s', (ms, s) => expect(formatTimestamp(ms)).toBe(s));
});

describe('jsonString (Go encoding/json, HTML-safe)', () => {
  const cases: Array<[string, string]> = [
    ['plain', '"plain"'],
    ['a"b\\c', '"a\\"b\\\\c"'],
    ['<a href="x">&</a>', '"\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e"'],
    ['line\nbreak\ttab\rcr', '"line\\nbreak\\ttab\\rcr"'],
    ['\b\f\u0001\u001f', '"\\u0008\\u000c\\u0001\\u001f"'],
    ['\u2028\u2029', '"\\u2028\\u2029"'],
    ['café \u{1f600}', '"café \u{1f600}"'],
    ['lone \ud800 surrogate', '"lone \\ufffd surrogate"'],
    ['\x7f', '"\x7f"'],
  ];
  it.each(cases)('%j', (s, json) => {
    expect(jsonString(s)).toBe(json);
    if (!s.includes('\ud800')) expect(JSON.parse(json)).toBe(s);
  });
});

describe('queryValueJson', () => {
  const a = labelsFromRecord({ __name__: 'up', job: 'api', instance: 'a:1' });
  it('vector', () => {
    expect(queryValueJson({ type: 'vector', samples: [{ labels: a, t: 1435781451781, v: 1 }, { labels: [], t: 1435781451781, v: NaN }] })).toBe(
      '[{"metric":{"__name__":"up","instance":"a:1","job":"api"},"value":[1435781451.781,"1"]},{"metric":{},"value":[1435781451.781,"NaN"]}]',
    );
  });
  it('empty vector and matrix are []', () => {
    expect(queryValueJson({ type: 'vector', samples: [] })).toBe('[]');
    expect(queryValueJson({ type: 'matrix', series: [] })).toBe('[]');
  });
  it('matrix', () => {
    expect(
      queryValueJson({ type: 'matrix', series: [{ labels: a, ts: Float64Array.of(1000, 16000), values: Float64Array.of(Infinity, -1e-9) }] }),
    ).toBe('[{"metric":{"__name__":"up","instance":"a:1","job":"api"},"values":[[1,"+Inf"],[16,"-1e-09"]]}]');
  });
  it('scalar and string', () => {
    expect(queryValueJson({ type: 'scalar', t: 1435781451781, v: 2 })).toBe('[1435781451.781,"2"]');
    expect(queryValueJson({ type: 'string', t: 1000, v: 'a<b' })).toBe('[1,"a\\u003cb"]');
  });
});

describe('envelopes', () => {
  it('success without annotations leaves them out', () => {
    expect(successBody(['a'])).toBe('{"status":"success","data":["a"]}');
  });
  it('success with warnings and infos', () => {
    expect(successBody([], ['w'], ['i'])).toBe('{"status":"success","data":[],"warnings":["w"],"infos":["i"]}');
  });
  it('annotations: duplicates once, ten at most, then a count', () => {
    const many = Array.from({ length: 13 }, (_, i) => `w${i}`);
    expect(limitAnnotations([...many, 'w0'], 'warning')).toEqual([...many.slice(0, 10), '3 more warning annotations omitted']);
    expect(limitAnnotations(['a', 'a'], 'info')).toEqual(['a']);
  });
  it('error body', () => {
    expect(errorBody('bad_data', 'invalid parameter "start": cannot parse "x" to a valid timestamp')).toBe(
      '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"start\\": cannot parse \\"x\\" to a valid timestamp"}',
    );
  });
  const codes: Array<[ErrorType, number]> = [
    ['bad_data', 400],
    ['execution', 422],
    ['canceled', 499],
    ['timeout', 503],
    ['unavailable', 503],
    ['not_found', 404],
    ['internal', 500],
  ];
  it.each(codes)('%s -> HTTP %d', (type, code) => expect(statusCodeOf(type)).toBe(code));
});
