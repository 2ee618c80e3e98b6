import type { Expr, ValueType } from '../ast.ts';
import { lookupFunction } from '../functions.ts';

/** The static type of an expression (Prometheus's `Expr.Type()`). */
export function exprType(expr: Expr): ValueType {
  switch (expr.kind) {
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
      return exprType(expr.lhs) === 'scalar' && exprType(expr.rhs) === 'scalar' ? 'scalar' : 'vector';
    case 'UnaryExpr':
    case 'ParenExpr':
      return exprType(expr.expr);
    case 'Call': {
      const def = lookupFunction(expr.func);
      if (!def) throw new Error(`bug: call to unknown function ${JSON.stringify(expr.func)} in the AST`);
      return def.returnType;
    }
  }
}

/** The type's name in Prometheus's documentation and error messages ("instant vector"). */
export function documentedType(type: ValueType): string {
  switch (type) {
    case 'vector':
      return 'instant vector';
    case 'matrix':
      return 'range vector';
    default:
      return type;
  }
}
