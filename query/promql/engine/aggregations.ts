import { METRIC_NAME, type Labels } from '../../../model/labels.ts';
import type { AggregateExpr } from '../ast.ts';
import { formatFloatPlain, formatG, invalidQuantileWarning, invalidRatioWarning } from './annotations.ts';
import type { Evaluator } from './evaluator.ts';
import { AggregationVariance, MeanAccumulator, SumAccumulator, quantile } from './kernels/numeric.ts';
import { unwrapParens } from './preprocess.ts';
import { QueryError } from './types.ts';
import { EvalSeries, dropLabels, keepLabels, labelsKey, setLabel, signature, type EvalMatrix } from './values.ts';
import { ratioSampleOffset } from './xxhash64.ts';
import { isValidUtf8LabelName } from './labels-functions.ts';

/**
 * Aggregation operators. The input is evaluated once over all steps; series are assigned to their
 * output group once; then each step folds the series that have a point at that step. The
 * parameter (k, q, ratio) is evaluated per step and may vary.
 */

const K_OPS = new Set(['topk', 'bottomk', 'limitk', 'limit_ratio']);
const INT64_MIN = -9223372036854775808;
const INT64_MAX = 9223372036854775807;

export function evalAggregate(ev: Evaluator, e: AggregateExpr): EvalMatrix {
  const grouping = [...e.grouping].sort();
  if (e.op === 'count_values') return countValues(ev, e, grouping);

  const params = e.param !== null ? ev.evalScalarSteps(e.param) : null;
  const input = ev.evalMatrix(e.expr);
  const limits = ev.ctx.limits;
  const original = limits.current;

  // Output group of every input series.
  const groupOf = new Int32Array(input.length);
  const groupLabels: Labels[] = [];
  const index = new Map<string, number>();
  const keyNames = e.without ? [...grouping, METRIC_NAME] : grouping;
  for (let i = 0; i < input.length; i++) {
    const labels = input[i].labels;
    const key = !e.without && grouping.length === 0 ? '' : signature(labels, keyNames, !e.without);
    let g = index.get(key);
    if (g === undefined) {
      g = groupLabels.length;
      index.set(key, g);
      groupLabels.push(e.without ? dropLabels(labels, keyNames) : grouping.length > 0 ? keepLabels(labels, grouping) : []);
    }
    groupOf[i] = g;
  }

  if (params !== null) {
    let max = -Infinity;
    let min = Infinity;
    let nan = false;
    for (const p of params) {
      if (Number.isNaN(p)) nan = true;
      else {
        if (p > max) max = p;
        if (p < min) min = p;
      }
    }
    // Like Go's math.Max / math.Min, a NaN anywhere makes both NaN.
    if (nan || params.length === 0) max = min = NaN;
    switch (e.op) {
      case 'topk':
      case 'bottomk':
      case 'limitk':
        if (max < 1) return []; // NaN: falls through to the NaN error
        if (nan) throw new QueryError('execution', 'Parameter value is NaN');
        if (min <= INT64_MIN) throw new QueryError('execution', `Scalar value ${formatG(min)} underflows int64`);
        if (max >= INT64_MAX) throw new QueryError('execution', `Scalar value ${formatG(max)} overflows int64`);
        break;
      case 'limit_ratio':
        if (max === 0 && min === 0) return [];
        if (nan) throw new QueryError('execution', 'Ratio value is NaN');
        if (max > 1) ev.ctx.annotations.warn(invalidRatioWarning(max, 1));
        if (min < -1) ev.ctx.annotations.warn(invalidRatioWarning(min, -1));
        break;
      case 'quantile':
        if (nan) ev.ctx.annotations.warn(invalidQuantileWarning(NaN)); // (max and min are NaN then)
        if (max > 1) ev.ctx.annotations.warn(invalidQuantileWarning(max));
        if (min < 0) ev.ctx.annotations.warn(invalidQuantileWarning(min));
        break;
    }
  }

  const result = K_OPS.has(e.op)
    ? aggregateK(ev, e.op, input, groupOf, groupLabels.length, params!)
    : SERIES_MAJOR_OPS.has(e.op)
      ? aggregateSeriesMajor(ev, e.op, input, groupOf, groupLabels)
      : aggregateGroups(ev, e.op, input, groupOf, groupLabels, params);
  let total = 0;
  for (const s of result) total += s.length;
  limits.set(original + total);
  return result;
}

