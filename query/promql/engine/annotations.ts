/**
 * Query annotations, worded as Prometheus words them (util/annotations): warnings and infos,
 * each kept once. Prometheus appends the position in the query text when it renders them for
 * the HTTP API; the engine works on the AST only and leaves positions out.
 */
export class Annotations {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();

  warn(message: string): void {
    this.warnings.add(message);
  }

  info(message: string): void {
    this.infos.add(message);
  }
}

const WARNING = 'PromQL warning';
const INFO = 'PromQL info';

export function invalidQuantileWarning(q: number): string {
  return `${WARNING}: quantile value should be between 0 and 1, got ${formatG(q)}`;
}

export function invalidRatioWarning(r: number, to: number): string {
  return `${WARNING}: ratio value should be between -1 and 1, got ${formatG(r)}, capping to ${formatG(to)}`;
}

export const SORT_IN_RANGE_QUERY_WARNING = `${WARNING}: sort is ineffective for range queries since results are always ordered by labels`;

export function badBucketLabelWarning(metricName: string, le: string): string {
  return withMetricName(`${WARNING}: bucket label "le" is missing or has a malformed value of ${goQuote(le)}`, metricName);
}

export function possibleNonCounterInfo(metricName: string): string {
  return `${INFO}: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: ${goQuote(metricName)}`;
}

export function forcedMonotonicityInfo(metricName: string): string {
  return withMetricName(
    `${INFO}: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)`,
    metricName,
  );
}

function withMetricName(message: string, metricName: string): string {
  return metricName === '' ? message : `${message} for metric name ${goQuote(metricName)}`;
}

/** Go's %q for a string (printable ASCII kept; quotes, backslashes and controls escaped). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %g for a float64: shortest digits, exponent form below 1e-4 and from 1e6 (strconv "g", -1). */
export function formatG(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(v)));
  if (exp < -4 || exp >= 6) {
    const [mant, e] = v.toExponential().split('e');
    const n = Number(e);
    return `${mant}e${n < 0 ? '-' : '+'}${String(Math.abs(n)).padStart(2, '0')}`;
  }
  return String(v);
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): shortest digits, never an exponent. */
export function formatFloatPlain(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  const s = String(v);
  if (!s.includes('e')) return s;
  const negative = s.startsWith('-');
  const [mant, e] = (negative ? s.slice(1) : s).split('e');
  const exp = Number(e);
  const digits = mant.replace('.', '');
  const pointAt = (mant.indexOf('.') === -1 ? mant.length : mant.indexOf('.')) + exp;
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return (negative ? '-' : '') + out;
}
