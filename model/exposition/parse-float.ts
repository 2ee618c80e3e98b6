/**
 * Number parsing straight from payload bytes, for the text exposition parsers.
 *
 * Sample values follow Go's `strconv.ParseFloat` as Prometheus uses it: an optional sign, decimal
 * digits with an optional fraction and exponent, or the specials `NaN`, `Inf` and `Infinity`
 * (case-insensitive; only the infinities take a sign). Hex floats and `_` digit separators are
 * rejected, as Prometheus rejects them. A finite decimal that overflows float64 is an error (Go
 * reports `ErrRange`); one that underflows rounds to zero. Every NaN comes back as Prometheus's
 * "normal" NaN bit pattern (`NORMAL_NAN`, 0x7ff8000000000001), never as the stale marker.
 *
 * Results are correctly rounded, hence bit-identical to Go and to `Number()` on the same text:
 * - fast path: a mantissa below 2^53 and a power-of-ten exponent within ±22. Both operands are
 *   exact doubles, so the single IEEE multiply (or divide) is correctly rounded. This covers
 *   nearly every value exporters print (`0.000100168`, `3.7175e-05`, `25276502016`).
 * - slow path: the digits and the adjusted exponent are rebuilt as `<digits>e<exp>` and handed to
 *   `Number()`, which V8 rounds correctly. Only long mantissas and large exponents get here.
 *
 * Failure is reported through `numberStatus.ok` rather than a sentinel return value (NaN is a
 * legitimate value) or an exception (errors are ordinary input here, and these run per sample).
 */
import { NORMAL_NAN } from '../stale-nan.ts';

/** Set by every parse function in this module: false when the last call failed. */
export const numberStatus = { ok: true };

/** Exact powers of ten: every entry up to 1e22 is representable without rounding. */
const POW10 = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

/** Mantissas stay exact while below 2^53; stop accumulating before a `* 10 + 9` could pass it. */
const MANTISSA_LIMIT = 900719925474099; // floor((2^53 - 9) / 10)
/** Exponent digits beyond this cannot change the outcome (it is already ±Infinity or 0). */
const EXPONENT_CLAMP = 100_000;

const CH_PLUS = 0x2b;
const CH_MINUS = 0x2d;
const CH_DOT = 0x2e;
const CH_0 = 0x30;

/**
 * Parses `buf[start, end)` as a float64 and multiplies it by `10^scale` as part of the same
 * correctly rounded conversion (OpenMetrics seconds -> milliseconds passes `scale = 3`, so
 * `1700000000.123` becomes exactly 1700000000123 rather than the product of two roundings).
 */
export function parseFloatBytes(buf: Uint8Array, start: number, end: number, scale = 0): number {
  numberStatus.ok = true;
  let i = start;
  if (i >= end) return fail();
  let negative = false;
  let c = buf[i];
  if (c === CH_PLUS || c === CH_MINUS) {
    negative = c === CH_MINUS;
    if (++i >= end) return fail();
    c = buf[i];
  }
  // Specials start with a letter no decimal can start with; one test keeps them off the digit loop.
  if (c > 0x39) return parseSpecial(buf, start, i, end, negative);

  // Digits accumulate in a double while it is exact; `exp10` tracks the decimal point.
  let mantissa = 0;
  let exp10 = 0;
  let digits = 0;
  let exact = true;
  for (; i < end; i++) {
    const d = buf[i] - CH_0;
    if (d < 0 || d > 9) break;
    digits++;
    if (mantissa < MANTISSA_LIMIT) mantissa = mantissa * 10 + d;
    else exact = false;
  }
  if (i < end && buf[i] === CH_DOT) {
    for (i++; i < end; i++) {
      const d = buf[i] - CH_0;
      if (d < 0 || d > 9) break;
      digits++;
      if (mantissa < MANTISSA_LIMIT) {
        mantissa = mantissa * 10 + d;
        exp10--;
      } else exact = false;
    }
  }
  if (digits === 0) return fail();
  if (i < end) {
    c = buf[i] | 0x20;
    if (c !== 0x65) return fail(); // 'e' or 'E'
    if (++i >= end) return fail();
    let expNegative = false;
    c = buf[i];
    if (c === CH_PLUS || c === CH_MINUS) {
      expNegative = c === CH_MINUS;
      if (++i >= end) return fail();
    }
    let e = 0;
    for (; i < end; i++) {
      const d = buf[i] - CH_0;
      if (d < 0 || d > 9) return fail();
      if (e < EXPONENT_CLAMP) e = e * 10 + d;
    }
    exp10 += expNegative ? -e : e;
  }
  if (!exact) return slowDecimal(buf, start, end, scale);
  if (mantissa === 0) return negative ? -0 : 0;
  exp10 += scale;
  let value: number;
  if (exp10 === 0) value = mantissa;
  else if (exp10 > 0 && exp10 <= 22) value = mantissa * POW10[exp10];
  else if (exp10 < 0 && exp10 >= -22) value = mantissa / POW10[-exp10];
  else return slowDecimal(buf, start, end, scale);
  return negative ? -value : value;
}