/** sum, avg, count, min, max, group, stddev, stdvar, quantile: one output series per group. */
function aggregateGroups(
  ev: Evaluator,
  op: AggregateExpr['op'],
  input: EvalMatrix,
  groupOf: Int32Array,
  groupLabels: readonly Labels[],
  params: Float64Array | null,
): EvalMatrix {
  const n = groupLabels.length;
  const out = groupLabels.map((l) => new EvalSeries(l, false, ev.numSteps));
  const seen = new Uint8Array(n);
  const dropName = new Uint8Array(n);
  const value = new Float64Array(n);
  const count = new Float64Array(n);
  const sums = op === 'sum' ? out.map(() => new SumAccumulator()) : null;
  const means = op === 'avg' ? out.map(() => new MeanAccumulator()) : null;
  const variances = op === 'stddev' || op === 'stdvar' ? out.map(() => new AggregationVariance()) : null;
  const quantileValues: Float64Array[] = op === 'quantile' ? out.map(() => new Float64Array(4)) : [];
  const cursors = new Int32Array(input.length);
  let step = 0;
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval, step++) {
    ev.ctx.limits.check();
    seen.fill(0);
    for (let si = 0; si < input.length; si++) {
      const s = input[si];
      const c = cursors[si];
      if (c >= s.length || s.ts[c] !== ts) continue;
      cursors[si] = c + 1;
      const f = s.values[c];
      const g = groupOf[si];
      if (seen[g] === 0) {
        seen[g] = 1;
        dropName[g] = s.dropName ? 1 : 0;
        value[g] = f;
        count[g] = 1;
        switch (op) {
          case 'sum':
            sums![g].reset(f);
            break;
          case 'avg':
            means![g].reset(f);
            break;
          case 'stddev':
          case 'stdvar':
            variances![g].reset(f);
            break;
          case 'group':
            value[g] = 1;
            break;
          case 'quantile':
            quantileValues[g][0] = f;
            break;
        }
        continue;
      }
      if (s.dropName) dropName[g] = 1;
      count[g]++;
      switch (op) {
        case 'sum':
          sums![g].add(f);
          break;
        case 'avg':
          means![g].add(f);
          break;
        case 'max':
          if (value[g] < f || Number.isNaN(value[g])) value[g] = f;
          break;
        case 'min':
          if (value[g] > f || Number.isNaN(value[g])) value[g] = f;
          break;
        case 'stddev':
        case 'stdvar':
          variances![g].add(f);
          break;
        case 'quantile': {
          let buf = quantileValues[g];
          const k = count[g] - 1;
          if (k >= buf.length) {
            const grown = new Float64Array(buf.length * 2);
            grown.set(buf);
            quantileValues[g] = buf = grown;
          }
          buf[k] = f;
          break;
        }
      }
    }
    for (let g = 0; g < n; g++) {
      if (seen[g] === 0) continue;
      let v: number;
      switch (op) {
        case 'sum':
          v = sums![g].result();
          break;
        case 'avg':
          v = means![g].result();
          break;
        case 'count':
          v = count[g];
          break;
        case 'stdvar':
          v = variances![g].variance();
          break;
        case 'stddev':
          v = Math.sqrt(variances![g].variance());
          break;
        case 'quantile':
          v = quantile(params![step], quantileValues[g], count[g]);
          break;
        default:
          v = value[g];
      }
      out[g].push(ts, v);
      if (dropName[g] === 1) out[g].dropName = true;
    }
  }
  return out.filter((s) => s.length > 0);
}

const SERIES_MAJOR_OPS = new Set<AggregateExpr['op']>(['sum', 'count', 'min', 'max', 'group']);

/**
 * sum, count, min, max and group over a range, series by series: each input series' points are
 * folded into per-group, per-step cells (typed arrays of groups x steps), so the work is one pass
 * over the input's points in memory order, with no per-step scan of every series. Within a
 * cell, values still arrive in input-series order, so the (Kahan-compensated) sum is the same
 * number the step-by-step evaluation gives.
 */
