import type { Expr, MatrixSelector, SubqueryExpr, VectorSelector } from '../ast.ts';
import { evalAggregate } from './aggregations.ts';
import type { Annotations } from './annotations.ts';
import { evalBinary } from './binary.ts';
import { evalCall } from './functions-eval.ts';
import type { QueryLimits } from './limits.ts';
import { resolveAt, unwrapParens, type QueryTimes } from './preprocess.ts';
import { isStaleNaN } from '../../../model/stale-nan.ts';
import { pickInstant, upperBound, withoutStale, type PointSeries, type SelectorData } from './selectors.ts';
import { QueryError } from './types.ts';
import { smoothedValue } from './extended-range.ts';
import { EvalSeries, StepVector, isString, labelsKey, signature, type EvalMatrix, type EvalValue } from './values.ts';

/**
 * The evaluator: Prometheus's model of evaluation over a range of steps. Every node evaluates to
 * a matrix over the evaluator's steps [start, end] every `interval` (an instant query is the
 * one-step range [t, t]); a subquery evaluates its inner expression with an evaluator of its own
 * steps. Nodes that combine their inputs point by point go through `rangeEval`, which hands
 * each step's instant vectors to a step function.
 */

export interface EvalContext {
  /** The query's own start, end and step (step 0 for an instant query), for @ start()/end(), step() and range(). */
  readonly times: QueryTimes & { readonly stepMs: number };
  readonly lookbackMs: number;
  readonly noStepSubqueryIntervalMs: number;
  readonly data: SelectorData;
  /** Step-invariant nodes: evaluated once at the first step and repeated. */
  readonly invariant: ReadonlySet<Expr>;
  readonly limits: QueryLimits;
  readonly annotations: Annotations;
  readonly experimentalFunctions: boolean;
}

/** The series a range function reads, with where each step's window ends. */
export interface RangeSource {
  readonly series: readonly PointSeries[];
  readonly rangeMs: number;
  readonly offsetMs: number;
  /** The `@` time; null when the window follows the step time. */
  readonly atMs: number | null;
}

export type StepFunction = (inputs: readonly StepVector[], ts: number, out: StepVector) => void;

export interface Matching {
  readonly on: boolean;
  /** With `on`: the labels to match on; with `ignoring`: those to ignore (plus `__name__`). */
  readonly names: readonly string[];
}

export class Evaluator {
  readonly numSteps: number;

  constructor(
    readonly ctx: EvalContext,
    readonly start: number,
    readonly end: number,
    readonly interval: number,
  ) {
    this.numSteps = end < start ? 0 : Math.floor((end - start) / interval) + 1;
  }

  get isInstant(): boolean {
    return this.start === this.end;
  }

  eval(expr: Expr): EvalValue {
    this.ctx.limits.check();
    if (this.end < this.start) return [];
    if (this.start !== this.end && this.ctx.invariant.has(expr)) return this.evalStepInvariant(expr);
    switch (expr.kind) {
      case 'ParenExpr':
        return this.eval(expr.expr);
      case 'NumberLiteral': {
        const v = expr.value;
        return this.rangeEval([], (_in, _ts, out) => out.push([], v, false));
      }
      case 'StringLiteral':
        return { kind: 'string', t: this.start, v: expr.value };
      case 'VectorSelector':
        return this.evalVectorSelector(expr);
      case 'MatrixSelector':
        if (this.start !== this.end) throw bug('cannot do range evaluation of matrix selector');
        return this.evalMatrixSelector(expr);
      case 'SubqueryExpr':
        return this.evalSubquery(expr);
      case 'UnaryExpr': {
        const m = this.evalMatrix(expr.expr);
        if (expr.op === '-') {
          for (const s of m) {
            s.dropName = true;
            for (let i = 0; i < s.length; i++) s.values[i] = -s.values[i];
          }
        }
        return m;
      }
      case 'BinaryExpr':
        return evalBinary(this, expr);
      case 'AggregateExpr':
        return evalAggregate(this, expr);
      case 'Call':
        return evalCall(this, expr);
    }
  }

  evalMatrix(expr: Expr): EvalMatrix {
    const v = this.eval(expr);
    if (isString(v)) throw bug(`expected a vector or scalar, got a string from ${expr.kind}`);
    return v;
  }

  /** A scalar-valued expression's value at every step (NaN where, impossibly, it has none). */
  evalScalarSteps(expr: Expr): Float64Array {
    const m = this.evalMatrix(expr);
    const out = new Float64Array(this.numSteps).fill(NaN);
    const s = m[0];
    if (s !== undefined) for (let i = 0; i < s.length; i++) out[this.stepIndex(s.ts[i])] = s.values[i];
    return out;
  }

