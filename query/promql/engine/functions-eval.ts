import { METRIC_NAME, compareLabels, getLabel, metricName, type Labels } from '../../../model/labels.ts';
import type { LabelMatcher } from '../../../model/matchers.ts';
import type { Call, Expr } from '../ast.ts';
import { SORT_IN_RANGE_QUERY_WARNING, invalidQuantileWarning, possibleNonCounterInfo } from './annotations.ts';
import { bug, type Evaluator, type RangeSource } from './evaluator.ts';
import { evalHistogramFraction, evalHistogramQuantile, evalHistogramQuantiles } from './histogram.ts';
import { evalInfo } from './info.ts';
import { INSTANT_KERNELS, clampHasOutput } from './kernels/instant-kernels.ts';
import { RANGE_KERNELS, validateDoubleExponentialSmoothing, type RangeWindow } from './kernels/range-kernels.ts';
import { lookupFunction } from '../functions.ts';
import { evalLabelJoin, evalLabelReplace } from './labels-functions.ts';
import { naturalLess } from './natural-sort.ts';
import { unwrapParens } from './preprocess.ts';
import { upperBound } from './selectors.ts';
import { QueryError } from './types.ts';
import { checkExtendedModifier, extendedBounds, extendedRate } from './extended-range.ts';
import { EvalSeries, StepVector, type EvalMatrix } from './values.ts';

/**
 * Function calls. Functions over a range vector (a matrix selector or a subquery argument) run a
 * range kernel over each series' window at each step; the others run per step over their
 * arguments' instant vectors. Numeric work is in ./kernels; this file decides which samples go in,
 * which labels come out, and what the name does (most functions drop it, delayed).
 */

const DATE_FUNCTIONS = new Set(['days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year']);
/** Range functions that act like an offset and keep the metric name. */
const KEEP_NAME_RANGE = new Set(['last_over_time', 'first_over_time']);

export function evalCall(ev: Evaluator, e: Call): EvalMatrix {
  const name = e.func;
  const args = e.args.map(unwrapParens);

  switch (name) {
    case 'label_replace':
      return evalLabelReplace(ev, e);
    case 'label_join':
      return evalLabelJoin(ev, e);
    case 'timestamp': {
      const arg = args[0];
      if (arg.kind === 'VectorSelector') return ev.evalSelectorTimestamps(arg);
      return ev.rangeEval([arg], (inputs, ts, out) => {
        const v = inputs[0];
        for (let i = 0; i < v.length; i++) out.push(v.labels[i], ts / 1000, true);
      });
    }
  }

  const matrixIndex = args.findIndex((a) => a.kind === 'MatrixSelector' || a.kind === 'SubqueryExpr');
  if (matrixIndex >= 0) return evalRangeFunction(ev, e, args, matrixIndex);

  switch (name) {
    case 'time':
      return ev.rangeEval([], (_in, ts, out) => out.push([], ts / 1000, false));
    case 'pi':
      return ev.rangeEval([], (_in, _ts, out) => out.push([], Math.PI, false));
    // Math.min/max agree with Go's math.Min/Max: NaN wins, and min(-0, 0) is -0.
    case 'min_of':
      return ev.rangeEval(args, (inputs, _ts, out) => out.push([], Math.min(inputs[0].values[0], inputs[1].values[0]), false));
    case 'max_of':
      return ev.rangeEval(args, (inputs, _ts, out) => out.push([], Math.max(inputs[0].values[0], inputs[1].values[0]), false));
    case 'step': {
      const v = ev.ctx.times.stepMs / 1000;
      return ev.rangeEval([], (_in, _ts, out) => out.push([], v, false));
    }
    case 'range': {
      const v = (ev.ctx.times.endMs - ev.ctx.times.startMs) / 1000;
      return ev.rangeEval([], (_in, _ts, out) => out.push([], v, false));
    }
    case 'start': {
      const v = ev.ctx.times.startMs / 1000;
      return ev.rangeEval([], (_in, _ts, out) => out.push([], v, false));
    }
    case 'end': {
      const v = ev.ctx.times.endMs / 1000;
      return ev.rangeEval([], (_in, _ts, out) => out.push([], v, false));
    }
    case 'vector':
      return ev.rangeEval(args, (inputs, _ts, out) => out.push([], inputs[0].values[0], false));
    case 'scalar':
      return ev.rangeEval(args, (inputs, _ts, out) => out.push([], inputs[0].length === 1 ? inputs[0].values[0] : NaN, false));
    case 'absent': {
      const labels = absentLabels(args[0]);
      return ev.rangeEval(args, (inputs, _ts, out) => {
        if (inputs[0].length === 0) out.push(labels, 1, false);
      });
    }
    case 'sort':
      warnSortInRange(ev);
      return ev.rangeEval(args, (inputs, _ts, out) => sortByValue(inputs[0], out, false));
    case 'sort_desc':
      warnSortInRange(ev);
      return ev.rangeEval(args, (inputs, _ts, out) => sortByValue(inputs[0], out, true));
    case 'sort_by_label':
    case 'sort_by_label_desc': {
      warnSortInRange(ev);
      const names = args.slice(1).map(stringValue);
      const desc = name === 'sort_by_label_desc';
      return ev.rangeEval(args, (inputs, _ts, out) => sortByLabels(inputs[0], names, desc, out));
    }
    case 'histogram_quantile':
      return evalHistogramQuantile(ev, e, args);
    case 'histogram_quantiles':
      return evalHistogramQuantiles(ev, e, args);
    case 'histogram_fraction':
      return evalHistogramFraction(ev, e, args);
    case 'clamp':
      return ev.rangeEval(args, (inputs, _ts, out) => {
        const min = inputs[1].values[0];
        const max = inputs[2].values[0];
        if (!clampHasOutput(min, max)) return;
        elementwise(inputs[0], INSTANT_KERNELS.get('clamp')!, [min, max], out);
      });
  }

  const def = lookupFunction(name);
  if (def?.nativeHistogram === true) {
    // sluice stores floats only: functions over native histograms find nothing to work on.
    return ev.rangeEval(args, () => {});
  }
  if (name === 'info') return evalInfo(ev, e);
  if (DATE_FUNCTIONS.has(name) && args.length === 0) {
    const kernel = kernelFor(name);
    return ev.rangeEval([], (_in, ts, out) => out.push([], kernel(Math.trunc(ts / 1000), []), false));
  }
  const kernel = INSTANT_KERNELS.get(name);
  if (kernel !== undefined) {
    const extra: number[] = [];
    return ev.rangeEval(args, (inputs, _ts, out) => {
      extra.length = 0;
      for (let i = 1; i < inputs.length; i++) extra.push(inputs[i].values[0]);
      elementwise(inputs[0], kernel, extra, out);
    });
  }
  throw new QueryError('execution', `function "${name}" is not supported`);
}