function fail(): number {
  numberStatus.ok = false;
  return 0;
}

/** `inf`, `infinity` (optionally signed) and `nan` (unsigned), any letter case. */
function parseSpecial(buf: Uint8Array, start: number, i: number, end: number, negative: boolean): number {
  const n = end - i;
  if (n === 3 && matchesLower(buf, i, 'nan') && i === start) return NORMAL_NAN;
  if ((n === 3 && matchesLower(buf, i, 'inf')) || (n === 8 && matchesLower(buf, i, 'infinity'))) {
    return negative ? -Infinity : Infinity;
  }
  return fail();
}

function matchesLower(buf: Uint8Array, i: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if ((buf[i + k] | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

/**
 * The rare slow path: `buf[start, end)` is already known to be a well-formed decimal. Rebuilds it
 * as `[-]<digits>e<exponent + scale>` so the scale needs no second rounding, then lets V8 convert.
 */
function slowDecimal(buf: Uint8Array, start: number, end: number, scale: number): number {
  let sign = '';
  let digits = '';
  let exp10 = scale;
  let i = start;
  if (buf[i] === CH_PLUS || buf[i] === CH_MINUS) sign = buf[i++] === CH_MINUS ? '-' : '';
  let afterDot = false;
  for (; i < end; i++) {
    const c = buf[i];
    if (c === CH_DOT) afterDot = true;
    else if ((c | 0x20) === 0x65) break;
    else {
      digits += String.fromCharCode(c);
      if (afterDot) exp10--;
    }
  }
  if (i < end) {
    const e = Number(latin1(buf, i + 1, end));
    exp10 += Math.max(-EXPONENT_CLAMP, Math.min(EXPONENT_CLAMP, e));
  }
  const value = Number(`${sign}${digits}e${exp10}`);
  // A finite decimal never means infinity: Go reports ErrRange and Prometheus drops the line.
  if (value === Infinity || value === -Infinity) return fail();
  return value;
}

/** `Number()` accepts `+5`, so the exponent text can be passed through as is. */
function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * Parses `buf[start, end)` as a base-10 int64 with an optional sign (Go's `strconv.ParseInt(s,
 * 10, 64)`), e.g. a Prometheus text timestamp in milliseconds. Values beyond 2^53 are rounded to
 * the nearest double after the int64 range check.
 */
export function parseInt64Bytes(buf: Uint8Array, start: number, end: number): number {
  numberStatus.ok = true;
  let i = start;
  let negative = false;
  if (i < end && (buf[i] === CH_PLUS || buf[i] === CH_MINUS)) negative = buf[i++] === CH_MINUS;
  if (i >= end) return fail();
  // Up to 15 digits cannot leave the exact range of a double; longer ones go through BigInt.
  if (end - i > 15) return slowInt64(buf, start, i, end);
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - CH_0;
    if (d < 0 || d > 9) return fail();
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

function slowInt64(buf: Uint8Array, start: number, digitsStart: number, end: number): number {
  for (let i = digitsStart; i < end; i++) {
    const d = buf[i] - CH_0;
    if (d < 0 || d > 9) return fail();
  }
  const big = BigInt(latin1(buf, start, end));
  if (big > INT64_MAX || big < INT64_MIN) return fail();
  return Number(big);
}

/**
 * Formats a float the way Prometheus 3 normalises `le` and `quantile` label values of classic
 * histograms and summaries: Go's shortest `%g` (`1e+06`, `0.005`, `1.234567e+06`), with `.0`
 * appended when that has neither a point nor an exponent (`1` -> `1.0`), and `NaN`, `+Inf`, `-Inf`.
 */
export function formatOpenMetricsFloat(f: number): string {
  if (f !== f) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return '0.0';
  const s = formatGoShortestG(f);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_DOT || c === 0x65) return s;
  }
  return `${s}.0`;
}

/** Go's `strconv.FormatFloat(f, 'g', -1, 64)` for finite non-zero `f`. */
function formatGoShortestG(f: number): string {
  const sign = f < 0 ? '-' : '';
  // toExponential() without an argument yields the shortest digits that round-trip, as Go does.
  const e = Math.abs(f).toExponential();
  const ePos = e.indexOf('e');
  const digits = e.slice(0, ePos).replace('.', '');
  const exp = Number(e.slice(ePos + 1));
  // Shortest %g switches to exponent form below 1e-4 and from 1e6 up.
  if (exp < -4 || exp >= 6) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const absExp = Math.abs(exp);
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${absExp < 10 ? '0' : ''}${absExp}`;
  }
  const point = exp + 1;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
