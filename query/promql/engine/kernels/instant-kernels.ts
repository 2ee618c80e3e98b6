/**
 * The elementwise float functions of PromQL (`abs(v)`, `round(v, 0.5)`, `hour(v)`, ...): one value
 * in, one value out, extra scalar arguments in `args`. Histogram samples are the evaluator's
 * concern (these functions drop them).
 */
export type InstantKernel = (v: number, args: readonly number[]) => number;

// ln 2 / ln 10 and 1 / ln 2, each rounded once from the exact value (not divided at run time).
const LOG10_2 = 0.30102999566398119521;
const LOG2_E = 1.4426950408889634074;
const LN2 = Math.LN2;

// frexp's exponent, written by frexpFraction (module state keeps log2 allocation-free).
let frexpExp = 0;

/** The fraction in [0.5, 1) of a finite non-zero x = frac * 2^exp; the exponent goes to frexpExp. */
function frexpFraction(x: number): number {
  let exp = 0;
  let a = Math.abs(x);
  if (a < 2.2250738585072014e-308) {
    // Subnormal: scale into the normal range first.
    a *= 2 ** 52;
    exp -= 52;
  }
  const e = Math.floor(Math.log2(a));
  let frac = a / 2 ** e;
  exp += e;
  // Correct a Math.log2 rounding at the boundary so frac lands in [1, 2).
  if (frac >= 2) {
    frac /= 2;
    exp += 1;
  } else if (frac < 1) {
    frac *= 2;
    exp -= 1;
  }
  frexpExp = exp + 1;
  return (x < 0 ? -frac : frac) / 2;
}

/**
 * log2 as PromQL computes it: exact for powers of two, otherwise `ln(frac) / ln 2 + exp` from the
 * value's binary fraction and exponent. (A correctly rounded log2 can differ in the last bit.)
 */
function log2(x: number): number {
  if (!(x > 0) || x === Infinity) return Math.log(x) / LN2; // NaN, 0 → -Inf, negative → NaN, +Inf
  const frac = frexpFraction(x);
  if (frac === 0.5) return frexpExp - 1;
  return Math.log(frac) * LOG2_E + frexpExp;
}

/** log10 as PromQL computes it: log2(x) * (ln 2 / ln 10), which can differ from a correctly rounded log10 in the last bit. */
function log10(x: number): number {
  return log2(x) * LOG10_2;
}

/** `round(v, toNearest = 1)`: ties round up (towards +Inf), via the inverse of toNearest. */
function round(v: number, args: readonly number[]): number {
  const toNearest = args.length > 0 ? args[0] : 1;
  const inverse = 1 / toNearest;
  return Math.floor(v * inverse + 0.5) / inverse;
}

/**
 * `clamp(v, min, max)`: max(min, min(max, v)); a NaN value or bound yields NaN. When max < min the
 * function outputs nothing at all: check `clampHasOutput` first.
 */
function clamp(v: number, args: readonly number[]): number {
  return Math.max(args[0], Math.min(args[1], v));
}

/** Whether `clamp(v, min, max)` outputs any sample: not when max < min (NaN bounds do output NaN). */
export function clampHasOutput(min: number, max: number): boolean {
  return !(max < min);
}

/** `sgn`: -1, 1, or the value itself for ±0 and NaN. */
function sgn(v: number): number {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;
}

// Calendar functions. The value is a Unix time in seconds; fractions are truncated towards zero
// (so -0.5 is 1970-01-01T00:00:00 and -1.5 is 1969-12-31T23:59:59), and the date is read in UTC on
// the proleptic Gregorian calendar. NaN, ±Inf and times outside ±8.64e12 s (±273,790 years) give
// NaN: PromQL's answer there depends on how the platform converts such floats to an int64 (a
// wrapped, meaningless date), so no value would be "the" right one.
const MAX_DATE_SECONDS = 8.64e12;
const scratchDate = new Date(0);

function dateOf(v: number): Date | undefined {
  if (!(Math.abs(v) <= MAX_DATE_SECONDS)) return undefined;
  scratchDate.setTime(Math.trunc(v) * 1000);
  return scratchDate;
}

const dayOfMonth: InstantKernel = (v) => dateOf(v)?.getUTCDate() ?? NaN;
/** Sunday is 0. */
const dayOfWeek: InstantKernel = (v) => dateOf(v)?.getUTCDay() ?? NaN;
const dayOfYear: InstantKernel = (v) => {
  const d = dateOf(v);
  if (d === undefined) return NaN;
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const day = d.getUTCDate();
  return daysBeforeMonth(y, m) + day;
};
const daysInMonth: InstantKernel = (v) => {
  const d = dateOf(v);
  if (d === undefined) return NaN;
  const m = d.getUTCMonth();
  if (m === 1) return isLeapYear(d.getUTCFullYear()) ? 29 : 28;
  return MONTH_DAYS[m];
};
const hour: InstantKernel = (v) => dateOf(v)?.getUTCHours() ?? NaN;
const minute: InstantKernel = (v) => dateOf(v)?.getUTCMinutes() ?? NaN;
/** January is 1. */
const month: InstantKernel = (v) => {
  const d = dateOf(v);
  return d === undefined ? NaN : d.getUTCMonth() + 1;
};
/** Astronomical year numbering: the year before 1 is 0. */
const year: InstantKernel = (v) => dateOf(v)?.getUTCFullYear() ?? NaN;

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function daysBeforeMonth(y: number, m: number): number {
  let days = 0;
  for (let i = 0; i < m; i++) days += MONTH_DAYS[i];
  if (m > 1 && isLeapYear(y)) days += 1;
  return days;
}

/** Every elementwise float function by its PromQL name. */
export const INSTANT_KERNELS: ReadonlyMap<string, InstantKernel> = new Map<string, InstantKernel>([
  ['abs', Math.abs],
  ['ceil', Math.ceil],
  ['floor', Math.floor],
  ['exp', Math.exp],
  ['sqrt', Math.sqrt],
  ['ln', Math.log],
  ['log2', log2],
  ['log10', log10],
  ['round', round],
  ['clamp', clamp],
  ['clamp_min', (v, args) => Math.max(args[0], Math.min(Infinity, v))],
  ['clamp_max', (v, args) => Math.max(-Infinity, Math.min(args[0], v))],
  ['sgn', sgn],
  ['sin', Math.sin],
  ['cos', Math.cos],
  ['tan', Math.tan],
  ['asin', Math.asin],
  ['acos', Math.acos],
  ['atan', Math.atan],
  ['sinh', Math.sinh],
  ['cosh', Math.cosh],
  ['tanh', Math.tanh],
  ['asinh', Math.asinh],
  ['acosh', Math.acosh],
  ['atanh', Math.atanh],
  ['deg', (v) => (v * 180) / Math.PI],
  ['rad', (v) => (v * Math.PI) / 180],
  ['day_of_month', dayOfMonth],
  ['day_of_week', dayOfWeek],
  ['day_of_year', dayOfYear],
  ['days_in_month', daysInMonth],
  ['hour', hour],
  ['minute', minute],
  ['month', month],
  ['year', year],
]);