/** A range query (or a subquery's steps) orders its result by labels, whatever a sort did. */
function warnSortInRange(ev: Evaluator): void {
  if (ev.start !== ev.end) ev.ctx.annotations.warn(SORT_IN_RANGE_QUERY_WARNING);
}

function kernelFor(name: string) {
  const k = INSTANT_KERNELS.get(name);
  if (k === undefined) throw bug(`no kernel for ${name}`);
  return k;
}

function elementwise(vec: StepVector, kernel: (v: number, args: readonly number[]) => number, args: readonly number[], out: StepVector): void {
  for (let i = 0; i < vec.length; i++) out.push(vec.labels[i], kernel(vec.values[i], args), true);
}

function stringValue(e: Expr): string {
  if (e.kind !== 'StringLiteral') throw new QueryError('execution', 'expected a string argument');
  return e.value;
}

/** sort / sort_desc: NaN last either way. */
function sortByValue(vec: StepVector, out: StepVector, desc: boolean): void {
  const idx = vec.labels.map((_, i) => i);
  const v = vec.values;
  idx.sort((a, b) => {
    const an = Number.isNaN(v[a]);
    const bn = Number.isNaN(v[b]);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return desc ? v[b] - v[a] : v[a] - v[b];
  });
  for (const i of idx) out.push(vec.labels[i], v[i], vec.dropName[i]);
}

function sortByLabels(vec: StepVector, names: readonly string[], desc: boolean, out: StepVector): void {
  const idx = vec.labels.map((_, i) => i);
  const l = vec.labels;
  idx.sort((a, b) => {
    for (const n of names) {
      const va = getLabel(l[a], n);
      const vb = getLabel(l[b], n);
      if (va === vb) continue;
      const less = naturalLess(va, vb);
      return desc ? (less ? 1 : -1) : less ? -1 : 1;
    }
    const c = compareLabels(l[a], l[b]);
    return desc ? -c : c;
  });
  for (const i of idx) out.push(l[i], vec.values[i], vec.dropName[i]);
}

/**
 * The labels `absent()` / `absent_over_time()` give their one series: the selector's equality
 * matchers, except `__name__` and any label matched more than once (or not by equality).
 */
export function absentLabels(arg: Expr): Labels {
  let matchers: readonly LabelMatcher[];
  if (arg.kind === 'VectorSelector') matchers = arg.matchers;
  else if (arg.kind === 'MatrixSelector') matchers = arg.vector.matchers;
  else return [];
  const map = new Map<string, string>();
  const has = new Set<string>();
  for (const m of matchers) {
    if (m.name === METRIC_NAME) continue;
    if (m.op === '=' && !has.has(m.name)) {
      map.set(m.name, m.value);
      has.add(m.name);
    } else map.delete(m.name);
  }
  const names = [...map.keys()].filter((n) => map.get(n) !== '').sort();
  return Object.freeze(names.flatMap((n) => [n, map.get(n)!]));
}

