import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { float64Bits, NORMAL_NAN } from '../stale-nan.ts';
import { formatOpenMetricsFloat, numberStatus, parseFloatBytes, parseInt64Bytes } from './parse-float.ts';

const enc = new TextEncoder();

function parse(text: string, scale = 0): number | 'error' {
  const b = enc.encode(text);
  const v = parseFloatBytes(b, 0, b.length, scale);
  return numberStatus.ok ? v : 'error';
}

function parseInt64(text: string): number | 'error' {
  const b = enc.encode(text);
  const v = parseInt64Bytes(b, 0, b.length);
  return numberStatus.ok ? v : 'error';
}

describe('parseFloatBytes', () => {
  const cases: { input: string; expected: number | 'error' }[] = [
    { input: '0', expected: 0 },
    { input: '-0', expected: -0 },
    { input: '1', expected: 1 },
    { input: '+1', expected: 1 },
    { input: '-1.5', expected: -1.5 },
    { input: '.5', expected: 0.5 },
    { input: '1.', expected: 1 },
    { input: '3.7175e-05', expected: 3.7175e-5 },
    { input: '1E6', expected: 1e6 },
    { input: '1e+06', expected: 1e6 },
    { input: '0.000100168', expected: 0.000100168 },
    { input: '25276502016', expected: 25276502016 },
    { input: '9007199254740993', expected: 9007199254740992 },
    { input: '123456789012345678901234567890', expected: 1.2345678901234568e29 },
    { input: '1e308', expected: 1e308 },
    { input: '1e-400', expected: 0 },
    { input: '4.9e-324', expected: 5e-324 },
    { input: '0e999999999999', expected: 0 },
    { input: '0.1', expected: 0.1 },
    { input: '1.7976931348623157e308', expected: 1.7976931348623157e308 },
    { input: 'Inf', expected: Infinity },
    { input: '+Inf', expected: Infinity },
    { input: '-Inf', expected: -Infinity },
    { input: 'inf', expected: Infinity },
    { input: '+infinity', expected: Infinity },
    { input: '-INFINITY', expected: -Infinity },
    { input: 'NaN', expected: NaN },
    { input: 'nan', expected: NaN },
    // Errors, as Go's ParseFloat (and Prometheus on top of it) reports them.
    { input: '', expected: 'error' },
    { input: '+', expected: 'error' },
    { input: '.', expected: 'error' },
    { input: 'e5', expected: 'error' },
    { input: '1e', expected: 'error' },
    { input: '1e+', expected: 'error' },
    { input: '1.2.3', expected: 'error' },
    { input: '1e400', expected: 'error' },
    { input: '-1e400', expected: 'error' },
    { input: '+NaN', expected: 'error' },
    { input: '-nan', expected: 'error' },
    { input: 'infin', expected: 'error' },
    { input: 'Infinityx', expected: 'error' },
    { input: '0x10', expected: 'error' },
    { input: '0x1p-2', expected: 'error' },
    { input: '1_000', expected: 'error' },
    { input: ' 1', expected: 'error' },
    { input: '1 ', expected: 'error' },
    { input: 'abc', expected: 'error' },
  ];
  it.each(cases)('$input', ({ input, expected }) => {
    expect(parse(input)).toEqual(expected);
    if (typeof expected === 'number' && expected === 0) expect(Object.is(parse(input), expected)).toBe(true);
  });

  it('returns the canonical Prometheus NaN bit pattern', () => {
    expect(float64Bits(parse('NaN') as number)).toBe('7ff8000000000001');
    expect(float64Bits(NORMAL_NAN)).toBe('7ff8000000000001');
  });

  it('scales seconds to milliseconds in one rounding', () => {
    expect(parse('1700000000.123', 3)).toBe(1700000000123);
    expect(parse('0.0005', 3)).toBe(0.5);
    expect(parse('1.5e9', 3)).toBe(1.5e12);
    expect(parse('12345678901234567890.5', 3)).toBe(Number('123456789012345678905e2'));
  });

  it('is bit-identical to Number() on shortest float renderings', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (d) => {
        const s = String(d);
        expect(float64Bits(parse(s) as number)).toBe(float64Bits(Number(s)));
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  it('is bit-identical to Number() on random decimal text, scaled or not', () => {
    const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 25 });
    fc.assert(
      fc.property(
        fc.constantFrom('', '-', '+'),
        digits,
        fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 25 })),
        fc.option(fc.integer({ min: -340, max: 340 })),
        fc.integer({ min: 0, max: 3 }),
        (sign, int, frac, exp, scale) => {
          const text = `${sign}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : `e${exp}`}`;
          const want = Number(`${sign}${int}${frac ?? ''}e${(exp ?? 0) - (frac?.length ?? 0) + scale}`);
          const got = parse(text, scale);
          if (!Number.isFinite(want)) expect(got).toBe('error');
          else expect(float64Bits(got as number)).toBe(float64Bits(want));
        },
      ),
      { numRuns: 5000, seed: 7 },
    );
  });
});

describe('parseInt64Bytes', () => {
  const cases: { input: string; expected: number | 'error' }[] = [
    { input: '0', expected: 0 },
    { input: '1700000000123', expected: 1700000000123 },
    { input: '-5', expected: -5 },
    { input: '+5', expected: 5 },
    { input: '9223372036854775807', expected: 9223372036854775807 },
    { input: '-9223372036854775808', expected: -9223372036854775808 },
    { input: '9223372036854775808', expected: 'error' },
    { input: '', expected: 'error' },
    { input: '-', expected: 'error' },
    { input: '1.5', expected: 'error' },
    { input: '1e3', expected: 'error' },
    { input: '12345678901234567x', expected: 'error' },
  ];
  it.each(cases)('$input', ({ input, expected }) => {
    expect(parseInt64(input)).toEqual(expected);
  });
});

describe('formatOpenMetricsFloat', () => {
  const cases: { input: number; expected: string }[] = [
    { input: 1, expected: '1.0' },
    { input: 0, expected: '0.0' },
    { input: -1, expected: '-1.0' },
    { input: 0.005, expected: '0.005' },
    { input: 2.5, expected: '2.5' },
    { input: 100000, expected: '100000.0' },
    { input: 1e6, expected: '1e+06' },
    { input: 1234567, expected: '1.234567e+06' },
    { input: 0.0001, expected: '0.0001' },
    { input: 0.00001, expected: '1e-05' },
    { input: 2.5e-7, expected: '2.5e-07' },
    { input: 1e21, expected: '1e+21' },
    { input: 1.5e300, expected: '1.5e+300' },
    { input: NaN, expected: 'NaN' },
    { input: Infinity, expected: '+Inf' },
    { input: -Infinity, expected: '-Inf' },
  ];
  it.each(cases)('$input -> $expected', ({ input, expected }) => {
    expect(formatOpenMetricsFloat(input)).toBe(expected);
  });
});
