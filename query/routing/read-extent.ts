import type { Expr } from '../promql/ast.ts';

/**
 * How far from an evaluation time `t` a query reads samples: every selector reads within
 * `[t - before, t + after]` (a negative offset reads after `t`). A query with an `@` modifier
 * anywhere reads at fixed times whatever `t` is: `pinned`, and a router must treat its data
 * needs as unknown. `before` includes the lookback delta of instant selectors.
 */
export interface ReadExtent {
  readonly before: number;
  readonly after: number;
  readonly pinned: boolean;
}

const NONE: ReadExtent = { before: -Infinity, after: -Infinity, pinned: false };

export function readExtent(expr: Expr, lookbackDeltaMs: number): ReadExtent {
  const walk = (e: Expr): ReadExtent => {
    switch (e.kind) {
      case 'NumberLiteral':
      case 'StringLiteral':
        return NONE;
      case 'VectorSelector':
        return { before: e.offsetMs + lookbackDeltaMs, after: -e.offsetMs, pinned: e.at !== null };
      case 'MatrixSelector': {
        const v = e.vector;
        return { before: v.offsetMs + e.rangeMs, after: -v.offsetMs, pinned: v.at !== null };
      }
      case 'SubqueryExpr': {
        const inner = walk(e.expr);
        if (inner.before === -Infinity) return { ...inner, pinned: inner.pinned || e.at !== null };
        // Inner evaluations run from t - offset - range to t - offset.
        return {
          before: e.offsetMs + e.rangeMs + inner.before,
          after: -e.offsetMs + inner.after,
          pinned: inner.pinned || e.at !== null,
        };
      }
      case 'ParenExpr':
      case 'UnaryExpr':
        return walk(e.expr);
      case 'AggregateExpr':
        return union([walk(e.expr), ...(e.param ? [walk(e.param)] : [])]);
      case 'BinaryExpr':
        return union([walk(e.lhs), walk(e.rhs)]);
      case 'Call':
        return union(e.args.map(walk));
    }
  };
  return walk(expr);
}

function union(list: readonly ReadExtent[]): ReadExtent {
  let before = -Infinity;
  let after = -Infinity;
  let pinned = false;
  for (const x of list) {
    if (x.before > before) before = x.before;
    if (x.after > after) after = x.after;
    pinned ||= x.pinned;
  }
  return { before, after, pinned };
}
