import { METRIC_NAME, getLabel, type Labels } from '../../../model/labels.ts';
import type { BinaryExpr, BinaryOp, VectorMatching } from '../ast.ts';
import type { Evaluator } from './evaluator.ts';
import { exprType as valueType } from '../parser/types.ts';
import { QueryError } from './types.ts';
import { METADATA_LABELS, dropLabels, keepLabels, labelsKey, setLabel, type EvalMatrix, type StepVector } from './values.ts';

/**
 * Binary operators: scalar/scalar, vector/scalar (either side) and vector/vector with label
 * matching (`on` / `ignoring`, `group_left` / `group_right`), the set operators, and the
 * comparison operators as filters or, with `bool`, as 0/1.
 */

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
/** Operators whose result is no longer the metric the name says (the name is dropped). */
const CHANGES_METRIC = new Set<BinaryOp>(['+', '-', '*', '/', '%', '^', 'atan2']);

export function evalBinary(ev: Evaluator, e: BinaryExpr): EvalMatrix {
  const lt = valueType(e.lhs);
  const rt = valueType(e.rhs);
  const op = e.op;
  if (lt === 'scalar' && rt === 'scalar') {
    return ev.rangeEval([e.lhs, e.rhs], (inputs, _ts, out) => {
      out.push([], scalarBinop(op, inputs[0].values[0], inputs[1].values[0]), false);
    });
  }
  if (lt === 'vector' && rt === 'vector') {
    const matching: VectorMatching = e.matching ?? {
      card: op === 'and' || op === 'or' || op === 'unless' ? 'many-to-many' : 'one-to-one',
      on: false,
      labels: [],
      include: [],
    };
    const m = { on: matching.on, names: matching.labels };
    switch (op) {
      case 'and':
        return ev.rangeEval([e.lhs, e.rhs], (inputs, _ts, out) => vectorAnd(inputs[0], inputs[1], out), m);
      case 'or':
        return ev.rangeEval([e.lhs, e.rhs], (inputs, _ts, out) => vectorOr(inputs[0], inputs[1], out), m);
      case 'unless':
        return ev.rangeEval([e.lhs, e.rhs], (inputs, _ts, out) => vectorUnless(inputs[0], inputs[1], out), m);
      default: {
        const resultCache = new Map<string, Labels>();
        return ev.rangeEval(
          [e.lhs, e.rhs],
          (inputs, _ts, out) => vectorBinop(op, inputs[0], inputs[1], matching, e.returnBool, out, resultCache),
          m,
        );
      }
    }
  }
  if (lt === 'vector' && rt === 'scalar') {
    return ev.rangeEval([e.lhs, e.rhs], (inputs, _ts, out) => {
      vectorScalarBinop(op, inputs[0], inputs[1].values[0], false, e.returnBool, out);
    });
  }
  if (lt === 'scalar' && rt === 'vector') {
    return ev.rangeEval([e.lhs, e.rhs], (inputs, _ts, out) => {
      vectorScalarBinop(op, inputs[1], inputs[0].values[0], true, e.returnBool, out);
    });
  }
  throw new QueryError('execution', `binary operator "${op}" not allowed between ${lt} and ${rt}`);
}

/** `x ^ y` as Go's math.Pow (which differs from `**` for a base of ±1 and for a NaN base with exponent 0). */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return Math.pow(x, y);
}

function arith(op: BinaryOp, l: number, r: number): number {
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
      return l / r;
    case '%':
      return l % r; // IEEE remainder with the dividend's sign, as Go's math.Mod
    case '^':
      return goPow(l, r);
    case 'atan2':
      return Math.atan2(l, r);
    default:
      return NaN;
  }
}

function compare(op: BinaryOp, l: number, r: number): boolean {
  switch (op) {
    case '==':
      return l === r;
    case '!=':
      return l !== r;
    case '>':
      return l > r;
    case '<':
      return l < r;
    case '>=':
      return l >= r;
    case '<=':
      return l <= r;
    default:
      return false;
  }
}

export function scalarBinop(op: BinaryOp, l: number, r: number): number {
  if (COMPARISON.has(op)) return compare(op, l, r) ? 1 : 0;
  return arith(op, l, r);
}

function vectorScalarBinop(op: BinaryOp, vec: StepVector, scalar: number, swap: boolean, returnBool: boolean, out: StepVector): void {
  const isComparison = COMPARISON.has(op);
  const changes = CHANGES_METRIC.has(op);
  for (let i = 0; i < vec.length; i++) {
    let l = vec.values[i];
    let r = scalar;
    if (swap) [l, r] = [r, l];
    let value: number;
    let keep = true;
    if (isComparison) {
      keep = compare(op, l, r);
      // The vector's value is the result, whichever side the vector is on.
      value = vec.values[i];
    } else {
      value = arith(op, l, r);
    }
    if (returnBool) {
      value = keep ? 1 : 0;
      keep = true;
    }
    if (!keep) continue;
    out.push(vec.labels[i], value, changes || returnBool ? true : vec.dropName[i]);
  }
}

function vectorAnd(lhs: StepVector, rhs: StepVector, out: StepVector): void {
  if (lhs.length === 0 || rhs.length === 0) return;
  const present = new Set<number>(rhs.sig);
  for (let i = 0; i < lhs.length; i++) if (present.has(lhs.sig[i])) out.push(lhs.labels[i], lhs.values[i], lhs.dropName[i]);
}

