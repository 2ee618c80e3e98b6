import type { SyntaxNode, Tree } from '@lezer/common';
import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import { LabelMatcher, type MatchOp } from '../../../model/matchers.ts';
import { RegexSyntaxError } from '../../../model/regex.ts';
import {
  AGGREGATE_OPS,
  type AggregateExpr,
  type AggregateOp,
  type AtModifier,
  type BinaryExpr,
  type BinaryOp,
  type Call,
  type Expr,
  type MatrixSelector,
  type NumberLiteral,
  type PosRange,
  type SubqueryExpr,
  type ValueType,
  type VectorMatching,
  type VectorSelector,
} from '../ast.ts';
import { argCountRange, argType, FUNCTIONS, lookupFunction } from '../functions.ts';
import { PromQLParseError, type ParseErrorCode } from './errors.ts';
import { isDurationText, numberValue, skipSpace, tokenAt, unquote } from './lexical.ts';
import { documentedType, exprType } from './types.ts';

/**
 * PromQL text -> the typed AST of ast.ts, with Prometheus 3.x semantics (`promql/parser`).
 *
 * Three passes:
 * 1. lezer (`@prometheus-io/lezer-promql`, the grammar of Prometheus's web UI) builds a syntax
 *    tree; its first error node becomes a `PromQLParseError` naming the token there. A pre-pass
 *    hides function names the grammar does not know yet (see `hideUnknownFunctions`).
 * 2. The tree is converted node by node. What Prometheus's yacc actions check is checked here:
 *    numbers, strings, regexes, ranges, offsets, `@`, aggregation arguments, binary modifiers.
 * 3. A type check, Prometheus's `checkAST`, top-down over the finished AST.
 */

export interface ParseOptions {
  /**
   * Accept what Prometheus puts behind `--enable-feature=promql-experimental-functions` and
   * `promql-duration-expr`: experimental functions, `limitk` / `limit_ratio`, and constant duration
   * arithmetic (`[5m * 2]`). Default true.
   */
  readonly experimental?: boolean;
  /**
   * The step and range of the query the expression is parsed for, which `step()` and `range()`
   * in duration expressions (`[step() * 2]`, `offset range()`) stand for, as Prometheus's
   * durationVisitor fills them in before evaluation: an instant query has step 0 and range 0.
   * Without them those two are rejected as unsupported, since their values are not known.
   */
  readonly queryDurations?: QueryDurations;
  /**
   * Accept the experimental binop fill modifiers (`a + fill(0) b`; Prometheus's
   * `--enable-feature=promql-binop-fill-modifiers`), which sluice's engine evaluates. Off by
   * default, since the ClickHouse translator does not know them: its parse leaves them unsupported.
   */
  readonly fillModifiers?: boolean;
  /**
   * Accept the experimental `anchored` and `smoothed` modifiers (Prometheus's
   * `--enable-feature=promql-extended-range-selectors`), which sluice's engine evaluates. Off by
   * default for the same reason as `fillModifiers`.
   */
  readonly extendedRangeSelectors?: boolean;
}

/** A query's step and its range (end minus start), in milliseconds. */
export interface QueryDurations {
  readonly stepMs: number;
  readonly rangeMs: number;
}

/** Parses one PromQL expression. Throws `PromQLParseError`. */
export function parseExpr(input: string, options: ParseOptions = {}): Expr {
  return new Parser(input, options.experimental ?? true, options.queryDurations, options.fillModifiers ?? false, options.extendedRangeSelectors ?? false).parse();
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface BinaryMods {
  readonly opRange: PosRange;
  readonly on: boolean;
  readonly labels: string[];
  readonly include: string[];
  readonly card: VectorMatching['card'];
  readonly fillLeft?: number | null;
  readonly fillRight?: number | null;
}

const EXPR_NODES = new Set([
  'AggregateExpr', 'BinaryExpr', 'FunctionCall', 'MatrixSelector', 'NumberDurationLiteral', 'OffsetExpr',
  'AnchoredExpr', 'SmoothedExpr', 'ParenExpr', 'StringLiteral', 'SubqueryExpr', 'UnaryExpr', 'VectorSelector',
  'StepInvariantExpr',
]);

const BINARY_OPS: Readonly<Record<string, BinaryOp>> = {
  Pow: '^', Mul: '*', Div: '/', Mod: '%', Atan2: 'atan2', Add: '+', Sub: '-',
  Eql: '==', Neq: '!=', Gtr: '>', Lss: '<', Gte: '>=', Lte: '<=',
  And: 'and', Or: 'or', Unless: 'unless',
};

const MATCH_OPS: Readonly<Record<string, MatchOp>> = { EqlSingle: '=', Neq: '!=', EqlRegex: '=~', NeqRegex: '!~' };

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const SET_OPS = new Set<BinaryOp>(['and', 'or', 'unless']);
const PARAM_AGGREGATES = new Set<AggregateOp>(['topk', 'bottomk', 'quantile', 'count_values', 'limitk', 'limit_ratio']);
const EXPERIMENTAL_AGGREGATES = new Set<AggregateOp>(['limitk', 'limit_ratio']);

/** Words that cannot be an unknown function's name when followed by `(`. */
const NOT_FUNCTIONS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless',
  'atan2', 'start', 'end', 'fill', 'fill_left', 'fill_right', 'min_of', 'max_of', ...AGGREGATE_OPS,
]);