  stepIndex(ts: number): number {
    return Math.round((ts - this.start) / this.interval);
  }

  private evalStepInvariant(expr: Expr): EvalValue {
    const once = new Evaluator(this.ctx, this.start, this.start, this.interval);
    const res = once.eval(expr);
    if (isString(res)) return res;
    const inner = unwrapParens(expr);
    if (inner.kind === 'MatrixSelector' || inner.kind === 'SubqueryExpr') return res;
    for (const s of res) {
      if (s.length !== 1) throw bug('a step-invariant expression gave more than one point per series');
      const v = s.values[0];
      for (let t = this.start + this.interval; t <= this.end; t += this.interval) s.push(t, v);
      this.ctx.limits.add(this.numSteps - 1);
    }
    return res;
  }

  /** An instant vector selector at every step: the latest sample in the lookback window, stale markers ending a series. */
  private evalVectorSelector(sel: VectorSelector): EvalMatrix {
    const data = this.selectorData(sel);
    const at = resolveAt(sel.at, this.ctx.times);
    const lookback = this.ctx.lookbackMs;
    const out: EvalMatrix = [];
    for (const s of data) {
      this.ctx.limits.check();
      let series: EvalSeries | null = null;
      // `next` is the first sample after the reference time; it only moves forward with the
      // steps, so it slides instead of being searched for at every step.
      let next = -1;
      for (let ts = this.start; ts <= this.end; ts += this.interval) {
        const ref = (at ?? ts) - sel.offsetMs;
        if (next < 0) next = upperBound(s.ts, s.length, ref);
        else while (next < s.length && s.ts[next] <= ref) next++;
        const i = next - 1;
        let v: number | undefined;
        if (sel.smoothed === true) v = smoothedValue(s.ts, s.values, s.length, i, ref, lookback);
        else if (i >= 0 && s.ts[i] > ref - lookback && !isStaleNaN(s.values[i])) v = s.values[i];
        if (v === undefined) continue;
        series ??= new EvalSeries(s.labels, false, this.numSteps);
        series.push(ts, v);
      }
      if (series !== null) {
        this.ctx.limits.add(series.length);
        this.ctx.limits.load(series.length);
        out.push(series);
      }
    }
    return out;
  }

  /** For `timestamp(selector)`: the picked samples' own timestamps, in seconds. */
  evalSelectorTimestamps(sel: VectorSelector): EvalMatrix {
    const data = this.selectorData(sel);
    const at = resolveAt(sel.at, this.ctx.times);
    const out: EvalMatrix = [];
    for (const s of data) {
      this.ctx.limits.check();
      let series: EvalSeries | null = null;
      for (let ts = this.start; ts <= this.end; ts += this.interval) {
        const i = pickInstant(s, (at ?? ts) - sel.offsetMs, this.ctx.lookbackMs);
        if (i < 0) continue;
        series ??= new EvalSeries(s.labels, true, Math.min(this.numSteps, 64));
        series.push(ts, s.ts[i] / 1000);
      }
      if (series !== null) {
        this.ctx.limits.add(series.length);
        this.ctx.limits.load(series.length);
        out.push(series);
      }
    }
    return out;
  }

  private selectorData(sel: VectorSelector) {
    const data = this.ctx.data.get(sel);
    if (data === undefined) throw bug('a selector was not fetched before evaluation');
    return data;
  }

  /** A range vector at the top of an instant query: the raw samples of each window. */
  private evalMatrixSelector(ms: MatrixSelector): EvalMatrix {
    const src = this.rangeSourceOfSelector(ms);
    const maxt = (src.atMs ?? this.start) - src.offsetMs;
    const mint = maxt - src.rangeMs;
    const out: EvalMatrix = [];
    for (const s of src.series) {
      const lo = upperBound(s.ts, s.length, mint);
      const hi = upperBound(s.ts, s.length, maxt, lo);
      if (hi <= lo) continue;
      const n = hi - lo;
      this.ctx.limits.add(n);
      this.ctx.limits.load(n);
      out.push(EvalSeries.of(s.labels, false, s.ts.slice(lo, hi), s.values.slice(lo, hi), n));
    }
    return out;
  }

  rangeSourceOfSelector(ms: MatrixSelector): RangeSource {
    const sel = ms.vector;
    return {
      series: withoutStale(this.selectorData(sel)),
      rangeMs: ms.rangeMs,
      offsetMs: sel.offsetMs,
      atMs: resolveAt(sel.at, this.ctx.times),
    };
  }