function aggregateSeriesMajor(
  ev: Evaluator,
  op: AggregateExpr['op'],
  input: EvalMatrix,
  groupOf: Int32Array,
  groupLabels: readonly Labels[],
): EvalMatrix {
  const steps = ev.numSteps;
  const cells = groupLabels.length * steps;
  const seen = new Uint8Array(cells);
  const value = new Float64Array(cells);
  const comp = op === 'sum' ? new Float64Array(cells) : null;
  const dropName = new Uint8Array(groupLabels.length);
  for (let si = 0; si < input.length; si++) {
    if ((si & 255) === 0) ev.ctx.limits.check();
    const s = input[si];
    const g = groupOf[si];
    const base = g * steps;
    if (s.dropName) dropName[g] = 1;
    for (let i = 0; i < s.length; i++) {
      const cell = base + ev.stepIndex(s.ts[i]);
      const f = s.values[i];
      if (seen[cell] === 0) {
        seen[cell] = 1;
        value[cell] = op === 'count' || op === 'group' ? 1 : f;
        continue;
      }
      switch (op) {
        case 'sum': {
          // kahanInc, on the cell's sum and compensation.
          const sum = value[cell];
          const t = sum + f;
          if (t === Infinity || t === -Infinity) comp![cell] = 0;
          else if (Math.abs(sum) >= Math.abs(f)) comp![cell] += sum - t + f;
          else comp![cell] += f - t + sum;
          value[cell] = t;
          break;
        }
        case 'count':
          value[cell]++;
          break;
        case 'max':
          if (value[cell] < f || Number.isNaN(value[cell])) value[cell] = f;
          break;
        case 'min':
          if (value[cell] > f || Number.isNaN(value[cell])) value[cell] = f;
          break;
      }
    }
  }
  const out: EvalMatrix = [];
  for (let g = 0; g < groupLabels.length; g++) {
    const series = new EvalSeries(groupLabels[g], false, steps);
    const base = g * steps;
    for (let k = 0; k < steps; k++) {
      const cell = base + k;
      if (seen[cell] === 0) continue;
      series.push(ev.start + k * ev.interval, comp ? value[cell] + comp[cell] : value[cell]);
    }
    if (dropName[g] === 1) series.dropName = true;
    if (series.length > 0) out.push(series);
  }
  return out;
}

/** A binary heap over sample indexes with Go container/heap's exact push / fix order. */
class IndexHeap {
  readonly items: number[] = [];
  constructor(private readonly less: (a: number, b: number) => boolean) {}

  push(x: number): void {
    this.items.push(x);
    this.up(this.items.length - 1);
  }

  fixTop(): void {
    if (!this.down(0)) this.up(0);
  }

  private up(j: number): void {
    const h = this.items;
    while (j > 0) {
      const i = (j - 1) >> 1;
      if (!this.less(h[j], h[i])) break;
      [h[i], h[j]] = [h[j], h[i]];
      j = i;
    }
  }

  private down(i0: number): boolean {
    const h = this.items;
    const n = h.length;
    let i = i0;
    for (;;) {
      const j1 = 2 * i + 1;
      if (j1 >= n) break;
      let j = j1;
      const j2 = j1 + 1;
      if (j2 < n && this.less(h[j2], h[j1])) j = j2;
      if (!this.less(h[j], h[i])) break;
      [h[i], h[j]] = [h[j], h[i]];
      i = j;
    }
    return i > i0;
  }
}