const EXPERIMENTAL_FLAG = '--enable-feature=promql-experimental-functions';

/** Where the first syntax error sits, for the message's "in ..." part. */
const ERROR_CONTEXT: Readonly<Record<string, string>> = {
  LabelMatchers: 'label matching',
  UnquotedLabelMatcher: 'label matching',
  QuotedLabelMatcher: 'label matching',
  GroupingLabels: 'grouping opts',
  AggregateModifier: 'grouping opts',
  MatchingModifierClause: 'grouping opts',
  MatrixSelector: 'subquery or range',
  SubqueryExpr: 'subquery selector',
  DurationExpr: 'duration',
  OffsetExpr: 'offset',
  OffsetDurationExpr: 'offset',
  StepInvariantExpr: '@',
  FunctionCallBody: 'call',
  AggregateExpr: 'aggregation',
};

class Parser {
  /** The text lezer sees: `input` with unknown-to-lezer function names hidden (same length). */
  private readonly text: string;
  /** Start offset -> the function name hidden there. */
  private readonly hidden = new Map<number, string>();
  /** Selectors, matrix selectors and subqueries that have an `offset` written. */
  private readonly offsetSet = new WeakSet<object>();
  /** The written modifiers of each binary expression, to check it again after `postfix`. */
  private readonly binaryMods = new WeakMap<BinaryExpr, BinaryMods>();
  /** The label-only selectors of `info()`'s second argument: no non-empty matcher required. */
  private readonly bypassEmptyCheck = new WeakSet<object>();

  constructor(
    private readonly input: string,
    private readonly experimental: boolean,
    private readonly queryDurations: QueryDurations | undefined,
    private readonly fillModifiers: boolean,
    private readonly extendedRangeSelectors: boolean,
  ) {
    this.text = this.hideUnknownFunctions(input);
  }

  parse(): Expr {
    if (skipSpace(this.input, 0) >= this.input.length) {
      this.fail({ start: 0, end: this.input.length }, 'no expression found in input');
    }
    const tree = lezerParser.parse(this.text);
    this.checkSyntax(tree);
    const top = this.children(tree.topNode).filter((n) => EXPR_NODES.has(n.name));
    if (top.length !== 1) this.fail(this.range(tree.topNode), 'no expression found in input');
    const expr = this.expr(top[0]);
    this.check(expr);
    return expr;
  }

  // --- errors ---

  private fail(pos: PosRange, reason: string, code: ParseErrorCode = 'syntax', hint = ''): never {
    throw new PromQLParseError(this.input, pos, reason, code, hint);
  }

  private notEnabled(pos: PosRange, reason: string, hint: string): never {
    this.fail(pos, reason, 'experimental', hint);
  }

  /** Turns lezer's first error node (or an unterminated string before it) into an error. */
  private checkSyntax(tree: Tree): void {
    let error: SyntaxNode | null = null;
    let badString: { from: number; to: number; reason: string } | null = null;
    tree.iterate({
      enter: (ref) => {
        if (ref.type.isError) {
          if (error === null || ref.from < error.from) error = ref.node;
          return false;
        }
        if (ref.name === 'StringLiteral' && badString === null) {
          const u = unquote(this.input.slice(ref.from, ref.to));
          if ('error' in u) badString = { from: ref.from, to: ref.to, reason: u.error };
        }
        return undefined;
      },
    });
    const err = error as SyntaxNode | null;
    const str = badString as { from: number; to: number; reason: string } | null;
    if (str && (err === null || str.from <= err.from)) this.fail({ start: str.from, end: str.to }, str.reason);
    if (err === null) return;

    const tok = tokenAt(this.input, err.from);
    if (tok.kind === 'punct' && tok.text === '(') {
      const m = /([A-Za-z_:][A-Za-z0-9_:]*)\s*$/.exec(this.input.slice(0, tok.start));
      if (m && !NOT_FUNCTIONS.has(m[1].toLowerCase())) {
        const start = tok.start - m[0].length;
        this.fail({ start, end: start + m[1].length }, `unknown function with name ${JSON.stringify(m[1])}`, 'syntax', suggestFunction(m[1]));
      }
    }
    if (tok.kind === 'char') this.fail({ start: tok.start, end: tok.end }, `unexpected character: ${JSON.stringify(tok.text)}`);
    let context = '';
    for (let p: SyntaxNode | null = err.parent; p !== null && context === ''; p = p.parent) context = ERROR_CONTEXT[p.name] ?? '';
    const hint = tok.kind === 'keyword' && tok.text.toLowerCase() === 'bool' ? 'bool follows the comparison operator: a > bool b' : '';
    this.fail({ start: tok.start, end: Math.max(tok.end, tok.start) }, `unexpected ${tok.desc}${context ? ` in ${context}` : ''}`, 'syntax', hint);
  }

  // --- tree helpers ---

  private children(node: SyntaxNode): SyntaxNode[] {
    const out: SyntaxNode[] = [];
    for (let c = node.firstChild; c !== null; c = c.nextSibling) if (c.name !== 'LineComment') out.push(c);
    return out;
  }

  private src(node: SyntaxNode): string {
    return this.input.slice(node.from, node.to);
  }

