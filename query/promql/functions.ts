import type { ValueType } from './ast.ts';

/**
 * The PromQL function table: every function sluice's parser accepts, with the argument and return
 * types the parser checks calls against (Prometheus `promql/parser/functions.go`, 3.x).
 *
 * Aggregations (`sum`, `topk`, `limitk`, ...) are operators, not functions: see `AGGREGATE_OPS` in
 * ast.ts.
 */
export interface FunctionDef {
  readonly name: string;
  readonly argTypes: readonly ValueType[];
  /**
   * Prometheus's `Variadic`. 0: exactly `argTypes.length` arguments. n > 0: the last argument type
   * is optional and may repeat, so `argTypes.length - 1` to `argTypes.length - 1 + n` arguments.
   * -1: at least `argTypes.length - 1` arguments, any number of them of the last type.
   */
  readonly variadic: number;
  readonly returnType: ValueType;
  /** Behind Prometheus's `--enable-feature=promql-experimental-functions`. */
  readonly experimental?: boolean;
  /** Only meaningful over native histograms (sluice stores floats: these return nothing). */
  readonly nativeHistogram?: boolean;
}

const S: ValueType = 'scalar';
const V: ValueType = 'vector';
const M: ValueType = 'matrix';
const STR: ValueType = 'string';

type Flags = Pick<FunctionDef, 'experimental' | 'nativeHistogram'>;

function fn(name: string, argTypes: ValueType[], returnType: ValueType, variadic = 0, flags: Flags = {}): FunctionDef {
  return { name, argTypes, variadic, returnType, ...flags };
}

const EXPERIMENTAL: Flags = { experimental: true };
const NATIVE: Flags = { nativeHistogram: true };

/** `f(v instant-vector) instant-vector`: the element-wise math functions. */
const VECTOR_MATH = [
  'abs', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'ceil', 'cos', 'cosh', 'deg', 'exp',
  'floor', 'ln', 'log10', 'log2', 'rad', 'sgn', 'sin', 'sinh', 'sqrt', 'tan', 'tanh',
];

/** `f(v range-vector) instant-vector`: the range functions. */
const OVER_RANGE = [
  'absent_over_time', 'avg_over_time', 'changes', 'count_over_time', 'delta', 'deriv', 'idelta',
  'increase', 'irate', 'last_over_time', 'max_over_time', 'min_over_time', 'present_over_time',
  'rate', 'resets', 'stddev_over_time', 'stdvar_over_time', 'sum_over_time',
];

const EXPERIMENTAL_OVER_RANGE = [
  'first_over_time', 'mad_over_time', 'ts_of_first_over_time', 'ts_of_last_over_time',
  'ts_of_max_over_time', 'ts_of_min_over_time',
];

/** `f([v instant-vector = vector(time())]) instant-vector`: the calendar functions. */
const CALENDAR = ['day_of_month', 'day_of_week', 'day_of_year', 'days_in_month', 'hour', 'minute', 'month', 'year'];

const DEFS: FunctionDef[] = [
  ...VECTOR_MATH.map((name) => fn(name, [V], V)),
  ...OVER_RANGE.map((name) => fn(name, [M], V)),
  ...EXPERIMENTAL_OVER_RANGE.map((name) => fn(name, [M], V, 0, EXPERIMENTAL)),
  ...CALENDAR.map((name) => fn(name, [V], V, 1)),
  fn('absent', [V], V),
  fn('clamp', [V, S, S], V),
  fn('clamp_max', [V, S], V),
  fn('clamp_min', [V, S], V),
  fn('double_exponential_smoothing', [M, S, S], V, 0, EXPERIMENTAL),
  fn('histogram_quantile', [S, V], V),
  fn('histogram_fraction', [S, S, V], V),
  fn('histogram_avg', [V], V, 0, NATIVE),
  fn('histogram_count', [V], V, 0, NATIVE),
  fn('histogram_sum', [V], V, 0, NATIVE),
  fn('histogram_stddev', [V], V, 0, NATIVE),
  fn('histogram_stdvar', [V], V, 0, NATIVE),
  fn('histogram_quantiles', [V, STR, S, S], V, 9, EXPERIMENTAL),
  fn('info', [V, V], V, 1, EXPERIMENTAL),
  fn('integral', [M, S], V, 1, EXPERIMENTAL),
  fn('label_join', [V, STR, STR, STR], V, -1),
  fn('label_replace', [V, STR, STR, STR, STR], V),
  fn('pi', [], S),
  fn('min_of', [S, S], S, 0, EXPERIMENTAL),
  fn('max_of', [S, S], S, 0, EXPERIMENTAL),
  fn('predict_linear', [M, S], V),
  fn('quantile_over_time', [S, M], V),
  fn('round', [V, S], V, 1),
  fn('scalar', [V], S),
  fn('sort', [V], V),
  fn('sort_desc', [V], V),
  fn('sort_by_label', [V, STR], V, -1, EXPERIMENTAL),
  fn('sort_by_label_desc', [V, STR], V, -1, EXPERIMENTAL),
  fn('time', [], S),
  fn('timestamp', [V], V),
  fn('vector', [S], V),
  // The query's own parameters as scalars (Prometheus 3.x, experimental).
  fn('start', [], S, 0, EXPERIMENTAL),
  fn('end', [], S, 0, EXPERIMENTAL),
  fn('range', [], S, 0, EXPERIMENTAL),
  fn('step', [], S, 0, EXPERIMENTAL),
];

export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  [...DEFS].sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => [d.name, Object.freeze(d)]),
);

export function lookupFunction(name: string): FunctionDef | undefined {
  return FUNCTIONS.get(name);
}

/** The argument count bounds of a function: `max` is Infinity for `variadic: -1`. */
export function argCountRange(def: FunctionDef): { min: number; max: number } {
  const n = def.argTypes.length;
  if (def.variadic === 0) return { min: n, max: n };
  return { min: n - 1, max: def.variadic < 0 ? Infinity : n - 1 + def.variadic };
}

/** The expected type of argument `i` (trailing variadic arguments take the last type). */
export function argType(def: FunctionDef, i: number): ValueType | undefined {
  if (i < def.argTypes.length) return def.argTypes[i];
  return def.variadic === 0 ? undefined : def.argTypes[def.argTypes.length - 1];
}
