import { getLabel, metricName, type Labels } from '../../../model/labels.ts';
import type { Call, Expr } from '../ast.ts';
import { badBucketLabelWarning, forcedMonotonicityInfo, invalidQuantileWarning } from './annotations.ts';
import type { Evaluator } from './evaluator.ts';
import { bucketFraction, bucketQuantile, type ClassicBucket } from './kernels/histogram-kernels.ts';
import { dropLabels, signature, type StepVector } from './values.ts';
import type { EvalMatrix } from './values.ts';

/**
 * `histogram_quantile` and `histogram_fraction` over classic histograms: at each step the
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