  private range(node: SyntaxNode): PosRange {
    return { start: node.from, end: node.to };
  }

  private bug(node: SyntaxNode): never {
    throw new Error(`bug: unexpected lezer node ${node.name} at ${node.from} in ${JSON.stringify(this.input)}`);
  }

  // --- conversion ---

  private expr(node: SyntaxNode): Expr {
    switch (node.name) {
      case 'NumberDurationLiteral':
        return this.numberLiteral(node, false);
      case 'StringLiteral':
        return { kind: 'StringLiteral', value: this.string(node), pos: this.range(node) };
      case 'ParenExpr': {
        const [inner] = this.children(node);
        return { kind: 'ParenExpr', expr: this.expr(inner), pos: this.range(node) };
      }
      case 'VectorSelector':
        return this.vectorSelector(node);
      case 'MatrixSelector':
        return this.matrixSelector(node);
      case 'SubqueryExpr':
        return this.subquery(node);
      case 'OffsetExpr':
        return this.offsetExpr(node);
      case 'StepInvariantExpr':
        return this.atExpr(node);
      case 'AggregateExpr':
        return this.aggregate(node);
      case 'BinaryExpr':
        return this.binary(node);
      case 'UnaryExpr':
        return this.unary(node);
      case 'FunctionCall':
        return this.call(node);
      case 'AnchoredExpr':
      case 'SmoothedExpr':
        return this.extendedSelector(node);
      default:
        return this.bug(node);
    }
  }

  /** `foo[5m] anchored`, `foo[5m] smoothed`, `foo smoothed`: the modifier marks the selector. */
  private extendedSelector(node: SyntaxNode): Expr {
    const word = node.name === 'AnchoredExpr' ? 'anchored' : 'smoothed';
    if (!this.experimental) this.notEnabled(this.range(node), `${word} modifier is experimental and not enabled`, '');
    if (!this.extendedRangeSelectors) {
      this.fail(this.range(node), `the ${word} modifier (experimental extended range selectors) is not supported here`, 'unsupported');
    }
    const [innerNode] = this.children(node);
    const inner = this.expr(innerNode);
    let selector: Mutable<VectorSelector>;
    if (inner.kind === 'MatrixSelector') selector = inner.vector as Mutable<VectorSelector>;
    else if (inner.kind === 'VectorSelector' && word === 'smoothed') selector = inner as Mutable<VectorSelector>;
    else {
      const what = word === 'smoothed' ? 'an instant vector selector or a range vector selector' : 'a range vector selector';
      return this.fail(inner.pos, `${word} modifier must be preceded by ${what}`, 'type');
    }
    if (selector.anchored === true || selector.smoothed === true) this.fail(this.range(node), 'anchored and smoothed modifiers cannot be combined or repeated', 'type');
    if (word === 'anchored') selector.anchored = true;
    else selector.smoothed = true;
    (inner as Mutable<typeof inner>).pos = this.range(node);
    return inner;
  }

  private numberLiteral(node: SyntaxNode, unsigned: boolean): NumberLiteral {
    const text = this.src(node);
    let sign = 1;
    let i = 0;
    if (text[0] === '-' || text[0] === '+') {
      sign = text[0] === '-' ? -1 : 1;
      i = skipSpace(text, 1);
    }
    const digits = text.slice(i);
    const value = numberValue(digits);
    if (value === undefined) this.fail(this.range(node), `error parsing number: invalid syntax ${JSON.stringify(digits)}`);
    if (unsigned) return { kind: 'NumberLiteral', value, pos: { start: node.from + i, end: node.to } };
    return { kind: 'NumberLiteral', value: sign * value, pos: this.range(node) };
  }

  private string(node: SyntaxNode): string {
    const u = unquote(this.src(node));
    if ('error' in u) this.fail(this.range(node), u.error);
    return u.value;
  }

  private vectorSelector(node: SyntaxNode): VectorSelector {
    let name = '';
    const matchers: LabelMatcher[] = [];
    for (const child of this.children(node)) {
      if (child.name === 'Identifier') {
        name = this.src(child);
        continue;
      }
      if (child.name !== 'LabelMatchers') this.bug(child);
      for (const m of this.children(child)) {
        if (m.name === 'QuotedLabelName') {
          matchers.push(this.matcher(m, '=', '__name__', this.string(m.firstChild!)));
          continue;
        }
        const [labelNode, opNode, valueNode] = this.children(m);
        const label = m.name === 'QuotedLabelMatcher' ? this.string(labelNode.firstChild!) : this.src(labelNode);
        const op = MATCH_OPS[opNode.firstChild!.name];
        if (op === undefined) this.bug(opNode);
        matchers.push(this.matcher(m, op, label, this.string(valueNode)));
      }
    }
    if (name !== '') matchers.push(new LabelMatcher('=', '__name__', name));
    const vs: VectorSelector = { kind: 'VectorSelector', name, matchers, offsetMs: 0, at: null, pos: this.range(node) };
    return vs;
  }

  private matcher(node: SyntaxNode, op: MatchOp, label: string, value: string): LabelMatcher {
    try {
      return new LabelMatcher(op, label, value);
    } catch (error) {
      if (!(error instanceof RegexSyntaxError)) throw error;
      const where = error.fragment !== '' && error.fragment !== error.pattern ? `: \`${error.fragment}\`` : '';
      throw new PromQLParseError(this.input, this.range(node), `error parsing regexp: ${error.reason}${where}`, 'syntax',
        'label matcher regexes use RE2 syntax and are anchored at both ends', { cause: error });
    }
  }

