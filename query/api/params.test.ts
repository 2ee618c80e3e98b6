import { describe, expect, it } from 'vitest';
import { unescapeLabelName } from './label-name.ts';
import {
  MAX_TIME_MS,
  MIN_TIME_MS,
  goQuote,
  limitParam,
  parseDurationParam,
  parseTime,
  rangeParams,
  timeParam,
} from './params.ts';
import { ApiError } from './responses.ts';

describe('parseTime', () => {
  const ok: Array<[string, number]> = [
    ['0', 0],
    ['1435781451', 1435781451000],
    ['1435781451.781', 1435781451781],
    ['1435781451.7815', 1435781451782],
    ['1435781451.7814', 1435781451781],
    ['-1.5', -1500],
    ['1e3', 1_000_000],
    ['.5', 500],
    ['+12', 12_000],
    ['2015-07-01T20:10:51.781Z', 1435781451781],
    ['2015-07-01T20:10:51Z', 1435781451000],
    ['2015-07-01T20:10:51.781999999Z', 1435781451781],
    ['2015-07-01T20:10:51.7Z', 1435781451700],
    ['2015-07-01T22:10:51.781+02:00', 1435781451781],
    ['2015-07-01T18:40:51,781-01:30', 1435781451781],
    ['1970-01-01T00:00:00Z', 0],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['-292273086-05-16T16:47:06Z', MIN_TIME_MS],
    ['292277026596-12-04T15:30:07.999999999Z', MAX_TIME_MS],
  ];
  it.each(ok)('%s -> %d', (text, ms) => expect(parseTime(text)).toBe(ms));

  const bad = ['', 'x', 'now', '1h', '2015-07-01', '2015-07-01 20:10:51Z', '2015-13-01T00:00:00Z', '2023-02-29T00:00:00Z', '2015-07-01T24:00:00Z', '2015-07-01T20:10:51', 'NaN', 'Inf', '0x10', '1_000'];
  it.each(bad)('%j is refused with Prometheus\'s message', (text) => {
    expect(() => parseTime(text)).toThrow(`cannot parse ${goQuote(text)} to a valid timestamp`);
  });
});

describe('parseDurationParam', () => {
  const ok: Array<[string, number]> = [
    ['15', 15_000],
    ['0.5', 500],
    ['1.0005', 1000.5],
    ['15s', 15_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1y', 31_536_000_000],
    ['500ms', 500],
    ['0', 0],
    ['-5', -5000],
  ];
  it.each(ok)('%s -> %d ms', (text, ms) => expect(parseDurationParam(text)).toBe(ms));

  it.each(['', 'x', '1.5h', '1s1m', '5 m', '-1m'])('%j is refused', (text) => {
    expect(() => parseDurationParam(text)).toThrow(`cannot parse ${goQuote(text)} to a valid duration`);
  });
  it('refuses an overflowing float', () => {
    expect(() => parseDurationParam('1e19')).toThrow('cannot parse "1e19" to a valid duration. It overflows int64');
  });
});

/** The error a parameter function throws, as the API would put it in the body. */
function errorOf(fn: () => unknown): { type: string; message: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return { type: (error as ApiError).errorType, message: (error as ApiError).message };
  }
  throw new Error('expected an error');
}

describe('parameter errors, in Prometheus words', () => {
  const cases: Array<[string, () => unknown, string]> = [
    ['start', () => rangeParams('x', '1', '1'), 'invalid parameter "start": cannot parse "x" to a valid timestamp'],
    ['missing start', () => rangeParams('', '1', '1'), 'invalid parameter "start": cannot parse "" to a valid timestamp'],
    ['end', () => rangeParams('1', 'y', '1'), 'invalid parameter "end": cannot parse "y" to a valid timestamp'],
    ['end before start', () => rangeParams('10', '5', '1'), 'invalid parameter "end": end timestamp must not be before start time'],
    ['missing step', () => rangeParams('1', '2', ''), 'invalid parameter "step": cannot parse "" to a valid duration'],
    ['bad step', () => rangeParams('1', '2', 'abc'), 'invalid parameter "step": cannot parse "abc" to a valid duration'],
    [
      'zero step',
      () => rangeParams('1', '2', '0'),
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    ],
    [
      'negative step',
      () => rangeParams('1', '2', '-1'),
      'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer',
    ],
    [
      'too many points',
      () => rangeParams('0', '11001', '1'),
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    ],
    ['time', () => timeParam('time', 'x', 0), `invalid parameter "time": Invalid time value for 'time': cannot parse "x" to a valid timestamp`],
    ['limit syntax', () => limitParam('limit', 'x'), 'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax'],
    ['limit range', () => limitParam('limit', '99999999999999999999'), 'invalid parameter "limit": strconv.Atoi: parsing "99999999999999999999": value out of range'],
    ['negative limit', () => limitParam('limit', '-1'), 'invalid parameter "limit": limit must be non-negative'],
  ];
  it.each(cases)('%s', (_name, fn, message) => expect(errorOf(fn)).toEqual({ type: 'bad_data', message }));

  it('accepts exactly 11,000 points', () => {
    expect(rangeParams('0', '11000', '1')).toEqual({ startMs: 0, endMs: 11_000_000, stepMs: 1000 });
  });
  it('defaults an absent optional time', () => {
    expect(timeParam('start', '', MIN_TIME_MS)).toBe(MIN_TIME_MS);
  });
  it('limit: absent is 0 (no limit)', () => {
    expect(limitParam('limit', '')).toBe(0);
    expect(limitParam('limit', '+7')).toBe(7);
  });
});

describe('unescapeLabelName (U__ values escaping)', () => {
  const cases: Array<[string, string]> = [
    ['job', 'job'],
    ['U__http_2e_status', 'http.status'],
    ['U__a__b', 'a_b'],
    ['U__caf_e9_', 'café'],
    ['U___1f600_', '\u{1f600}'],
    ['U__smile_1F600_x', 'smile\u{1f600}x'],
    // Not decodable: taken literally.
    ['U__bad_zz_', 'U__bad_zz_'],
    ['U__open_2e', 'U__open_2e'],
    ['U__trailing_', 'U__trailing_'],
    ['U__surrogate_d800_', 'U__surrogate_d800_'],
    ['U__toolong_10ffff_', 'U__toolong_10ffff_'],
  ];
  it.each(cases)('%s -> %s', (escaped, name) => expect(unescapeLabelName(escaped)).toBe(name));
});