/** topk, bottomk, limitk, limit_ratio: output keeps the input series' labels. */
function aggregateK(ev: Evaluator, op: AggregateExpr['op'], input: EvalMatrix, groupOf: Int32Array, numGroups: number, params: Float64Array): EvalMatrix {
  const instant = ev.start === ev.end;
  const cursors = new Int32Array(input.length);
  const stepValue = new Float64Array(input.length);
  const ratioOffsets = op === 'limit_ratio' ? new Float64Array(input.length).fill(-1) : null;
  const instantOut: EvalMatrix = [];
  const bySeries = new Map<string, EvalSeries>();
  let step = 0;
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval, step++) {
    ev.ctx.limits.check();
    const fParam = params[step];
    // Points at this step, per input series (consumed whatever the parameter says).
    const present: number[] = [];
    for (let si = 0; si < input.length; si++) {
      const s = input[si];
      const c = cursors[si];
      if (c < s.length && s.ts[c] === ts) {
        cursors[si] = c + 1;
        stepValue[si] = s.values[c];
        present.push(si);
      }
    }
    if (present.length === 0) continue;
    let k = 0;
    let ratio = 0;
    if (op === 'limit_ratio') {
      if (fParam === 0) continue;
      ratio = Math.max(-1, Math.min(1, fParam));
    } else {
      k = Math.min(Math.trunc(fParam), input.length);
      if (!(k >= 1)) continue;
    }
    const value = (i: number): number => stepValue[i];
    const lessTop = (a: number, b: number): boolean => Number.isNaN(value(a)) || value(a) < value(b);
    const lessBottom = (a: number, b: number): boolean => Number.isNaN(value(a)) || value(a) > value(b);
    const heaps: (IndexHeap | null)[] = new Array(numGroups).fill(null);
    const order: number[] = [];
    for (const si of present) {
      const g = groupOf[si];
      let heap = heaps[g];
      if (heap === null) {
        heap = heaps[g] = new IndexHeap(op === 'bottomk' ? lessBottom : lessTop);
        order.push(g);
      }
      const f = stepValue[si];
      const items = heap.items;
      switch (op) {
        case 'topk':
          if (items.length < k) heap.push(si);
          else if (value(items[0]) < f || (Number.isNaN(value(items[0])) && !Number.isNaN(f))) {
            items[0] = si;
            if (k > 1) heap.fixTop();
          }
          break;
        case 'bottomk':
          if (items.length < k) heap.push(si);
          else if (value(items[0]) > f || (Number.isNaN(value(items[0])) && !Number.isNaN(f))) {
            items[0] = si;
            if (k > 1) heap.fixTop();
          }
          break;
        case 'limitk':
          if (items.length < k) items.push(si);
          break;
        case 'limit_ratio': {
          let offset = ratioOffsets![si];
          if (offset < 0) offset = ratioOffsets![si] = ratioSampleOffset(input[si].labels);
          if ((ratio >= 0 && offset < ratio) || (ratio < 0 && offset >= 1 + ratio)) items.push(si);
          break;
        }
      }
    }
    for (const g of order) {
      const items = [...heaps[g]!.items];
      if (op === 'topk') items.sort((a, b) => byValueNaNLast(value(a), value(b), true));
      else if (op === 'bottomk') items.sort((a, b) => byValueNaNLast(value(a), value(b), false));
      for (const si of items) {
        const s = input[si];
        if (instant) {
          const o = new EvalSeries(s.labels, s.dropName, 1);
          o.push(ts, stepValue[si]);
          instantOut.push(o);
        } else {
          const key = labelsKey(s.labels);
          let o = bySeries.get(key);
          if (o === undefined) bySeries.set(key, (o = new EvalSeries(s.labels, s.dropName, 4)));
          o.push(ts, stepValue[si]);
        }
      }
    }
  }
  return instant ? instantOut : [...bySeries.values()];
}

/** topk's output order (descending) and bottomk's (ascending), NaN last in both. */
function byValueNaNLast(a: number, b: number, descending: boolean): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  return (descending ? b - a : a - b) || 0;
}

function countValues(ev: Evaluator, e: AggregateExpr, grouping: string[]): EvalMatrix {
  const param = e.param === null ? null : unwrapParens(e.param);
  if (param === null || param.kind !== 'StringLiteral') throw new QueryError('execution', 'count_values needs a string parameter');
  const valueLabel = param.value;
  if (!isValidUtf8LabelName(valueLabel)) throw new QueryError('execution', `invalid label name ${JSON.stringify(valueLabel)}`);
  const names = e.without ? grouping : [...grouping, valueLabel].sort();
  const keyNames = e.without ? [...names, METRIC_NAME] : names;
  return ev.rangeEval([e.expr], (inputs, _ts, out) => {
    const vec = inputs[0];
    const groups = new Map<string, { labels: Labels; count: number }>();
    for (let i = 0; i < vec.length; i++) {
      const metric = setLabel(vec.labels[i], valueLabel, formatFloatPlain(vec.values[i]));
      const key = signature(metric, keyNames, !e.without);
      const g = groups.get(key);
      if (g !== undefined) g.count++;
      else groups.set(key, { labels: e.without ? dropLabels(metric, keyNames) : keepLabels(metric, names), count: 1 });
    }
    for (const g of groups.values()) out.push(g.labels, g.count, false);
  });
}