  /**
   * Applies a postfix modifier (range, subquery, offset, @) to the operand it binds to. Prometheus
   * binds these tighter than any operator (`a + b offset 5m` is `a + (b offset 5m)`, `-foo[5m:]` is
   * `-(foo[5m:])`); lezer's grammar binds them looser, to the whole binary or unary expression to
   * their left. So the modifier goes down the right spine of binary and unary operators to the
   * operand, and the binary expressions on the way are checked again.
   */
  private postfix(expr: Expr, end: number, apply: (operand: Expr) => Expr): Expr {
    if (expr.kind === 'BinaryExpr') {
      const mods = this.binaryMods.get(expr);
      if (mods === undefined) throw new Error('bug: binary expression without recorded modifiers');
      const rhs = this.postfix(expr.rhs, end, apply);
      return this.checkBinary({ ...expr, rhs, pos: { start: expr.pos.start, end } }, mods);
    }
    if (expr.kind === 'UnaryExpr') {
      return { ...expr, expr: this.postfix(expr.expr, end, apply), pos: { start: expr.pos.start, end } };
    }
    return apply(expr);
  }

  private matrixSelector(node: SyntaxNode): Expr {
    const [inner, dur] = this.children(node);
    return this.postfix(this.expr(inner), node.to, (vector) => this.matrixOf(vector, node, dur));
  }

  private matrixOf(vector: Expr, node: SyntaxNode, dur: SyntaxNode): MatrixSelector {
    const bracket = { start: vector.pos.end, end: node.to };
    if (vector.kind !== 'VectorSelector') {
      this.fail(bracket, 'ranges only allowed for vector selectors', 'type', `to evaluate an expression over a range, use a subquery: ${this.input.slice(dur.from - 1, dur.to)}:]`);
    }
    if (this.offsetSet.has(vector)) this.fail(bracket, 'no offset modifiers allowed before range', 'syntax', 'write the offset after the range: foo[5m] offset 1h');
    if (vector.at !== null) this.fail(bracket, 'no @ modifiers allowed before range', 'syntax', 'write the @ modifier after the range: foo[5m] @ 1700000000');
    const rangeMs = this.duration(dur);
    if (rangeMs <= 0) this.fail(this.range(dur), 'range duration must be greater than 0');
    return { kind: 'MatrixSelector', vector, rangeMs, pos: { start: vector.pos.start, end: node.to } };
  }

  private subquery(node: SyntaxNode): Expr {
    const [inner, rangeNode, stepNode] = this.children(node) as [SyntaxNode, SyntaxNode, SyntaxNode | undefined];
    return this.postfix(this.expr(inner), node.to, (expr) => this.subqueryOf(expr, node, rangeNode, stepNode));
  }

  private subqueryOf(expr: Expr, node: SyntaxNode, rangeNode: SyntaxNode, stepNode: SyntaxNode | undefined): SubqueryExpr {
    const rangeMs = this.duration(rangeNode);
    if (rangeMs <= 0) this.fail(this.range(rangeNode), 'subquery range must be greater than 0');
    const stepMs = stepNode === undefined ? 0 : this.duration(stepNode);
    if (stepMs < 0) this.fail(this.range(stepNode!), 'subquery step must not be negative');
    return { kind: 'SubqueryExpr', expr, rangeMs, stepMs, offsetMs: 0, at: null, pos: { start: expr.pos.start, end: node.to } };
  }

  /** The node an offset or @ applies to, with the checks Prometheus's addOffset / setTimestamp make. */
  private modifierTarget(expr: Expr, modifier: 'offset' | '@'): Mutable<VectorSelector> | Mutable<MatrixSelector> | Mutable<SubqueryExpr> {
    if (expr.kind === 'VectorSelector' || expr.kind === 'MatrixSelector' || expr.kind === 'SubqueryExpr') return expr as Mutable<typeof expr>;
    return this.fail(expr.pos, `${modifier} modifier must be preceded by an instant vector selector or range vector selector or a subquery`, 'type');
  }

  private offsetExpr(node: SyntaxNode): Expr {
    const [inner, , dur] = this.children(node);
    return this.postfix(this.expr(inner), node.to, (operand) => this.offsetOf(operand, node, dur));
  }

  private offsetOf(operand: Expr, node: SyntaxNode, dur: SyntaxNode): Expr {
    const target = this.modifierTarget(operand, 'offset');
    if (this.offsetSet.has(target)) this.fail(target.pos, 'offset may not be set multiple times');
    this.offsetSet.add(target);
    const ms = this.duration(dur);
    if (target.kind === 'MatrixSelector') (target.vector as Mutable<VectorSelector>).offsetMs = ms;
    else target.offsetMs = ms;
    target.pos = { start: target.pos.start, end: node.to };
    return target;
  }

  private atExpr(node: SyntaxNode): Expr {
    const [inner, , value] = this.children(node);
    return this.postfix(this.expr(inner), node.to, (operand) => this.atOf(operand, node, value));
  }

