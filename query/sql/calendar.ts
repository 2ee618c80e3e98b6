import { letIn } from './array-numerics.ts';

/**
 * PromQL's date functions (minute(), hour(), day_of_week(), ...) as ClickHouse expressions of a
 * Unix time in seconds. ClickHouse's own date types stop at 1900..2299, while PromQL reads any
 * value as a date, so the civil date is computed arithmetically: days since the epoch -> (year,
 * month, day) on the proleptic Gregorian calendar with 400-year eras, all in UTC. As the engine's
 * kernels (query/promql/engine/kernels/instant-kernels.ts): fractions truncate toward zero; NaN,
 * ±Inf and |t| > 8.64e12 s give NaN.
 */

export const DATE_FUNCTIONS = new Set(['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year']);

const MAX_DATE_SECONDS = '8.64e12';

/** floor(a / b) for integers well inside 2^53 (the quotient's rounding cannot cross an integer there). */
function floorDiv(a: string, b: string): string {
  return `floor(${a} / ${b})`;
}

/** `fn` of the time `seconds` (a Float64 SQL expression). */
export function calendarSql(fn: string, seconds: string): string {
  // _cs: whole seconds; _cd: days since 1970-01-01; _sod: seconds into that day.
  const days = floorDiv('_cs', '86400');
  const body = (): string => {
    switch (fn) {
      case 'hour':
        return floorDiv('(_cs - _cd * 86400)', '3600');
      case 'minute':
        return floorDiv('((_cs - _cd * 86400) % 3600)', '60');
      case 'day_of_week':
        // 1970-01-01 was a Thursday (4); Sunday is 0.
        return `(_cd + 4) - 7 * ${floorDiv('(_cd + 4)', '7')}`;
      default:
        return letIn(civil('_cd'), '_ymd', dateField(fn));
    }
  };
  const fields = letIn(days, '_cd', body());
  return `if(NOT (abs(${seconds}) <= ${MAX_DATE_SECONDS}), nan, toFloat64(${letIn(`trunc(${seconds})`, '_cs', fields)}))`;
}

/** (year, month 1..12, day 1..31) of day number `d` (days since the epoch): era-based civil-from-days. */
function civil(d: string): string {
  const z = `(${d} + 719468)`;
  const era = floorDiv(z, '146097');
  const doe = `(${z} - _era * 146097)`; // day of era, 0..146096
  const yoe = `${floorDiv(`(_doe - ${floorDiv('_doe', '1460')} + ${floorDiv('_doe', '36524')} - ${floorDiv('_doe', '146096')})`, '365')}`;
  const doy = `(_doe - (365 * _yoe + ${floorDiv('_yoe', '4')} - ${floorDiv('_yoe', '100')}))`; // day of the March-based year
  const mp = floorDiv(`(5 * _doy + 2)`, '153');
  const day = `(_doy - ${floorDiv(`(153 * _mp + 2)`, '5')} + 1)`;
  const month = `if(_mp < 10, _mp + 3, _mp - 9)`;
  const inner = letIn(mp, '_mp', `(_yoe + _era * 400 + if(${month} <= 2, 1, 0), ${month}, ${day})`);
  return letIn(era, '_era', letIn(doe, '_doe', letIn(yoe, '_yoe', letIn(doy, '_doy', inner))));
}

function dateField(fn: string): string {
  const leap = `((_ymd.1 % 4 = 0 AND _ymd.1 % 100 != 0) OR _ymd.1 % 400 = 0)`;
  const daysIn = `[31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][toUInt8(_ymd.2)]`;
  switch (fn) {
    case 'year':
      return '_ymd.1';
    case 'month':
      return '_ymd.2';
    case 'day_of_month':
      return '_ymd.3';
    case 'days_in_month':
      return `${daysIn} + if(_ymd.2 = 2 AND ${leap}, 1, 0)`;
    case 'day_of_year':
      return `arraySum(arraySlice([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30], 1, toUInt8(_ymd.2))) + if(_ymd.2 > 2 AND ${leap}, 1, 0) + _ymd.3`;
  }
  throw new Error(`bug: calendarSql(${fn})`);
}