  /** A subquery's points as a range function's input. */
  rangeSourceOfSubquery(sq: SubqueryExpr): RangeSource {
    const m = this.evalSubquery(sq);
    return { series: withoutStale(m), rangeMs: sq.rangeMs, offsetMs: sq.offsetMs, atMs: resolveAt(sq.at, this.ctx.times) };
  }

  /**
   * A subquery: its expression evaluated at the subquery's own steps, which are aligned to
   * multiples of the step in absolute time, from just after (end - range) to the end (the
   * evaluation time, or the `@` time, less the offset).
   */
  evalSubquery(sq: SubqueryExpr): EvalMatrix {
    const interval = sq.stepMs > 0 ? sq.stepMs : this.ctx.noStepSubqueryIntervalMs;
    const at = resolveAt(sq.at, this.ctx.times);
    const refStart = (at ?? this.start) - sq.offsetMs - sq.rangeMs;
    const end = (at ?? this.end) - sq.offsetMs;
    let start = interval * Math.trunc(refStart / interval);
    if (start <= refStart) start += interval;
    const inner = new Evaluator(this.ctx, start, end, interval);
    const v = inner.eval(sq.expr);
    if (isString(v)) throw bug('subquery over a string');
    return v;
  }

  /**
   * Evaluates `args` (string arguments are skipped: functions read them from the AST), then calls
   * `fn` with each step's instant vectors and collects what it outputs into series. With
   * `matching`, each input sample carries its join signature's ordinal in `sig`.
   */
  rangeEval(args: readonly (Expr | null)[], fn: StepFunction, matching?: Matching): EvalMatrix {
    const limits = this.ctx.limits;
    const original = limits.current;
    const matrices: EvalMatrix[] = args.map((a) => {
      if (a === null || unwrapParens(a).kind === 'StringLiteral') return [];
      return this.evalMatrix(a);
    });
    let sigs: Int32Array[] | null = null;
    if (matching !== undefined) {
      const names = matching.on ? matching.names : [...matching.names, '__name__'];
      const ordinals = new Map<string, number>();
      sigs = matrices.map((m) => {
        const out = new Int32Array(m.length);
        m.forEach((s, i) => {
          const key = signature(s.labels, names, matching.on);
          let ord = ordinals.get(key);
          if (ord === undefined) {
            ord = ordinals.size;
            ordinals.set(key, ord);
          }
          out[i] = ord;
        });
        return out;
      });
    }
    const cursors = matrices.map((m) => new Int32Array(m.length));
    const inputs = matrices.map(() => new StepVector());
    const out = new StepVector();
    const held = limits.current;
    let produced = 0;
    const bySeries = new Map<string, { s: EvalSeries; lastT: number }>();
    for (let ts = this.start; ts <= this.end; ts += this.interval) {
      limits.check();
      for (let a = 0; a < matrices.length; a++) {
        const m = matrices[a];
        const cur = cursors[a];
        const vec = inputs[a];
        const sig = sigs?.[a];
        vec.clear();
        for (let i = 0; i < m.length; i++) {
          const s = m[i];
          const c = cur[i];
          if (c < s.length && s.ts[c] === ts) {
            vec.push(s.labels, s.values[c], s.dropName, sig === undefined ? -1 : sig[i]);
            cur[i] = c + 1;
          }
        }
      }
      out.clear();
      fn(inputs, ts, out);
      limits.set(held + produced + out.length);
      if (this.start === this.end) {
        // An instant evaluation keeps the step function's order (sort() and topk rely on it).
        const res: EvalMatrix = [];
        for (let i = 0; i < out.length; i++) {
          const s = new EvalSeries(out.labels[i], out.dropName[i], 1);
          s.push(ts, out.values[i]);
          res.push(s);
        }
        limits.set(original + res.length);
        return res;
      }
      produced += out.length;
      for (let i = 0; i < out.length; i++) {
        const key = labelsKey(out.labels[i]);
        const entry = bySeries.get(key);
        if (entry === undefined) {
          const s = new EvalSeries(out.labels[i], out.dropName[i], Math.min(this.numSteps, 16));
          s.push(ts, out.values[i]);
          bySeries.set(key, { s, lastT: ts });
        } else {
          if (entry.lastT === ts) throw new QueryError('execution', 'vector cannot contain metrics with the same labelset');
          entry.lastT = ts;
          entry.s.push(ts, out.values[i]);
        }
      }
    }
    const res: EvalMatrix = [];
    for (const { s } of bySeries.values()) res.push(s);
    limits.set(original + produced);
    return res;
  }
}

/** A broken invariant inside the engine: reported as an internal error that says it is a bug. */
export function bug(message: string, cause?: unknown): QueryError {
  return new QueryError('internal', `bug in the PromQL engine: ${message}`, { cause });
}