  private atOf(operand: Expr, node: SyntaxNode, value: SyntaxNode): Expr {
    const target = this.modifierTarget(operand, '@');
    let at: AtModifier;
    if (value.name === 'AtModifierPreprocessors') {
      at = { kind: value.firstChild!.name === 'AtStart' ? 'start' : 'end' };
    } else {
      const seconds = this.numberLiteral(value, false).value;
      const ms = Math.round(seconds * 1000);
      if (!Number.isFinite(seconds) || !Number.isSafeInteger(ms)) {
        this.fail(this.range(value), `timestamp out of bounds for @ modifier: ${seconds}`);
      }
      at = { kind: 'timestamp', ms };
    }
    const holder = target.kind === 'MatrixSelector' ? (target.vector as Mutable<VectorSelector>) : target;
    if (holder.at !== null) this.fail(target.pos, '@ <timestamp> may not be set multiple times');
    holder.at = at;
    target.pos = { start: target.pos.start, end: node.to };
    return target;
  }

  private aggregate(node: SyntaxNode): AggregateExpr {
    let op: AggregateOp | undefined;
    let grouping: string[] = [];
    let without = false;
    let args: Expr[] = [];
    for (const child of this.children(node)) {
      switch (child.name) {
        case 'AggregateOp':
          op = this.src(child).toLowerCase() as AggregateOp;
          break;
        case 'AggregateModifier': {
          const [kw, labels] = this.children(child);
          without = kw.name === 'Without';
          grouping = this.groupingLabels(labels);
          break;
        }
        case 'FunctionCallBody':
          args = this.children(child).map((a) => this.expr(a));
          break;
        default:
          this.bug(child);
      }
    }
    if (op === undefined || !(AGGREGATE_OPS as readonly string[]).includes(op)) return this.bug(node);
    const pos = this.range(node);
    if (args.length === 0) this.fail(pos, 'no arguments for aggregate expression provided');
    let param: Expr | null = null;
    let desired = 1;
    if (PARAM_AGGREGATES.has(op)) {
      if (EXPERIMENTAL_AGGREGATES.has(op) && !this.experimental) {
        this.notEnabled(pos, `${op}() is experimental and must be enabled with ${EXPERIMENTAL_FLAG}`, '');
      }
      desired = 2;
      param = args[0];
    }
    if (args.length !== desired) {
      this.fail(pos, `wrong number of arguments for aggregate expression provided, expected ${desired}, got ${args.length}`, 'type',
        desired === 2 ? `${op} takes a parameter first: ${op}(${op === 'count_values' ? '"value"' : '5'}, expr)` : '');
    }
    return { kind: 'AggregateExpr', op, expr: args[desired - 1], param, grouping, without, pos };
  }

  private groupingLabels(node: SyntaxNode): string[] {
    return this.children(node).map((l) => (l.name === 'QuotedLabelName' ? this.string(l.firstChild!) : this.src(l)));
  }

  private binary(node: SyntaxNode): Expr {
    const kids = this.children(node);
    const lhsNode = kids[0];
    const rhsNode = kids[kids.length - 1];
    const opNode = kids[1];
    const op = BINARY_OPS[opNode.name];
    const pos = this.range(node);
    if (op === undefined) {
      if (opNode.name === 'TrimUpper' || opNode.name === 'TrimLower') {
        const reason = `the histogram trim operator ${JSON.stringify(this.src(opNode))} is experimental and not supported by sluice`;
        if (!this.experimental) this.notEnabled(this.range(opNode), reason, '');
        this.fail(this.range(opNode), reason, 'unsupported');
      }
      this.bug(opNode);
    }
    let returnBool = false;
    let on = false;
    let labels: string[] = [];
    let include: string[] = [];
    let card: VectorMatching['card'] = 'one-to-one';
    let grouped = false;
    let fillLeft: number | null = null;
    let fillRight: number | null = null;
    for (const mod of kids.slice(2, -1)) {
      switch (mod.name) {
        case 'BoolModifier':
          returnBool = true;
          break;
        case 'MatchingModifierClause':
          for (const part of this.children(mod)) {
            if (part.name === 'On') on = true;
            else if (part.name === 'GroupLeft' || part.name === 'GroupRight') {
              card = part.name === 'GroupLeft' ? 'many-to-one' : 'one-to-many';
              grouped = true;
            } else if (part.name === 'GroupingLabels') {
              if (grouped) include = this.groupingLabels(part);
              else labels = this.groupingLabels(part);
            }
          }
          break;
        case 'FillModifier':
          if (!this.experimental) this.notEnabled(this.range(mod), 'binop fill modifiers are experimental and not enabled', '');
          if (!this.fillModifiers) this.fail(this.range(mod), 'binop fill modifiers are experimental and not supported here', 'unsupported');
          for (const clause of this.children(mod)) {
            const [keyword, literal] = this.children(clause);
            if (literal === undefined || literal.name !== 'NumberDurationLiteral') this.bug(clause);
            const value = this.numberLiteral(literal, false).value;
            if (keyword.name !== 'FillRight') fillLeft = value;
            if (keyword.name !== 'FillLeft') fillRight = value;
          }
          break;
        default:
          this.bug(mod);
      }
    }
    const opRange = { start: opNode.from, end: kids[kids.length - 2].to };

    // `-1 ^ 2` is -(1 ^ 2) in Prometheus (unary minus binds looser than ^); lezer folds the sign into
    // the literal, so unfold it here.
    if (op === '^' && lhsNode.name === 'NumberDurationLiteral' && /^[-+]/.test(this.src(lhsNode))) {
      const lhs = this.numberLiteral(lhsNode, true);
      const rhs = this.expr(rhsNode);
      const inner: BinaryExpr = { kind: 'BinaryExpr', op, lhs, rhs, returnBool, matching: null, pos: { start: lhs.pos.start, end: node.to } };
      const checked = this.checkBinary(inner, { opRange, on, labels, include, card, fillLeft, fillRight });
      return { kind: 'UnaryExpr', op: this.src(lhsNode)[0] as '+' | '-', expr: checked, pos };
    }
    const lhs = this.expr(lhsNode);
    const rhs = this.expr(rhsNode);
    const bin: BinaryExpr = { kind: 'BinaryExpr', op, lhs, rhs, returnBool, matching: null, pos };
    return this.checkBinary(bin, { opRange, on, labels, include, card, fillLeft, fillRight });
  }

