import { infoSelector } from './info.ts';
import type { AtModifier, Expr, SubqueryExpr, VectorSelector } from '../ast.ts';

/**
 * What the engine works out about a query before it reads any data:
 * - which subtrees are step-invariant (an `@` modifier pins them to one time, so a range query
 *   evaluates them once and repeats the result at every step), decided the way Prometheus's
 *   PreprocessExpr decides it;
 * - for every selector, the inclusive time range its series must cover over the whole query, so
 *   each selector is fetched from storage once.
 */

/** Functions whose value depends on the evaluation time even when their arguments do not. */
const AT_MODIFIER_UNSAFE = new Set([
  'days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year',
  'predict_linear', 'time', 'timestamp',
]);

export interface QueryTimes {
  readonly startMs: number;
  readonly endMs: number;
  readonly lookbackMs: number;
}

/** The absolute time of an `@` modifier, with `start()` / `end()` resolved to the query's. */
export function resolveAt(at: AtModifier | null, times: QueryTimes): number | null {
  if (at === null) return null;
  switch (at.kind) {
    case 'timestamp':
      return at.ms;
    case 'start':
      return times.startMs;
    case 'end':
      return times.endMs;
  }
}

export function unwrapParens(e: Expr): Expr {
  while (e.kind === 'ParenExpr') e = e.expr;
  return e;
}

/** The nodes to evaluate once and repeat at every step. */
export function findStepInvariant(expr: Expr): Set<Expr> {
  const wrapped = new Set<Expr>();
  const [, shouldWrap] = visit(expr, wrapped);
  if (shouldWrap) wrapped.add(expr);
  return wrapped;
}

/** Returns [isStepInvariant, shouldWrap] as Prometheus's preprocessExprHelper does. */
function visit(e: Expr, wrapped: Set<Expr>): [boolean, boolean] {
  switch (e.kind) {
    case 'VectorSelector':
      return [e.at !== null, e.at !== null];
    case 'AggregateExpr':
      return visit(unwrapParens(e.expr), wrapped);
    case 'BinaryExpr': {
      const [li, lw] = visit(e.lhs, wrapped);
      const [ri, rw] = visit(e.rhs, wrapped);
      if (li && ri) return [true, true];
      if (lw) wrapped.add(e.lhs);
      if (rw) wrapped.add(e.rhs);
      return [false, false];
    }
    case 'Call': {
      let invariant = !AT_MODIFIER_UNSAFE.has(e.func);
      const wrap: boolean[] = [];
      for (const a of e.args) {
        const [ai, aw] = visit(unwrapParens(a), wrapped);
        invariant &&= ai;
        wrap.push(aw);
      }
      if (invariant) return [true, true];
      e.args.forEach((a, i) => {
        if (wrap[i]) wrapped.add(unwrapParens(a));
      });
      return [false, false];
    }
    case 'MatrixSelector':
      return [visit(e.vector, wrapped)[0], false];
    case 'SubqueryExpr': {
      const [inner] = visit(e.expr, wrapped);
      if (inner) wrapped.add(e.expr);
      return [e.at !== null, e.at !== null];
    }
    case 'ParenExpr':
    case 'UnaryExpr':
      return visit(e.expr, wrapped);
    case 'StringLiteral':
    case 'NumberLiteral':
      return [true, false];
  }
}

export interface SelectorRange {
  readonly mint: number;
  readonly maxt: number;
}

/**
 * The inclusive [mint, maxt] each selector needs over the whole query (Prometheus's
 * getTimeRangesForSelector): the query range, widened by the enclosing subqueries' ranges and
 * offsets (an `@` on a subquery or selector pins it), by the lookback delta (instant selectors,
 * left-open so one ms less) or the range (matrix selectors, left-open as well), shifted by the
 * selector's own offset.
 */
export function selectorRanges(expr: Expr, times: QueryTimes): Map<VectorSelector, SelectorRange> {
  const out = new Map<VectorSelector, SelectorRange>();
  const walk = (e: Expr, path: readonly SubqueryExpr[], evalRange: number): void => {
    switch (e.kind) {
      case 'VectorSelector': {
        let start = times.startMs;
        let end = times.endMs;
        let subqOffset = 0;
        let subqRange = 0;
        let subqAt: number | null = null;
        for (const sq of path) {
          subqOffset += sq.offsetMs;
          subqRange += sq.rangeMs;
          const at = resolveAt(sq.at, times);
          if (at !== null) {
            subqOffset = sq.offsetMs;
            subqRange = sq.rangeMs;
            subqAt = at;
          }
        }
        if (subqAt !== null) start = end = subqAt;
        const at = resolveAt(e.at, times);
        if (at !== null) start = end = at;
        else {
          start = start - subqOffset - subqRange;
          end -= subqOffset;
        }
        start -= evalRange === 0 ? times.lookbackMs - 1 : evalRange - 1;
        // anchored / smoothed ranges also read the last sample before the range, within the
        // lookback delta; smoothed selectors the first sample after it too (extended-range.ts).
        if (evalRange > 0 && (e.anchored === true || e.smoothed === true)) start -= times.lookbackMs;
        if (e.smoothed === true) end += times.lookbackMs;
        start -= e.offsetMs;
        end -= e.offsetMs;
        const prev = out.get(e);
        out.set(e, prev === undefined ? { mint: start, maxt: end } : { mint: Math.min(prev.mint, start), maxt: Math.max(prev.maxt, end) });
        return;
      }
      case 'MatrixSelector':
        walk(e.vector, path, e.rangeMs);
        return;
      case 'SubqueryExpr':
        walk(e.expr, [...path, e], 0);
        return;
      case 'AggregateExpr':
        walk(e.expr, path, 0);
        if (e.param !== null) walk(e.param, path, 0);
        return;
      case 'BinaryExpr':
        walk(e.lhs, path, 0);
        walk(e.rhs, path, 0);
        return;
      case 'Call':
        if (e.func === 'info') {
          // The second argument only selects labels; the info series are a selector of their own.
          walk(e.args[0], path, 0);
          walk(infoSelector(e), path, 0);
          return;
        }
        for (const a of e.args) walk(a, path, 0);
        return;
      case 'ParenExpr':
      case 'UnaryExpr':
        walk(e.expr, path, 0);
        return;
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
    }
  };
  walk(expr, [], 0);
  return out;
}
