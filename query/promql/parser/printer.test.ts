import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LabelMatcher } from '../../../model/matchers.ts';
import type { BinaryOp, Expr, VectorSelector } from '../ast.ts';
import { parseExpr, printExpr } from './index.ts';
import { formatNumber, quote } from './printer.ts';

/** An AST without positions, matchers as sorted strings: what a round trip must preserve. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value instanceof LabelMatcher) return String(value);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'pos') continue;
      out[k] = k === 'matchers' ? (v as LabelMatcher[]).map(String).sort() : shape(v);
    }
    return out;
  }
  return Number.isNaN(value) ? 'NaN' : value;
}

const QUERIES = [
  '1', '-1.5e-7', '0x10', 'Inf', '-Inf', 'NaN', '"a\\"b\\n"', '`raw`', "'single'",
  'foo', 'foo{a="b",c!="d",e=~"f.*",g!~"h"}', '{__name__=~"a|b"}', '{"my.metric", "a.b"="c"}', 'foo{"x y"="z"}',
  'foo offset 5m', 'foo offset -1h30m', 'foo @ 1700000000.123', 'foo @ start() offset 1m', 'foo[5m] @ end()',
  'foo[1h:5m] offset 1d', 'foo[1h:]', 'rate(foo[90s])[1d:1h] @ 100', 'foo[1500ms]',
  'sum by (job, "a.b") (rate(foo{bar="baz"}[5m]))', 'topk without (a) (3, foo)', 'count_values("v", foo)',
  'quantile(0.99, foo) by ()', 'sum without () (foo)',
  'a + b * c ^ d ^ e', '(a + b) * c', 'a - (b - c)', '-a ^ 2', '-(a ^ 2)', '-1 ^ 2', '(-1) ^ 2', '1 + -2',
  'a == bool on (x) group_left (y, z) b', 'a / ignoring (x) group_right b', 'a and on () b or c unless d',
  'a > bool 1', '1 < bool 2', 'a atan2 b',
  'label_replace(up, "a", "$1", "b", "(.*)")', 'histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))',
  'round(foo, 0.1)', 'time() - timestamp(foo)', 'day_of_week()', 'absent_over_time(foo[1h])',
  'a + b offset 5m', '-foo offset 5m @ 3', 'integral(foo[5m])', 'info(foo, {a="b"})', 'limitk(2, foo)',
];

describe('printExpr', () => {
  it.each(QUERIES)('round-trips %s', (query) => {
    const expr = parseExpr(query);
    const printed = printExpr(expr);
    expect(shape(parseExpr(printed))).toEqual(shape(expr));
    expect(printExpr(parseExpr(printed))).toBe(printed); // printing is a fixed point
  });

  it('formats like Prometheus', () => {
    expect(printExpr(parseExpr('sum(rate(foo{bar="baz"}[5m])) by (job)'))).toBe('sum by (job) (rate(foo{bar="baz"}[5m]))');
    expect(printExpr(parseExpr('foo{b="1",a="2"}'))).toBe('foo{a="2",b="1"}');
    expect(printExpr(parseExpr('a+on(x)group_left b'))).toBe('a + on (x) group_left () b');
    expect(printExpr(parseExpr('foo offset 1m @ 10'))).toBe('foo @ 10.000 offset 1m');
  });

  it('formats numbers as Go FormatFloat(v, f, -1)', () => {
    expect(formatNumber(1e21)).toBe('1000000000000000000000');
    expect(formatNumber(1.5e-7)).toBe('0.00000015');
    expect(formatNumber(-2.5e22)).toBe('-25000000000000000000000');
    expect(formatNumber(0.1)).toBe('0.1');
    expect(formatNumber(Infinity)).toBe('+Inf');
  });

  it('quotes strings as Go strconv.Quote', () => {
    expect(quote('a"b\\c\n\t')).toBe('"a\\"b\\\\c\\n\\t"');
    expect(quote('\x01\x7f')).toBe('"\\x01\\x7f"');
    expect(quote('é😀')).toBe('"é😀"');
  });
});

// --- property: random well-typed ASTs survive print -> parse ---

const pos = { start: 0, end: 0 };
const labelName = fc.stringMatching(/^[a-z_][a-z0-9_]{0,5}$/).filter((s) => s !== '__name__');
const metricName = fc.constantFrom('foo', 'bar_total', 'a:b:c', 'up', 'sum', 'by', 'rate');
const labelValue = fc.string({ maxLength: 6 });
const durationMs = fc.integer({ min: 1, max: 10_000_000 });

const matcher = fc.oneof(
  fc.tuple(labelName, fc.constantFrom('=', '!=') as fc.Arbitrary<'=' | '!='>, labelValue).map(([n, op, v]) => new LabelMatcher(op, n, v)),
  fc.tuple(labelName, fc.constantFrom('=~', '!~') as fc.Arbitrary<'=~' | '!~'>, fc.constantFrom('a.*', 'b|c', '.+', 'x[0-9]+')).map(
    ([n, op, v]) => new LabelMatcher(op, n, v),
  ),
);

const at = fc.option(
  fc.oneof(
    fc.constant({ kind: 'start' as const }),
    fc.constant({ kind: 'end' as const }),
    fc.integer({ min: -1e12, max: 1e12 }).map((ms) => ({ kind: 'timestamp' as const, ms })),
  ),
);

const selector: fc.Arbitrary<VectorSelector> = fc
  .record({ name: metricName, matchers: fc.array(matcher, { maxLength: 3 }), offsetMs: fc.integer({ min: -1e9, max: 1e9 }), at })
  .map(({ name, matchers, offsetMs, at }) => ({
    kind: 'VectorSelector',
    name,
    matchers: [...matchers, new LabelMatcher('=', '__name__', name)],
    offsetMs,
    at,
    pos,
  }));

const scalar: fc.Arbitrary<Expr> = fc.oneof(
  fc.double({ min: 0, max: 1e6, noNaN: true }).map((value): Expr => ({ kind: 'NumberLiteral', value, pos })),
  fc.constant({ kind: 'Call', func: 'time', args: [], pos } as Expr),
);

const paren = (e: Expr): Expr => (e.kind === 'BinaryExpr' || e.kind === 'UnaryExpr' || (e.kind === 'NumberLiteral' && e.value < 0) ? { kind: 'ParenExpr', expr: e, pos } : e);

const { vector } = fc.letrec<{ vector: Expr }>((tie) => ({
  vector: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    selector,
    fc.tuple(selector, durationMs).map(([vs, rangeMs]): Expr => ({
      kind: 'Call', func: 'rate', args: [{ kind: 'MatrixSelector', vector: vs, rangeMs, pos }], pos,
    })),
    fc.tuple(tie('vector'), durationMs, fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: -1e6, max: 1e6 }), at).map(
      ([e, rangeMs, stepMs, offsetMs, at]): Expr => ({
        kind: 'Call', func: 'max_over_time', args: [{ kind: 'SubqueryExpr', expr: paren(e), rangeMs, stepMs, offsetMs, at, pos }], pos,
      }),
    ),
    fc.tuple(fc.constantFrom('sum', 'avg', 'count', 'group'), tie('vector'), fc.array(labelName, { maxLength: 2 }), fc.boolean()).map(
      ([op, e, grouping, without]): Expr => ({ kind: 'AggregateExpr', op, expr: e, param: null, grouping, without, pos }),
    ),
    fc.tuple(fc.constantFrom('topk', 'quantile'), scalar, tie('vector')).map(([op, p, e]): Expr => ({
      kind: 'AggregateExpr', op, expr: e, param: p, grouping: [], without: false, pos,
    })),
    fc.tuple(fc.constantFrom<BinaryOp>('+', '-', '*', '/', '%', '^', 'atan2', '==', '>'), tie('vector'), tie('vector'), fc.boolean(), fc.array(labelName, { maxLength: 2 })).map(
      ([op, l, r, bool, labels]): Expr => ({
        kind: 'BinaryExpr', op, lhs: paren(l), rhs: paren(r), returnBool: bool && (op === '==' || op === '>'),
        matching: { card: 'one-to-one', on: labels.length > 0, labels, include: [] }, pos,
      }),
    ),
    fc.tuple(fc.constantFrom<BinaryOp>('and', 'or', 'unless'), tie('vector'), tie('vector')).map(([op, l, r]): Expr => ({
      kind: 'BinaryExpr', op, lhs: paren(l), rhs: paren(r), returnBool: false, matching: { card: 'many-to-many', on: false, labels: [], include: [] }, pos,
    })),
    fc.tuple(tie('vector'), scalar).map(([l, r]): Expr => ({ kind: 'BinaryExpr', op: '*', lhs: paren(l), rhs: r, returnBool: false, matching: null, pos })),
    tie('vector').map((e): Expr => ({ kind: 'UnaryExpr', op: '-', expr: paren(e), pos })),
    tie('vector').map((e): Expr => ({ kind: 'ParenExpr', expr: e, pos })),
  ),
}));

describe('printExpr property', () => {
  it('parseExpr(printExpr(ast)) equals ast', () => {
    fc.assert(
      fc.property(vector, (ast) => {
        const printed = printExpr(ast);
        expect(shape(parseExpr(printed)), printed).toEqual(shape(ast));
      }),
      { numRuns: 400, seed: 42 },
    );
  });
});