  /** Prometheus's checkAST rules for binary operators; sets the vector matching. */
  private checkBinary(bin: Mutable<BinaryExpr>, mods: BinaryMods): BinaryExpr {
    this.binaryMods.set(bin, mods);
    const { opRange, on, labels, include } = mods;
    const fillLeft = mods.fillLeft ?? null;
    const fillRight = mods.fillRight ?? null;
    const filled = fillLeft !== null || fillRight !== null;
    let { card } = mods;
    const { op } = bin;
    const lt = exprType(bin.lhs);
    const rt = exprType(bin.rhs);
    if (bin.returnBool && !COMPARISON.has(op)) this.fail(opRange, 'bool modifier can only be used on comparison operators', 'type');
    if (COMPARISON.has(op) && !bin.returnBool && lt === 'scalar' && rt === 'scalar') {
      this.fail(opRange, 'comparisons between scalars must use BOOL modifier', 'type', `write \`${op} bool\` to compare scalars (1 when true, 0 when false)`);
    }
    if (SET_OPS.has(op) && card === 'one-to-one') card = 'many-to-many';
    if (on) {
      for (const l of include) {
        if (labels.includes(l)) this.fail(opRange, `label ${JSON.stringify(l)} must not occur in ON and GROUP clause at once`, 'type');
      }
    }
    if (lt !== 'scalar' && lt !== 'vector') this.fail(bin.lhs.pos, 'binary expression must contain only scalar and instant vector types', 'type');
    if (rt !== 'scalar' && rt !== 'vector') this.fail(bin.rhs.pos, 'binary expression must contain only scalar and instant vector types', 'type');
    if (lt !== 'vector' || rt !== 'vector') {
      if (labels.length > 0 || on || card === 'many-to-one' || card === 'one-to-many' || filled) {
        this.fail(bin.pos, 'vector matching only allowed between instant vectors', 'type');
      }
      if (SET_OPS.has(op)) this.fail(bin.pos, `set operator ${JSON.stringify(op)} not allowed in binary scalar expression`, 'type');
      bin.matching = null;
      return bin;
    }
    if (SET_OPS.has(op)) {
      if (card === 'one-to-many' || card === 'many-to-one') this.fail(bin.pos, `no grouping allowed for ${JSON.stringify(op)} operation`, 'type');
      if (filled) this.fail(opRange, `fill modifiers are not allowed for set operator ${JSON.stringify(op)}`, 'type');
    }
    bin.matching = filled ? { card, on, labels, include, fillLeft, fillRight } : { card, on, labels, include };
    return bin;
  }

  private unary(node: SyntaxNode): Expr {
    const [opNode, inner] = this.children(node);
    const op = this.src(opNode) as '+' | '-';
    const expr = this.expr(inner);
    if (expr.kind === 'NumberLiteral') {
      return { kind: 'NumberLiteral', value: op === '-' ? -expr.value : expr.value, pos: this.range(node) };
    }
    return { kind: 'UnaryExpr', op, expr, pos: this.range(node) };
  }

  private call(node: SyntaxNode): Call {
    const [ident, body] = this.children(node);
    const name = this.hidden.get(ident.from) ?? this.src(ident);
    const identPos = this.range(ident);
    const def = lookupFunction(name);
    if (def === undefined) this.fail(identPos, `unknown function with name ${JSON.stringify(name)}`, 'syntax', suggestFunction(name));
    if (def.experimental && !this.experimental) {
      this.notEnabled(identPos, `function ${JSON.stringify(name)} is not enabled`, `experimental functions need ${EXPERIMENTAL_FLAG}`);
    }
    const args = this.children(body).map((a) => this.expr(a));
    return { kind: 'Call', func: name, args, pos: this.range(node) };
  }

  // --- durations ---

  /** A range, step or offset in milliseconds. */
  private duration(node: SyntaxNode): number {
    const plain = this.plainDuration(node);
    if (plain !== undefined) return plain;
    if (!this.experimental) {
      this.notEnabled(this.range(node), 'experimental duration expression is not enabled', 'duration arithmetic needs --enable-feature=promql-duration-expr');
    }
    const seconds = this.durationValue(node);
    if (!Number.isFinite(seconds)) this.fail(this.range(node), `duration expression evaluates to ${seconds}`);
    return Math.round(seconds * 1000);
  }