/** The range functions that compute a difference over an anchored or smoothed range (extendedRate). */
const EXTENDED_RATE: ReadonlySet<string> = new Set(['rate', 'increase', 'delta']);

function evalRangeFunction(ev: Evaluator, e: Call, args: readonly Expr[], matrixIndex: number): EvalMatrix {
  const name = e.func;
  const arg = args[matrixIndex];
  const selector = arg.kind === 'MatrixSelector' ? arg.vector : null;
  if (selector !== null) checkExtendedModifier(name, selector);
  const extended = selector !== null && (selector.anchored === true || selector.smoothed === true);
  const smoothed = selector?.smoothed === true;
  const src: RangeSource = arg.kind === 'MatrixSelector' ? ev.rangeSourceOfSelector(arg) : ev.rangeSourceOfSubquery(arg as never);
  const scalarArgs = args.map((a, i) => (i === matrixIndex ? null : ev.evalScalarSteps(a)));
  const kernel = name === 'absent_over_time' ? () => 1 : RANGE_KERNELS.get(name);
  if (kernel === undefined) throw new QueryError('execution', `function "${name}" is not supported`);
  // Functions that keep the name keep a subquery's pending drop too (`last_over_time(abs(x)[5m:])`).
  const keepsName = KEEP_NAME_RANGE.has(name);
  const limits = ev.ctx.limits;
  const kargs: number[] = [];
  const w = { ts: new Float64Array(0) as Float64Array<ArrayBufferLike>, values: new Float64Array(0) as Float64Array<ArrayBufferLike>, start: 0, end: 0, rangeStartMs: 0, rangeEndMs: 0, evalTimeMs: 0 };
  const out: EvalMatrix = [];
  for (const s of src.series) {
    limits.check();
    w.ts = s.ts;
    w.values = s.values;
    const series = new EvalSeries(s.labels, !keepsName || s.dropName === true, ev.numSteps);
    // Window bounds only move forward as the steps do: slide them instead of searching, after
    // one search for the first step (an `@` keeps them fixed, which sliding handles too).
    let lo = -1;
    let hi = -1;
    let step = 0;
    for (let ts = ev.start; ts <= ev.end; ts += ev.interval, step++) {
      const maxt = (src.atMs ?? ts) - src.offsetMs;
      const mint = maxt - src.rangeMs;
      if (lo < 0) {
        lo = upperBound(s.ts, s.length, mint);
        hi = upperBound(s.ts, s.length, maxt, lo);
      } else {
        while (lo < s.length && s.ts[lo] <= mint) lo++;
        if (hi < lo) hi = lo;
        while (hi < s.length && s.ts[hi] <= maxt) hi++;
      }
      let start = lo;
      let end = hi;
      if (extended) ({ start, end } = extendedBounds(s.ts, s.length, lo, hi, mint, maxt, ev.ctx.lookbackMs, smoothed));
      if (end <= start) continue;
      kargs.length = 0;
      for (const a of scalarArgs) if (a !== null) kargs.push(a[step]);
      if (name === 'double_exponential_smoothing') {
        const invalid = validateDoubleExponentialSmoothing(kargs[0], kargs[1]);
        if (invalid !== null) throw new QueryError('execution', invalid);
      }
      if (name === 'quantile_over_time') {
        const q = kargs[0];
        if (Number.isNaN(q) || q < 0 || q > 1) ev.ctx.annotations.warn(invalidQuantileWarning(q));
      }
      w.start = start;
      w.end = end;
      w.rangeStartMs = mint;
      w.rangeEndMs = maxt;
      w.evalTimeMs = ts;
      limits.load(end - start);
      const v = extended && EXTENDED_RATE.has(name)
        ? extendedRate(s.ts, s.values, start, end, mint, maxt, src.rangeMs / 1000, smoothed, name !== 'delta', name === 'rate')
        : kernel(w as RangeWindow, kargs);
      if (v !== undefined) series.push(ts, v);
    }
    if (series.length === 0) continue;
    limits.add(series.length);
    out.push(series);
    if (name === 'rate' || name === 'increase') {
      const metric = metricName(s.labels);
      if (metric !== '' && !/_(total|sum|count|bucket)$/.test(metric)) ev.ctx.annotations.info(possibleNonCounterInfo(metric));
    }
  }
  if (name !== 'absent_over_time') return out;

  // absent_over_time: 1 at the steps where no series had a sample in its window.
  const found = new Set<number>();
  for (const s of out) {
    if (s.length === ev.numSteps) return [];
    for (let i = 0; i < s.length; i++) found.add(s.ts[i]);
  }
  const absent = new EvalSeries(absentLabels(arg), true, Math.max(1, ev.numSteps - found.size));
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) if (!found.has(ts)) absent.push(ts, 1);
  return absent.length === 0 ? [] : [absent];
}