function vectorOr(lhs: StepVector, rhs: StepVector, out: StepVector): void {
  const left = new Set<number>();
  for (let i = 0; i < lhs.length; i++) {
    left.add(lhs.sig[i]);
    out.push(lhs.labels[i], lhs.values[i], lhs.dropName[i]);
  }
  for (let j = 0; j < rhs.length; j++) if (!left.has(rhs.sig[j])) out.push(rhs.labels[j], rhs.values[j], rhs.dropName[j]);
}

function vectorUnless(lhs: StepVector, rhs: StepVector, out: StepVector): void {
  const present = new Set<number>(rhs.sig);
  for (let i = 0; i < lhs.length; i++) if (!present.has(lhs.sig[i])) out.push(lhs.labels[i], lhs.values[i], lhs.dropName[i]);
}

function vectorBinop(
  op: BinaryOp,
  lhsIn: StepVector,
  rhsIn: StepVector,
  matching: VectorMatching,
  returnBool: boolean,
  out: StepVector,
  resultCache: Map<string, Labels>,
): void {
  if (matching.card === 'many-to-many') throw new QueryError('execution', 'many-to-many only allowed for set operators');
  const fillLeft = matching.fillLeft ?? null;
  const fillRight = matching.fillRight ?? null;
  if ((lhsIn.length === 0 && fillLeft === null) || (rhsIn.length === 0 && fillRight === null)) return;
  const oneToMany = matching.card === 'one-to-many';
  // The "one" side goes right; for one-to-many the sides swap and the values swap back below.
  const lhs = oneToMany ? rhsIn : lhsIn;
  const rhs = oneToMany ? lhsIn : rhsIn;
  const rightSigs = new Map<number, number>();
  for (let j = 0; j < rhs.length; j++) {
    const sig = rhs.sig[j];
    const dup = rightSigs.get(sig);
    if (dup !== undefined) {
      const side = oneToMany ? 'left' : 'right';
      const matched = matching.on ? keepLabels(rhs.labels[j], matching.labels) : dropLabels(rhs.labels[j], [...matching.labels, METRIC_NAME]);
      throw new QueryError(
        'execution',
        `found duplicate series for the match group ${labelsString(matched)} on the ${side} hand-side of the operation: ` +
          `[${labelsString(rhs.labels[j])}, ${labelsString(rhs.labels[dup])}];many-to-many matching not allowed: matching labels must be unique on one side`,
      );
    }
    rightSigs.set(sig, j);
  }
  const isComparison = COMPARISON.has(op);
  const matched = new Map<number, Set<string> | null>();
  // With fill_right, a left series without a match meets the fill value; with fill_left, each
  // right series no left series matched meets it, as a left series carrying its match labels.
  const lhsSigs = fillLeft === null ? null : new Set(lhs.sig);
  for (let i = 0; i < lhs.length + (lhsSigs === null ? 0 : rhs.length); i++) {
    let lhsLabels: Labels;
    let rhsLabels: Labels;
    let fl: number;
    let fr: number;
    let sig: number;
    if (i < lhs.length) {
      sig = lhs.sig[i];
      const j = rightSigs.get(sig);
      if (j === undefined && fillRight === null) continue;
      lhsLabels = lhs.labels[i];
      fl = lhs.values[i];
      rhsLabels = j === undefined ? EMPTY_LABELS : rhs.labels[j];
      fr = j === undefined ? fillRight! : rhs.values[j];
    } else {
      const j = i - lhs.length;
      sig = rhs.sig[j];
      if (lhsSigs!.has(sig)) continue;
      rhsLabels = rhs.labels[j];
      fr = rhs.values[j];
      lhsLabels = matching.on ? keepLabels(rhsLabels, matching.labels) : dropLabels(rhsLabels, [...matching.labels, METRIC_NAME]);
      fl = fillLeft!;
    }
    if (oneToMany) [fl, fr] = [fr, fl];
    let value: number;
    let keep = true;
    if (isComparison) {
      keep = compare(op, fl, fr);
      value = fl;
    } else value = arith(op, fl, fr);
    if (returnBool) value = keep ? 1 : 0;
    const metric = resultMetric(lhsLabels, rhsLabels, op, matching, resultCache);
    const seen = matched.get(sig);
    if (matching.card === 'one-to-one') {
      if (seen !== undefined) {
        throw new QueryError('execution', 'multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)');
      }
      matched.set(sig, null);
    } else {
      const key = labelsKey(metric);
      if (seen === undefined || seen === null) matched.set(sig, new Set([key]));
      else if (seen.has(key)) throw new QueryError('execution', 'multiple matches for labels: grouping labels must ensure unique matches');
      else seen.add(key);
    }
    if (!keep && !returnBool) continue;
    out.push(metric, value, returnBool);
  }
}

const EMPTY_LABELS: Labels = [];

function resultMetric(lhs: Labels, rhs: Labels, op: BinaryOp, matching: VectorMatching, cache: Map<string, Labels>): Labels {
  const cacheKey = labelsKey(lhs) + '\u0000' + labelsKey(rhs);
  const cached = cache.get(cacheKey);
  if (cached !== undefined) return cached;
  let out = lhs;
  if (CHANGES_METRIC.has(op)) out = dropLabels(out, METADATA_LABELS);
  if (matching.card === 'one-to-one') out = matching.on ? keepLabels(out, matching.labels) : dropLabels(out, matching.labels);
  for (const name of matching.include) out = setLabel(out, name, getLabel(rhs, name));
  cache.set(cacheKey, out);
  return out;
}

/** A label set as Prometheus prints one in messages: `{__name__="up", job="node"}`. */
export function labelsString(labels: Labels): string {
  const parts: string[] = [];
  for (let i = 0; i < labels.length; i += 2) parts.push(`${labels[i]}=${JSON.stringify(labels[i + 1])}`);
  return `{${parts.join(', ')}}`;
}