  /** A literal (`5m`, `300`), with leading signs for an offset; undefined for arithmetic. */
  private plainDuration(node: SyntaxNode): number | undefined {
    const kids = this.children(node);
    if (node.name === 'NumberDurationLiteralInDurationContext') return Math.round(this.durationLiteral(node) * 1000);
    if (kids.length === 1 && kids[0].name === 'NumberDurationLiteralInDurationContext') return this.plainDuration(kids[0]);
    if (node.name === 'OffsetDurationExpr' && kids.length === 2 && kids[0].name === 'UnaryOp') {
      const inner = this.plainDuration(kids[1]);
      if (inner === undefined) return undefined;
      return this.src(kids[0]) === '-' ? -inner : inner;
    }
    return undefined;
  }

  /** Seconds of a duration literal; a plain number counts seconds. */
  private durationLiteral(node: SyntaxNode): number {
    const text = this.src(node);
    const value = numberValue(text);
    if (value === undefined) this.fail(this.range(node), `not a valid duration string: ${JSON.stringify(text)}`);
    if (!isDurationText(text) && !Number.isFinite(value)) this.fail(this.range(node), `duration out of range: ${JSON.stringify(text)}`);
    return value;
  }

  /** Evaluates constant duration arithmetic (Prometheus's experimental duration expressions), in seconds. */
  private durationValue(node: SyntaxNode): number {
    const kids = this.children(node);
    if (node.name === 'NumberDurationLiteralInDurationContext') return this.durationLiteral(node);
    if (kids.length === 1) {
      const k = kids[0];
      if (k.name === 'DurationStep' || k.name === 'DurationRange') {
        const q = this.queryDurations;
        if (q === undefined) {
          this.fail(this.range(node), `${this.src(k)}() in a duration expression is not supported without the query's step and range`, 'unsupported');
        }
        return (k.name === 'DurationStep' ? q.stepMs : q.rangeMs) / 1000;
      }
      return this.durationValue(k);
    }
    if (kids.length === 2 && kids[0].name === 'UnaryOp') {
      const v = this.durationValue(kids[1]);
      return this.src(kids[0]) === '-' ? -v : v;
    }
    if (kids.length === 3 && (kids[0].name === 'DurationMinOf' || kids[0].name === 'DurationMaxOf')) {
      const a = this.durationValue(kids[1]);
      const b = this.durationValue(kids[2]);
      return kids[0].name === 'DurationMinOf' ? Math.min(a, b) : Math.max(a, b);
    }
    if (kids.length === 3) {
      const a = this.durationValue(kids[0]);
      const b = this.durationValue(kids[2]);
      switch (kids[1].name) {
        case 'Add':
          return a + b;
        case 'Sub':
          return a - b;
        case 'Mul':
          return a * b;
        case 'Div':
          if (b === 0) this.fail(this.range(node), 'division by zero');
          return a / b;
        case 'Mod':
          if (b === 0) this.fail(this.range(node), 'modulo by zero');
          return a % b;
        case 'Pow':
          return a ** b;
      }
    }
    return this.bug(node);
  }

  // --- type check (Prometheus's checkAST) ---

  private expectType(expr: Expr, want: ValueType, context: string, hint = ''): void {
    const got = this.check(expr);
    if (got !== want) this.fail(expr.pos, `expected type ${documentedType(want)} in ${context}, got ${documentedType(got)}`, 'type', hint);
  }

  private check(expr: Expr): ValueType {
    const type = exprType(expr);
    switch (expr.kind) {
      case 'AggregateExpr':
        this.expectType(expr.expr, 'vector', 'aggregation expression', exprType(expr.expr) === 'matrix' ? 'aggregate over time with a *_over_time function, or over series after rate()' : '');
        if (expr.param !== null) this.expectType(expr.param, expr.op === 'count_values' ? 'string' : 'scalar', 'aggregation parameter');
        break;
      case 'BinaryExpr':
        this.check(expr.lhs);
        this.check(expr.rhs);
        break;
      case 'Call':
        this.checkCall(expr);
        break;
      case 'ParenExpr':
        this.check(expr.expr);
        break;
      case 'UnaryExpr': {
        const t = this.check(expr.expr);
        if (t !== 'scalar' && t !== 'vector') {
          this.fail(expr.pos, `unary expression only allowed on expressions of type scalar or instant vector, got ${JSON.stringify(documentedType(t))}`, 'type');
        }
        break;
      }
      case 'SubqueryExpr': {
        const t = this.check(expr.expr);
        if (t !== 'vector') this.fail(expr.pos, `subquery is only allowed on instant vector, got ${documentedType(t)} instead`, 'type');
        break;
      }
      case 'MatrixSelector':
        this.check(expr.vector);
        break;
      case 'VectorSelector':
        this.checkSelector(expr);
        break;
      case 'NumberLiteral':
      case 'StringLiteral':
        break;
    }
    return type;
  }

