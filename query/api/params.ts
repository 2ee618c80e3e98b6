import { parseDuration as parsePromDuration } from '../../model/duration.ts';
import { ApiError } from './responses.ts';

/**
 * Request parameters of the HTTP API, parsed the way Prometheus's web/api/v1 parses them, with
 * its error messages (clients and people compare them): times as RFC 3339 or unix seconds,
 * durations as Prometheus durations or float seconds, limits as Go integers.
 *
 * Times are unix milliseconds; durations are milliseconds, possibly fractional (`0.0005` seconds
 * is half a millisecond, as Go's nanosecond durations would have it).
 */

/**
 * The default start and end of optional time ranges, as Prometheus's `MinTime` / `MaxTime`
 * (`-292273086-05-16T16:47:06Z`, `292277026596-12-04T15:30:07.999999999Z`) in unix ms.
 */
export const MIN_TIME_MS = -9223309901257974000;
export const MAX_TIME_MS = 9223309901257974999;
const MIN_TIME_FORMATTED = '-292273086-05-16T16:47:06Z';
const MAX_TIME_FORMATTED = '292277026596-12-04T15:30:07.999999999Z';

/** A decimal float as Go's strconv.ParseFloat accepts it (hex floats and Inf/NaN aside). */
const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** RFC 3339 with optional fractional seconds (any number of digits, `.` or `,`), `Z` or `±hh:mm`. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;

const NS_PER_MS = 1e6;
const MAX_INT64 = 9223372036854775807;

/** `time`, `start`, `end`: unix seconds with decimals (rounded to the millisecond) or RFC 3339. */
export function parseTime(text: string): number {
  if (DECIMAL_FLOAT.test(text)) {
    const t = Number(text);
    if (Number.isFinite(t)) {
      // As Go: whole seconds plus the fraction rounded to the millisecond, converted to whole
      // nanoseconds (truncated), then to milliseconds (floored, as timestamp.FromTime does).
      const whole = Math.trunc(t);
      const fraction = Math.round((t - whole) * 1000) / 1000;
      const nanos = Math.trunc(fraction * 1e9);
      return whole * 1000 + Math.floor(nanos / NS_PER_MS);
    }
  }
  const rfc = parseRfc3339(text);
  if (rfc !== undefined) return rfc;
  if (text === MIN_TIME_FORMATTED) return MIN_TIME_MS;
  if (text === MAX_TIME_FORMATTED) return MAX_TIME_MS;
  throw new Error(`cannot parse ${goQuote(text)} to a valid timestamp`);
}

function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMin = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Prometheus keeps nanoseconds and then truncates to the millisecond (timestamp.FromTime).
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const base = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0..99 to 1900..1999; set the year explicitly.
  const date = new Date(base);
  date.setUTCFullYear(year);
  return date.getTime() + ms - offsetMin * 60_000;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** `step`, `timeout`, `lookback_delta`: float seconds or a Prometheus duration (`1m30s`); ms. */
export function parseDurationParam(text: string): number {
  if (DECIMAL_FLOAT.test(text)) {
    const seconds = Number(text);
    const ns = seconds * 1e9;
    if (ns > MAX_INT64 || ns < -MAX_INT64 - 1) throw new Error(`cannot parse ${goQuote(text)} to a valid duration. It overflows int64`);
    // Go truncates to whole nanoseconds.
    return Math.trunc(ns) / NS_PER_MS;
  }
  const ms = parsePromDuration(text);
  if (ms !== undefined && ms * NS_PER_MS <= MAX_INT64) return ms;
  throw new Error(`cannot parse ${goQuote(text)} to a valid duration`);
}

/** `limit`: 0 (no limit) when absent; Go's strconv.Atoi messages otherwise. */
export function parseLimit(text: string): number {
  if (text === '') return 0;
  const n = parseGoInt(text);
  if (n < 0) throw new Error('limit must be non-negative');
  return n;
}

/** Go's strconv.Atoi: optional sign, decimal digits, within int64. */
export function parseGoInt(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new Error(`strconv.Atoi: parsing ${goQuote(text)}: invalid syntax`);
  const n = BigInt(text);
  if (n > 9223372036854775807n || n < -9223372036854775808n) {
    throw new Error(`strconv.Atoi: parsing ${goQuote(text)}: value out of range`);
  }
  return Number(n);
}

/** A `bad_data` error naming the parameter, as Prometheus's invalidParamError words it. */
export function invalidParam(name: string, cause: unknown): ApiError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ApiError('bad_data', `invalid parameter ${goQuote(name)}: ${message}`, { cause });
}

/** An optional time parameter: `fallback` when absent. */
export function timeParam(name: string, value: string, fallback: number): number {
  if (value === '') return fallback;
  try {
    return parseTime(value);
  } catch (error) {
    throw invalidParam(name, new Error(`Invalid time value for '${name}': ${(error as Error).message}`));
  }
}

/** A required time parameter (`start` and `end` of query_range). */
export function requiredTimeParam(name: string, value: string): number {
  try {
    return parseTime(value);
  } catch (error) {
    throw invalidParam(name, error);
  }
}

export function durationParam(name: string, value: string): number {
  try {
    return parseDurationParam(value);
  } catch (error) {
    throw invalidParam(name, error);
  }
}

export function limitParam(name: string, value: string): number {
  try {
    return parseLimit(value);
  } catch (error) {
    throw invalidParam(name, error);
  }
}

/** Points Prometheus allows per series of a range query. */
export const MAX_POINTS_PER_SERIES = 11_000;

export interface RangeParams {
  readonly startMs: number;
  readonly endMs: number;
  readonly stepMs: number;
}

/** `start`, `end`, `step` of query_range, checked in Prometheus's order and words. */
export function rangeParams(start: string, end: string, step: string): RangeParams {
  const startMs = requiredTimeParam('start', start);
  const endMs = requiredTimeParam('end', end);
  if (endMs < startMs) throw invalidParam('end', new Error('end timestamp must not be before start time'));
  const stepMs = durationParam('step', step);
  if (!(stepMs > 0)) {
    throw invalidParam('step', new Error('zero or negative query resolution step widths are not accepted. Try a positive integer'));
  }
  // For safety, limit the number of returned points per timeseries (Go divides durations as integers).
  if (Math.trunc((endMs - startMs) / stepMs) > MAX_POINTS_PER_SERIES) {
    throw new ApiError(
      'bad_data',
      'exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)',
    );
  }
  return { startMs, endMs, stepMs };
}

/** A string quoted as Go's %q quotes it (printable characters kept, escapes for the rest). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0xad) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
