import type { Expr, ValueType } from '../ast.ts';
import { lookupFunction } from '../functions.ts';

/**
 * The value type an expression evaluates to. (The parser computes the same; the engine keeps its
 * own so it depends on the AST alone.)
 */
export function valueType(e: Expr): ValueType {
  switch (e.kind) {
    case 'NumberLiteral':
      return 'scalar';
    case 'StringLiteral':
      return 'string';
    case 'VectorSelector':
    case 'AggregateExpr':
      return 'vector';
    case 'MatrixSelector':
    case 'SubqueryExpr':
      return 'matrix';
    case 'BinaryExpr':
      return valueType(e.lhs) === 'scalar' && valueType(e.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr':
    case 'ParenExpr':
      return valueType(e.expr);
    case 'Call':
      return lookupFunction(e.func)?.returnType ?? 'vector';
  }
}
