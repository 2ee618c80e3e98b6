import { formatOpenMetricsFloat } from '../../../model/exposition/parse-float.ts';
import { getLabel, metricName, type Labels } from '../../../model/labels.ts';
import type { Call, Expr } from '../ast.ts';
import { badBucketLabelWarning, forcedMonotonicityInfo, invalidQuantileWarning } from './annotations.ts';
import type { Evaluator } from './evaluator.ts';
import { bucketFraction, bucketQuantile, type ClassicBucket } from './kernels/histogram-kernels.ts';
import { isValidUtf8LabelName } from './labels-functions.ts';
import { QueryError } from './types.ts';
import { dropLabels, setLabel, signature, type StepVector } from './values.ts';
import type { EvalMatrix } from './values.ts';

/**
 * `histogram_quantile`, `histogram_quantiles` and `histogram_fraction` over classic histograms: at each step the
 * `_bucket` samples are grouped by all their labels except `le` (the name included, dropped
 * later), `le` is parsed as the bucket's upper bound, and each group goes to the kernel. A sample
 * whose `le` is missing or not a number is left out with a warning.
 */

const LE = 'le';

interface BucketGroup {
  readonly labels: Labels;
  readonly buckets: ClassicBucket[];
}

function groupBuckets(ev: Evaluator, vec: StepVector): Map<string, BucketGroup> {
  const groups = new Map<string, BucketGroup>();
  for (let i = 0; i < vec.length; i++) {
    const labels = vec.labels[i];
    const le = getLabel(labels, LE);
    const upperBound = parseGoFloat(le);
    if (upperBound === null) {
      ev.ctx.annotations.warn(badBucketLabelWarning(metricName(labels), le));
      continue;
    }
    const key = signature(labels, [LE], false);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { labels: dropLabels(labels, [LE]), buckets: [] }));
    g.buckets.push({ upperBound, count: vec.values[i] });
  }
  return groups;
}

export function evalHistogramQuantile(ev: Evaluator, _e: Call, args: readonly Expr[]): EvalMatrix {
  return ev.rangeEval(args, (inputs, _ts, out) => {
    if (inputs[0].length === 0) return;
    const q = inputs[0].values[0];
    if (Number.isNaN(q) || q < 0 || q > 1) ev.ctx.annotations.warn(invalidQuantileWarning(q));
    for (const g of groupBuckets(ev, inputs[1]).values()) {
      const r = bucketQuantile(q, g.buckets);
      if (r.forcedMonotonic) ev.ctx.annotations.info(forcedMonotonicityInfo(metricName(g.labels)));
      out.push(g.labels, r.value, true);
    }
  });
}

/**
 * `histogram_quantiles(v, "label", q1, q2, ...)`: several quantiles of each histogram in one call,
 * one output series per quantile, told apart by `label` set to the quantile as Prometheus formats
 * bucket bounds (`0.0`, `0.25`, `1.0`). A label that already exists is overwritten, which can make
 * two outputs collide; that fails the query as any duplicate label set does.
 */
export function evalHistogramQuantiles(ev: Evaluator, _e: Call, args: readonly Expr[]): EvalMatrix {
  const labelArg = args[1];
  if (labelArg.kind !== 'StringLiteral') throw new QueryError('execution', 'histogram_quantiles needs a string label name');
  const label = labelArg.value;
  if (!isValidUtf8LabelName(label)) throw new QueryError('execution', `invalid label name ${JSON.stringify(label)}`);
  const quantileArgs = args.length - 2;
  const names: string[] = new Array<string>(quantileArgs);
  return ev.rangeEval(args, (inputs, _ts, out) => {
    const qs: number[] = [];
    for (let i = 0; i < quantileArgs; i++) {
      const q = inputs[2 + i].values[0];
      if (Number.isNaN(q) || q < 0 || q > 1) ev.ctx.annotations.warn(invalidQuantileWarning(q));
      qs.push(q);
      names[i] = formatOpenMetricsFloat(q);
    }
    if (inputs[0].length === 0) return;
    for (const g of groupBuckets(ev, inputs[0]).values()) {
      let forced = false;
      for (let i = 0; i < qs.length; i++) {
        const r = bucketQuantile(qs[i], g.buckets);
        forced ||= r.forcedMonotonic;
        out.push(setLabel(g.labels, label, names[i]), r.value, true);
      }
      if (forced) ev.ctx.annotations.info(forcedMonotonicityInfo(metricName(g.labels)));
    }
  });
}

export function evalHistogramFraction(ev: Evaluator, _e: Call, args: readonly Expr[]): EvalMatrix {
  return ev.rangeEval(args, (inputs, _ts, out) => {
    if (inputs[0].length === 0 || inputs[1].length === 0) return;
    const lower = inputs[0].values[0];
    const upper = inputs[1].values[0];
    for (const g of groupBuckets(ev, inputs[2]).values()) out.push(g.labels, bucketFraction(lower, upper, g.buckets), true);
  });
}

const DECIMAL = /^[+-]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?$/;

/** Go's strconv.ParseFloat on a label value: decimal floats, Inf/Infinity/NaN in any case; null when it fails. */
export function parseGoFloat(s: string): number | null {
  const lower = s.toLowerCase();
  if (lower === 'nan') return NaN;
  if (/^[+]?inf(inity)?$/.test(lower)) return Infinity;
  if (/^-inf(inity)?$/.test(lower)) return -Infinity;
  if (!DECIMAL.test(s) || s.includes('_')) return null;
  return Number(s);
}
