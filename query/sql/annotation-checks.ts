import { badBucketLabelWarning, forcedMonotonicityInfo, formatG, possibleNonCounterInfo, invalidQuantileWarning, invalidRatioWarning } from '../promql/engine/annotations.ts';

/**
 * Annotations and parameter errors of a translated query. The main statement returns samples
 * only, so what PromQL reports beside them (a quantile φ outside [0, 1], a limit_ratio ratio
 * outside [-1, 1], a topk k that is NaN or overflows int64) is computed by small statements of its
 * own that the executor runs first: each returns the values the engine would inspect, as IEEE
 * bits, and `judge` turns them into the engine's exact errors and warnings. A literal parameter
 * needs no statement; its value travels here directly.
 */

export type CheckKind =
  /** topk / bottomk / limitk: the k of every step. */
  | 'k'
  /** limit_ratio: the ratio of every step. */
  | 'ratio'
  /** quantile (aggregation): φ of every step. */
  | 'quantile'
  /** quantile_over_time: φ at each (series, step) whose window holds samples. */
  | 'quantile_over_time'
  /** histogram_quantile: φ of every step (a warning per value outside [0, 1], as the engine warns at each step). */
  | 'histogram_quantile'
  /** histogram_quantile: rows `t` = [metric name, le] of the bucket samples whose `le` is missing or malformed. */
  | 'bucket_label'
  /** histogram_quantile: rows `t` = [metric name] of the histograms whose counts had to be made monotonic. */
  | 'monotonicity'
  /** rate / increase: rows `t` = [metric name] of the series with a value whose name does not end in _total/_sum/_count/_bucket. */
  | 'non_counter'
  /**
   * The engine's error `message` when there are values: with `sql`, when the statement returns rows
   * (double_exponential_smoothing's bad factors fail only where a window holds samples); without,
   * a literal `values: [0]` (count_values with an invalid label name fails always).
   */
  | 'error';

export interface AnnotationCheck {
  readonly kind: CheckKind;
  /** A SELECT of rows `b` (a Float64's bits as a decimal string), or of rows `t` (Array(String)) for the kinds that returnsTexts names; or null with `values`. */
  readonly sql: string | null;
  readonly values: readonly number[];
  /** For kind 'error'. */
  readonly message?: string;
}

export interface Judgement {
  readonly warnings: readonly string[];
  readonly infos: readonly string[];
  /** The query error the engine raises for these values (a message), or null. */
  readonly error: string | null;
}

const INT64_MIN = -9223372036854775808;
const INT64_MAX = 9223372036854775807;

/** Whether a check's statement returns rows `t` (strings) rather than `b` (float bits). */
export function returnsTexts(kind: CheckKind): boolean {
  return kind === 'bucket_label' || kind === 'monotonicity' || kind === 'non_counter';
}

/**
 * The engine's verdict on the parameter values `values` (aggregations.ts evalAggregate,
 * functions-eval.ts), or on the rows `texts` of a check that returnsTexts (histogram.ts).
 */
export function judge(kind: CheckKind, values: readonly number[], message = '', texts: readonly (readonly string[])[] = []): Judgement {
  const warnings: string[] = [];
  const infos: string[] = [];
  if (kind === 'error') return { warnings, infos, error: values.length > 0 ? message : null };
  if (kind === 'quantile_over_time' || kind === 'histogram_quantile') {
    for (const q of values) if (Number.isNaN(q) || q < 0 || q > 1) warnings.push(invalidQuantileWarning(q));
    return { warnings, infos, error: null };
  }
  if (kind === 'bucket_label') {
    for (const [name, le] of texts) warnings.push(badBucketLabelWarning(name, le));
    return { warnings, infos, error: null };
  }
  if (kind === 'monotonicity' || kind === 'non_counter') {
    for (const [name] of texts) infos.push(kind === 'monotonicity' ? forcedMonotonicityInfo(name) : possibleNonCounterInfo(name));
    return { warnings, infos, error: null };
  }
  let max = -Infinity;
  let min = Infinity;
  let nan = false;
  for (const p of values) {
    if (Number.isNaN(p)) nan = true;
    else {
      if (p > max) max = p;
      if (p < min) min = p;
    }
  }
  // As Go's math.Max / math.Min: one NaN makes both NaN.
  if (nan || values.length === 0) max = min = NaN;
  switch (kind) {
    case 'k':
      if (max < 1) return { warnings, infos, error: null };
      if (nan) return { warnings, infos, error: 'Parameter value is NaN' };
      if (min <= INT64_MIN) return { warnings, infos, error: `Scalar value ${formatG(min)} underflows int64` };
      if (max >= INT64_MAX) return { warnings, infos, error: `Scalar value ${formatG(max)} overflows int64` };
      return { warnings, infos, error: null };
    case 'ratio':
      if (max === 0 && min === 0) return { warnings, infos, error: null };
      if (nan) return { warnings, infos, error: 'Ratio value is NaN' };
      if (max > 1) warnings.push(invalidRatioWarning(max, 1));
      if (min < -1) warnings.push(invalidRatioWarning(min, -1));
      return { warnings, infos, error: null };
    case 'quantile':
      if (nan) warnings.push(invalidQuantileWarning(NaN));
      if (max > 1) warnings.push(invalidQuantileWarning(max));
      if (min < 0) warnings.push(invalidQuantileWarning(min));
      return { warnings, infos, error: null };
  }
}

/** Whether a literal parameter makes the engine say anything at all (no check needed otherwise). */
export function literalIsQuiet(kind: CheckKind, v: number): boolean {
  const j = judge(kind, [v]);
  return j.error === null && j.warnings.length === 0 && j.infos.length === 0;
}

/** A Float64's IEEE bits (as ClickHouse's reinterpretAsUInt64 gives them, in decimal) -> the number. */
export function bitsToFloat(bits: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(bits));
  return view.getFloat64(0);
}
