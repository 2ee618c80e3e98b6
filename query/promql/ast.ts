import type { LabelMatcher } from '../../model/matchers.ts';

/**
 * The typed PromQL syntax tree: a discriminated union on `kind`, every node with its position in
 * the query text (`pos`: UTF-16 offsets, end exclusive). Durations are milliseconds.
 */

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export interface PosRange {
  readonly start: number;
  readonly end: number;
}

/** `@ <timestamp>`, `@ start()`, `@ end()`. */
export type AtModifier = { readonly kind: 'timestamp'; readonly ms: number } | { readonly kind: 'start' } | { readonly kind: 'end' };

export interface NumberLiteral {
  readonly kind: 'NumberLiteral';
  readonly value: number;
  readonly pos: PosRange;
}

export interface StringLiteral {
  readonly kind: 'StringLiteral';
  readonly value: string;
  readonly pos: PosRange;
}

export interface VectorSelector {
  readonly kind: 'VectorSelector';
  /** The metric name written before the braces ('' when only matchers are given). */
  readonly name: string;
  /** Every matcher, the name's `__name__="..."` matcher included. */
  readonly matchers: readonly LabelMatcher[];
  readonly offsetMs: number;
  readonly at: AtModifier | null;
  readonly pos: PosRange;
  /**
   * Prometheus's experimental extended range selectors, written after the selector or its range:
   * `anchored` (a range also takes the last sample before its start, and rate/increase/delta do
   * not extrapolate) and `smoothed` (values at the range's edges, or at an instant selector's
   * time, are interpolated between the neighbouring samples). Absent means neither.
   */
  readonly anchored?: boolean;
  readonly smoothed?: boolean;
}

export interface MatrixSelector {
  readonly kind: 'MatrixSelector';
  /** The selector, carrying the offset and @ written after the range. */
  readonly vector: VectorSelector;
  readonly rangeMs: number;
  readonly pos: PosRange;
}

export interface SubqueryExpr {
  readonly kind: 'SubqueryExpr';
  readonly expr: Expr;
  readonly rangeMs: number;
  /** 0 when omitted (the engine's default resolution applies). */
  readonly stepMs: number;
  readonly offsetMs: number;
  readonly at: AtModifier | null;
  readonly pos: PosRange;
}

export const AGGREGATE_OPS = [
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar',
  'topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio',
] as const;
export type AggregateOp = (typeof AGGREGATE_OPS)[number];

export interface AggregateExpr {
  readonly kind: 'AggregateExpr';
  readonly op: AggregateOp;
  readonly expr: Expr;
  /** The parameter of topk, bottomk, quantile, count_values, limitk, limit_ratio. */
  readonly param: Expr | null;
  readonly grouping: readonly string[];
  /** `without (...)`; false for `by (...)` and for no clause. */
  readonly without: boolean;
  readonly pos: PosRange;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^' | 'atan2';
export type ComparisonOp = '==' | '!=' | '>' | '<' | '>=' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | ComparisonOp | SetOp;

export type Cardinality = 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';

export interface VectorMatching {
  readonly card: Cardinality;
  /** `on (...)` when true, `ignoring (...)` when false. */
  readonly on: boolean;
  readonly labels: readonly string[];
  /** The `group_left (...)` / `group_right (...)` extra labels. */
  readonly include: readonly string[];
  /**
   * The experimental binop fill modifiers (`fill(v)`, `fill_left(v)`, `fill_right(v)`): the value
   * a missing left / right operand takes, so that a series without a match still gives a result;
   * absent or null without one. As in Prometheus, left and right name the sides after a
   * `group_right` swapped them: the "many" side is the left one.
   */
  readonly fillLeft?: number | null;
  readonly fillRight?: number | null;
}

export interface BinaryExpr {
  readonly kind: 'BinaryExpr';
  readonly op: BinaryOp;
  readonly lhs: Expr;
  readonly rhs: Expr;
  /** The `bool` modifier of a comparison. */
  readonly returnBool: boolean;
  /** Vector matching; null unless both sides are vectors. */
  readonly matching: VectorMatching | null;
  readonly pos: PosRange;
}

export interface UnaryExpr {
  readonly kind: 'UnaryExpr';
  readonly op: '+' | '-';
  readonly expr: Expr;
  readonly pos: PosRange;
}

export interface Call {
  readonly kind: 'Call';
  /** The function's name, as in the function table (functions.ts). */
  readonly func: string;
  readonly args: readonly Expr[];
  readonly pos: PosRange;
}

export interface ParenExpr {
  readonly kind: 'ParenExpr';
  readonly expr: Expr;
  readonly pos: PosRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | Call
  | ParenExpr;