  private checkSelector(vs: VectorSelector): void {
    if (vs.name !== '') {
      for (const m of vs.matchers.slice(0, -1)) {
        if (m.name === '__name__') {
          this.fail(vs.pos, `metric name must not be set twice: ${JSON.stringify(vs.name)} or ${JSON.stringify(m.value)}`, 'syntax');
        }
      }
      return;
    }
    if (this.bypassEmptyCheck.has(vs)) return;
    if (!vs.matchers.some((m) => !m.matchesEmpty)) {
      this.fail(vs.pos, 'vector selector must contain at least one non-empty matcher', 'type',
        'add a metric name or a matcher that needs a value, e.g. {job=~".+"}');
    }
  }

  private checkCall(call: Call): void {
    const def = lookupFunction(call.func)!;
    const n = call.args.length;
    const { min, max } = argCountRange(def);
    const quoted = JSON.stringify(def.name);
    if (def.variadic === 0 && n !== min) this.fail(call.pos, `expected ${min} argument(s) in call to ${quoted}, got ${n}`, 'type');
    if (n < min) this.fail(call.pos, `expected at least ${min} argument(s) in call to ${quoted}, got ${n}`, 'type');
    if (n > max) this.fail(call.pos, `expected at most ${max} argument(s) in call to ${quoted}, got ${n}`, 'type');
    if (def.name === 'info' && n > 1) {
      const sel = call.args[1];
      if (exprType(sel) !== 'vector') {
        this.fail(call.pos, `expected type instant vector in call to function ${quoted}, got ${documentedType(exprType(sel))}`, 'type');
      }
      if (sel.kind !== 'VectorSelector') this.fail(sel.pos, 'expected label selectors only', 'type');
      if (sel.name !== '') this.fail(sel.pos, 'expected label selectors only, got vector selector instead', 'type');
      this.bypassEmptyCheck.add(sel);
    }
    call.args.forEach((arg, i) => {
      const want = argType(def, i)!;
      const got = this.check(arg);
      if (got !== want) {
        const hint = want === 'matrix' && got === 'vector' ? `give ${def.name} a range: ${def.name}(foo[5m])` : '';
        this.fail(arg.pos, `expected type ${documentedType(want)} in call to function ${quoted}, got ${documentedType(got)}`, 'type', hint);
      }
    });
  }

  // --- pre-pass ---

  /**
   * Rewrites what the lezer grammar cannot read, keeping every position: calls of functions in
   * sluice's table that it does not know (e.g.
   * `integral`) by a known one-word function padded with spaces (`ln      (`), so positions stay
   * the same; `call()` restores the name from `hidden`. Strings and comments are skipped.
   */
  private hideUnknownFunctions(input: string): string {
    let out = '';
    let i = 0;
    while (i < input.length) {
      const c = input[i];
      if (c === '"' || c === "'" || c === '`') {
        let j = i + 1;
        while (j < input.length && input[j] !== c && (c === '`' || input[j] !== '\n')) j += input[j] === '\\' && c !== '`' ? 2 : 1;
        out += input.slice(i, j + 1);
        i = j + 1;
        continue;
      }
      if (c === '#') {
        let j = i;
        while (j < input.length && input[j] !== '\n') j++;
        out += input.slice(i, j);
        i = j;
        continue;
      }
      // A number with a trailing dot (`2.`, which Go reads as 2) is beyond the grammar's number
      // token: the dot becomes a space, which keeps every position.
      const trailingDot = /^\d+\.(?![0-9A-Za-z_.])/.exec(input.slice(i, i + 64));
      if (trailingDot && (i === 0 || !/[A-Za-z0-9_:.]/.test(input[i - 1]))) {
        out += `${trailingDot[0].slice(0, -1)} `;
        i += trailingDot[0].length;
        continue;
      }
      const m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(input.slice(i, i + 256));
      if (m) {
        const word = m[0];
        const next = skipSpace(input, i + word.length);
        if (input[next] === '(' && FUNCTIONS.has(word) && !lezerKnowsFunction(word) && word.length >= 2) {
          this.hidden.set(i, word);
          out += 'ln' + ' '.repeat(word.length - 2);
        } else if (input[next] === '(' && DURATION_KEYWORDS.has(word.toLowerCase())) {
          // Prometheus reads `step()` / `range()` in a duration expression in any case (`STEP()`);
          // the grammar only in lower case. Elsewhere call() takes the name from the input, so
          // `STEP()` as a function call is still an unknown function.
          out += word.toLowerCase();
        } else {
          out += word;
        }
        i += word.length;
        continue;
      }
      out += c;
      i++;
    }
    return out;
  }
}

/** Words the grammar reads as `step()` / `range()` of a duration expression, lower case only. */
const DURATION_KEYWORDS: ReadonlySet<string> = new Set(['step', 'range']);

const lezerFunctionCache = new Map<string, boolean>();

/** Whether the installed lezer grammar parses `name(...)` as a function call. */
function lezerKnowsFunction(name: string): boolean {
  let known = lezerFunctionCache.get(name);
  if (known === undefined) {
    const top = lezerParser.parse(`${name}()`).topNode.firstChild;
    known = top !== null && top.name === 'FunctionCall';
    lezerFunctionCache.set(name, known);
  }
  return known;
}

/** A "did you mean" hint for an unknown function name. */
function suggestFunction(name: string): string {
  let best = '';
  let bestDistance = Math.min(3, Math.max(2, Math.floor(name.length / 3)));
  for (const candidate of FUNCTIONS.keys()) {
    const d = editDistance(name.toLowerCase(), candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best === '' ? '' : `did you mean ${best}()?`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}
