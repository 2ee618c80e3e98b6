import { describe, expect, it } from 'vitest';
import type { Expr } from '../ast.ts';
import { FUNCTIONS, lookupFunction } from '../functions.ts';
import { exprType, parseExpr, printExpr, PromQLParseError } from './index.ts';
import type { ParseErrorCode } from './errors.ts';

/**
 * Table tests after Prometheus's parse_test.go (its semantics, our own cases). A passing case is
 * `{ input, printed }` (the canonical form printExpr gives) and optionally `ast` (a partial AST the
 * result must match); a failing one is `{ input, fail, at }` (a fragment of the message and the
 * `line:column` it must start with).
 */
interface Ok {
  input: string;
  printed: string;
  ast?: unknown;
  experimental?: boolean;
}
interface Fail {
  input: string;
  fail: string;
  at: string;
  code?: ParseErrorCode;
  experimental?: boolean;
}

const num = (value: number) => ({ kind: 'NumberLiteral', value });

const OK: Ok[] = [
  // number literals
  { input: '1', printed: '1', ast: num(1) },
  { input: '-1', printed: '-1', ast: { ...num(-1), pos: { start: 0, end: 2 } } },
  { input: '+5', printed: '5' },
  { input: '- 2', printed: '-2' },
  { input: '.5', printed: '0.5' },
  { input: '2.', printed: '2', ast: num(2) },
  { input: '2. + 3', printed: '2 + 3' },
  { input: 'min_of(3, 5)', printed: 'min_of(3, 5)', ast: { kind: 'Call', func: 'min_of' } },
  { input: 'max_of(1, NaN)', printed: 'max_of(1, NaN)' },
  { input: '1e3', printed: '1000' },
  { input: '1E-3', printed: '0.001' },
  { input: '0x1F', printed: '31' },
  { input: '0xdeadbeef', printed: '3735928559' },
  { input: '010', printed: '8' },
  { input: '1_000', printed: '1000' },
  { input: 'Inf', printed: '+Inf', ast: num(Infinity) },
  { input: 'iNf', printed: '+Inf' },
  { input: '-inf', printed: '-Inf', ast: num(-Infinity) },
  { input: 'NaN', printed: 'NaN' },
  { input: 'nan', printed: 'NaN' },
  { input: '1m', printed: '60', ast: num(60) },
  { input: '1h30m', printed: '5400' },
  { input: '500ms', printed: '0.5' },
  { input: '1e21', printed: '1000000000000000000000' },
  // strings
  { input: '"double"', printed: '"double"', ast: { kind: 'StringLiteral', value: 'double' } },
  { input: "'single'", printed: '"single"' },
  { input: '`raw \\n`', printed: '"raw \\\\n"', ast: { kind: 'StringLiteral', value: 'raw \\n' } },
  { input: '"a\\nb\\t\\"c\\\\"', printed: '"a\\nb\\t\\"c\\\\"', ast: { value: 'a\nb\t"c\\' } },
  { input: "'it\\'s'", printed: '"it\'s"', ast: { value: "it's" } },
  { input: '"\\x41\\101\\u00e9\\U0001F600"', printed: '"AAé😀"' },
  { input: '"\\a\\b\\f\\v\\r"', printed: '"\\a\\b\\f\\v\\r"' },
  { input: '"ünïcödé"', printed: '"ünïcödé"' },
  // selectors
  {
    input: 'foo',
    printed: 'foo',
    ast: { kind: 'VectorSelector', name: 'foo', offsetMs: 0, at: null, pos: { start: 0, end: 3 } },
  },
  { input: 'foo:bar:rate5m', printed: 'foo:bar:rate5m' },
  { input: 'foo{bar="baz"}', printed: 'foo{bar="baz"}' },
  { input: 'foo{bar="baz",}', printed: 'foo{bar="baz"}' },
  { input: 'foo{b!="x", a=~"y.*", c!~"z"}', printed: 'foo{a=~"y.*",b!="x",c!~"z"}' },
  { input: '{__name__=~"foo.+"}', printed: '{__name__=~"foo.+"}' },
  { input: '{__name__="foo"}', printed: '{__name__="foo"}', ast: { name: '' } },
  { input: '{"my.metric"}', printed: '{__name__="my.metric"}' },
  { input: '{"my.metric", "a.b"="c"}', printed: '{"a.b"="c",__name__="my.metric"}' },
  { input: 'foo{"a.b"!~"x|y"}', printed: 'foo{"a.b"!~"x|y"}' },
  { input: 'foo{on="a", by="b", offset="c", sum="d"}', printed: 'foo{by="b",offset="c",on="a",sum="d"}' },
  { input: 'sum', printed: 'sum' },
  { input: 'by', printed: 'by' },
  { input: 'rate', printed: 'rate' },
  { input: '{a=~".+"}', printed: '{a=~".+"}' },
  { input: '{a="b", c=""}', printed: '{a="b",c=""}' },
  { input: "foo{a='b'}", printed: 'foo{a="b"}' },
  { input: 'foo{a=`b\\.c`}', printed: 'foo{a="b\\\\.c"}' },
  // matrix selectors, offset, @
  {
    input: 'foo[5m]',
    printed: 'foo[5m]',
    ast: { kind: 'MatrixSelector', rangeMs: 300_000, vector: { name: 'foo', offsetMs: 0 }, pos: { start: 0, end: 7 } },
  },
  { input: 'foo[1h30m]', printed: 'foo[1h30m]' },
  { input: 'foo[90s]', printed: 'foo[1m30s]' },
  { input: 'foo[5]', printed: 'foo[5s]', ast: { rangeMs: 5000 } },
  { input: 'foo[1.5]', printed: 'foo[1s500ms]', ast: { rangeMs: 1500 } },
  { input: 'foo[1y2w3d4h5m6s7ms]', printed: 'foo[1y2w3d4h5m6s7ms]' },
  { input: 'foo offset 5m', printed: 'foo offset 5m', ast: { offsetMs: 300_000, pos: { start: 0, end: 13 } } },
  { input: 'foo offset -5m', printed: 'foo offset -5m', ast: { offsetMs: -300_000 } },
  { input: 'foo OFFSET 1h', printed: 'foo offset 1h' },
  { input: 'foo offset 10', printed: 'foo offset 10s' },
  { input: 'foo[5m] offset 1w', printed: 'foo[5m] offset 1w', ast: { vector: { offsetMs: 604_800_000 } } },
  { input: 'foo @ 1603774568', printed: 'foo @ 1603774568.000', ast: { at: { kind: 'timestamp', ms: 1_603_774_568_000 } } },
  { input: 'foo @ -100.5', printed: 'foo @ -100.500', ast: { at: { kind: 'timestamp', ms: -100_500 } } },
  { input: 'foo @ 1.0005', printed: 'foo @ 1.001' },
  { input: 'foo @ start()', printed: 'foo @ start()', ast: { at: { kind: 'start' } } },
  { input: 'foo @ end()', printed: 'foo @ end()', ast: { at: { kind: 'end' } } },
  { input: 'foo @ 100 offset 5m', printed: 'foo @ 100.000 offset 5m' },
  { input: 'foo offset 5m @ 100', printed: 'foo @ 100.000 offset 5m', ast: { offsetMs: 300_000, at: { ms: 100_000 } } },
  { input: 'foo[5m] @ end() offset -1m', printed: 'foo[5m] @ end() offset -1m' },
  { input: 'foo[5m] offset 1m @ 10', printed: 'foo[5m] @ 10.000 offset 1m' },
  // subqueries
  {
    input: 'foo[1h:5m]',
    printed: 'foo[1h:5m]',
    ast: { kind: 'SubqueryExpr', rangeMs: 3_600_000, stepMs: 300_000, offsetMs: 0, at: null },
  },
  { input: 'foo[1h:]', printed: 'foo[1h:]', ast: { stepMs: 0 } },
  { input: 'rate(foo[5m])[1h:1m]', printed: 'rate(foo[5m])[1h:1m]' },
  { input: 'rate(foo[5m])[1h:] offset 10m @ start()', printed: 'rate(foo[5m])[1h:] @ start() offset 10m' },
  { input: 'max_over_time(rate(foo[5m])[30m:1m])', printed: 'max_over_time(rate(foo[5m])[30m:1m])' },
  { input: '(foo + bar)[1h:]', printed: '(foo + bar)[1h:]' },
  { input: 'foo[1h:5m] offset -2m', printed: 'foo[1h:5m] offset -2m', ast: { offsetMs: -120_000 } },
  // aggregations
  {
    input: 'sum by (job) (foo)',
    printed: 'sum by (job) (foo)',
    ast: { kind: 'AggregateExpr', op: 'sum', grouping: ['job'], without: false, param: null },
  },
  { input: 'sum(foo) by (job)', printed: 'sum by (job) (foo)' },
  { input: 'SUM(foo)', printed: 'sum(foo)' },
  { input: 'sum without (a, b) (foo)', printed: 'sum without (a, b) (foo)', ast: { without: true, grouping: ['a', 'b'] } },
  { input: 'sum(foo) without ()', printed: 'sum without () (foo)', ast: { without: true, grouping: [] } },
  { input: 'sum by () (foo)', printed: 'sum(foo)' },
  { input: 'avg by (a,) (foo)', printed: 'avg by (a) (foo)' },
  { input: 'sum by ("a.b", c) (foo)', printed: 'sum by ("a.b", c) (foo)', ast: { grouping: ['a.b', 'c'] } },
  { input: 'sum by (on, by, offset) (foo)', printed: 'sum by (on, by, offset) (foo)' },
  { input: 'topk(5, foo)', printed: 'topk(5, foo)', ast: { op: 'topk', param: num(5) } },
  { input: 'bottomk by (a) (5, foo)', printed: 'bottomk by (a) (5, foo)' },
  { input: 'quantile(0.9, foo)', printed: 'quantile(0.9, foo)' },
  { input: 'count_values("value", foo)', printed: 'count_values("value", foo)' },
  { input: 'limitk(2, foo)', printed: 'limitk(2, foo)' },
  { input: 'limit_ratio(0.5, foo)', printed: 'limit_ratio(0.5, foo)' },
  { input: 'group(foo)', printed: 'group(foo)' },
  { input: 'stddev(foo) + stdvar(foo) + min(foo) + max(foo) + count(foo)', printed: 'stddev(foo) + stdvar(foo) + min(foo) + max(foo) + count(foo)' },
  { input: 'topk(scalar(bar), foo)', printed: 'topk(scalar(bar), foo)' },
  // binary operators and precedence
  {
    input: '1 + 2 * 3',
    printed: '1 + 2 * 3',
    ast: { kind: 'BinaryExpr', op: '+', lhs: num(1), rhs: { op: '*', lhs: num(2), rhs: num(3) }, matching: null },
  },
  { input: '1 * 2 + 3', printed: '1 * 2 + 3', ast: { op: '+', lhs: { op: '*' } } },
  { input: '2 ^ 3 ^ 2', printed: '2 ^ 3 ^ 2', ast: { op: '^', lhs: num(2), rhs: { op: '^', lhs: num(3) } } },
  { input: '1 - 2 - 3', printed: '1 - 2 - 3', ast: { op: '-', lhs: { op: '-' }, rhs: num(3) } },
  { input: '1 -1', printed: '1 - 1', ast: { op: '-', rhs: num(1) } },
  {
    input: '-1 ^ 2',
    printed: '-1 ^ 2',
    ast: { kind: 'UnaryExpr', op: '-', expr: { kind: 'BinaryExpr', op: '^', lhs: num(1), rhs: num(2) } },
  },
  { input: '-foo ^ 2', printed: '-foo ^ 2', ast: { kind: 'UnaryExpr', expr: { op: '^' } } },
  { input: '-1 * 2', printed: '-1 * 2', ast: { op: '*', lhs: num(-1) } },
  { input: '1 == bool 1', printed: '1 == bool 1', ast: { returnBool: true } },
  { input: 'foo > 1', printed: 'foo > 1', ast: { matching: null } },
  { input: 'foo >= bool 1', printed: 'foo >= bool 1' },
  { input: 'foo % 2 atan2 bar', printed: 'foo % 2 atan2 bar', ast: { op: 'atan2', lhs: { op: '%' } } },
  {
    input: 'foo + bar',
    printed: 'foo + bar',
    ast: { matching: { card: 'one-to-one', on: false, labels: [], include: [] } },
  },
  { input: 'foo * on(a, b) bar', printed: 'foo * on (a, b) bar', ast: { matching: { card: 'one-to-one', on: true, labels: ['a', 'b'] } } },
  { input: 'foo * on() bar', printed: 'foo * on () bar', ast: { matching: { on: true, labels: [] } } },
  { input: 'foo * ignoring(a) bar', printed: 'foo * ignoring (a) bar', ast: { matching: { on: false, labels: ['a'] } } },
  {
    input: 'foo * on(a) group_left(b, c) bar',
    printed: 'foo * on (a) group_left (b, c) bar',
    ast: { matching: { card: 'many-to-one', on: true, labels: ['a'], include: ['b', 'c'] } },
  },
  {
    input: 'foo / ignoring(a) group_right bar',
    printed: 'foo / ignoring (a) group_right () bar',
    ast: { matching: { card: 'one-to-many', include: [] } },
  },
  { input: 'foo == bool on(a) bar', printed: 'foo == bool on (a) bar' },
  { input: 'foo and bar', printed: 'foo and bar', ast: { matching: { card: 'many-to-many' } } },
  { input: 'foo or on(a) bar unless ignoring(b) baz', printed: 'foo or on (a) bar unless ignoring (b) baz', ast: { op: 'or', rhs: { op: 'unless' } } },
  { input: 'a or b and c', printed: 'a or b and c', ast: { op: 'or', rhs: { op: 'and' } } },
  { input: 'a and b or c', printed: 'a and b or c', ast: { op: 'or', lhs: { op: 'and' } } },
  { input: 'a == b + c', printed: 'a == b + c', ast: { op: '==', rhs: { op: '+' } } },
  { input: 'a + b == c and d', printed: 'a + b == c and d', ast: { op: 'and', lhs: { op: '==', lhs: { op: '+' } } } },
  { input: '(1 + 2) * 3', printed: '(1 + 2) * 3', ast: { op: '*', lhs: { kind: 'ParenExpr', expr: { op: '+' } } } },
  { input: '-(foo)', printed: '-(foo)', ast: { kind: 'UnaryExpr', op: '-', expr: { kind: 'ParenExpr' } } },
  { input: '+foo', printed: '+foo', ast: { kind: 'UnaryExpr', op: '+' } },
  { input: '-sum(foo)', printed: '-sum(foo)' },
  { input: '- -1', printed: '1', ast: num(1) },
  { input: 'foo + -bar', printed: 'foo + -bar' },
  { input: '1 + 2 > bool 3', printed: '1 + 2 > bool 3' },
  // postfix modifiers bind tighter than operators (lezer binds them looser; the parser fixes that)
  { input: 'a + b offset 5m', printed: 'a + b offset 5m', ast: { op: '+', lhs: { name: 'a', offsetMs: 0 }, rhs: { name: 'b', offsetMs: 300_000, pos: { start: 4, end: 15 } }, pos: { start: 0, end: 15 } } },
  { input: 'a offset 1m + b', printed: 'a offset 1m + b', ast: { op: '+', lhs: { offsetMs: 60_000 } } },
  { input: 'a * b + c @ 10', printed: 'a * b + c @ 10.000', ast: { op: '+', rhs: { name: 'c', at: { ms: 10_000 } } } },
  { input: 'a + max_over_time(b[5m:] offset 1m)', printed: 'a + max_over_time(b[5m:] offset 1m)' },
  { input: '-foo offset 5m', printed: '-foo offset 5m', ast: { kind: 'UnaryExpr', expr: { offsetMs: 300_000 } } },
  { input: '-foo @ 5', printed: '-foo @ 5.000', ast: { kind: 'UnaryExpr', expr: { at: { ms: 5000 } } } },
  { input: 'a + -b offset 1m @ 2', printed: 'a + -b @ 2.000 offset 1m', ast: { rhs: { kind: 'UnaryExpr', expr: { offsetMs: 60_000 } } } },
  { input: '-1 ^ foo offset 5m', printed: '-1 ^ foo offset 5m', ast: { kind: 'UnaryExpr', expr: { op: '^', rhs: { offsetMs: 300_000 } } } },
  { input: '(a + b)[5m:]', printed: '(a + b)[5m:]', ast: { kind: 'SubqueryExpr', expr: { kind: 'ParenExpr' } } },
  { input: 'a + on(x) group_left b offset 1m', printed: 'a + on (x) group_left () b offset 1m', ast: { matching: { card: 'many-to-one' } } },
  // function calls
  { input: 'time()', printed: 'time()', ast: { kind: 'Call', func: 'time', args: [] } },
  { input: 'rate(foo[5m])', printed: 'rate(foo[5m])', ast: { kind: 'Call', func: 'rate', args: [{ kind: 'MatrixSelector' }] } },
  { input: 'abs(-foo)', printed: 'abs(-foo)' },
  { input: 'round(foo)', printed: 'round(foo)' },
  { input: 'round(foo, 0.5)', printed: 'round(foo, 0.5)' },
  { input: 'hour()', printed: 'hour()' },
  { input: 'label_join(foo, "a", ",")', printed: 'label_join(foo, "a", ",")' },
  { input: 'label_join(foo, "a", ",", "b", "c", "d")', printed: 'label_join(foo, "a", ",", "b", "c", "d")' },
  { input: 'label_replace(foo, "a", "$1", "b", "(.*)")', printed: 'label_replace(foo, "a", "$1", "b", "(.*)")' },
  { input: 'histogram_quantile(0.9, rate(foo_bucket[5m]))', printed: 'histogram_quantile(0.9, rate(foo_bucket[5m]))' },
  { input: 'histogram_fraction(0, 0.1, foo)', printed: 'histogram_fraction(0, 0.1, foo)' },
  { input: 'quantile_over_time(0.5, foo[1h])', printed: 'quantile_over_time(0.5, foo[1h])' },
  { input: 'predict_linear(foo[1h], 3600)', printed: 'predict_linear(foo[1h], 3600)' },
  { input: 'double_exponential_smoothing(foo[1h], 0.5, 0.5)', printed: 'double_exponential_smoothing(foo[1h], 0.5, 0.5)' },
  { input: 'sort_by_label(foo, "a", "b")', printed: 'sort_by_label(foo, "a", "b")' },
  { input: 'clamp(foo, 0, 1)', printed: 'clamp(foo, 0, 1)' },
  { input: 'vector(1) + scalar(foo)', printed: 'vector(1) + scalar(foo)' },
  { input: 'absent(nonexistent{job="x"})', printed: 'absent(nonexistent{job="x"})' },
  { input: 'info(foo, {k8s_cluster_name=~".+"})', printed: 'info(foo, {k8s_cluster_name=~".+"})' },
  { input: 'info(foo, {a=""})', printed: 'info(foo, {a=""})' },
  { input: 'info(foo)', printed: 'info(foo)' },
  { input: 'integral(foo[5m])', printed: 'integral(foo[5m])', ast: { kind: 'Call', func: 'integral', pos: { start: 0, end: 17 } } },
  { input: 'integral  (foo[5m]) + integral(bar[1m], 2)', printed: 'integral(foo[5m]) + integral(bar[1m], 2)' },
  { input: 'mad_over_time(foo[5m]) + first_over_time(foo[5m]) + ts_of_max_over_time(foo[5m])', printed: 'mad_over_time(foo[5m]) + first_over_time(foo[5m]) + ts_of_max_over_time(foo[5m])' },
  { input: 'pi() * time()', printed: 'pi() * time()' },
  { input: 'start() + end() + step() + range()', printed: 'start() + end() + step() + range()' },
  { input: 'sum(rate(foo[5m])) by (job) / ignoring(job) group_left sum(rate(bar[5m]))', printed: 'sum by (job) (rate(foo[5m])) / ignoring (job) group_left () sum(rate(bar[5m]))' },
  // comments and whitespace
  { input: 'foo # comment', printed: 'foo' },
  { input: '# leading\nsum(\n  rate(foo[5m]) # inner\n)', printed: 'sum(rate(foo[5m]))' },
  { input: '  foo\t+\nbar  ', printed: 'foo + bar' },
  // duration arithmetic (experimental, folded to constants)
  { input: 'foo[5m * 2]', printed: 'foo[10m]', ast: { rangeMs: 600_000 } },
  { input: 'foo[1h - 30m:1m + 1m]', printed: 'foo[30m:2m]' },
  { input: 'foo offset (1m + 1m)', printed: 'foo offset 2m' },
  { input: 'foo[2 ^ 3]', printed: 'foo[8s]' },
];

const FAIL: Fail[] = [
  // lexical and syntax errors
  { input: '', fail: 'no expression found in input', at: '1:1' },
  { input: '  # only a comment', fail: 'no expression found in input', at: '1:1' },
  { input: '1 +', fail: 'unexpected end of input', at: '1:4' },
  { input: 'foo{', fail: 'unexpected end of input', at: '1:5' },
  { input: 'foo{a="b"', fail: 'unexpected end of input', at: '1:10' },
  { input: '(1', fail: 'unexpected end of input', at: '1:3' },
  { input: '1)', fail: 'unexpected ")"', at: '1:2' },
  { input: 'foo bar', fail: 'unexpected identifier "bar"', at: '1:5' },
  { input: 'foo{a}', fail: 'unexpected "}" in label matching', at: '1:6' },
  { input: 'foo{a="b" c="d"}', fail: 'unexpected identifier "c" in label matching', at: '1:11' },
  { input: 'foo{a=b}', fail: 'unexpected identifier "b" in label matching', at: '1:7' },
  { input: 'foo{a=~1}', fail: 'in label matching', at: '1:8' },
  { input: 'foo bool == 1', fail: 'unexpected <bool>', at: '1:5' },
  { input: 'sum(foo) by', fail: 'unexpected end of input', at: '1:12' },
  { input: 'sum by job (foo)', fail: 'unexpected identifier "job"', at: '1:8' },
  { input: 'sum(foo) by (a b)', fail: 'unexpected identifier "b" in grouping opts', at: '1:16' },
  { input: 'sum(foo) by (a) by (b)', fail: 'unexpected <by>', at: '1:17' },
  { input: 'sum(a,)', fail: 'unexpected ")"', at: '1:7' },
  { input: 'rate(foo[5m)', fail: 'unexpected ")"', at: '1:12' },
  { input: 'foo[5m', fail: 'unexpected end of input', at: '1:7' },
  { input: 'foo[]', fail: 'unexpected "]"', at: '1:5' },
  { input: 'foo[5x]', fail: 'unexpected identifier "x"', at: '1:6' },
  { input: 'foo[1h::5m]', fail: 'unexpected', at: '1:8' },
  { input: 'foo offset', fail: 'unexpected end of input in offset', at: '1:11' },
  { input: 'foo offset bar', fail: 'unexpected identifier "bar"', at: '1:12' },
  { input: 'foo @', fail: 'unexpected end of input', at: '1:6' },
  { input: 'foo @ bar()', fail: 'unexpected', at: '1:7' },
  { input: 'foo $ bar', fail: 'unexpected character: "$"', at: '1:5' },
  { input: '1 +\n  )', fail: 'unexpected ")"', at: '2:3' },
  { input: '"unterminated', fail: 'unterminated quoted string', at: '1:1' },
  { input: "foo{a='b}", fail: 'unterminated quoted string', at: '1:7' },
  { input: '"a\nb"', fail: 'unterminated quoted string', at: '1:1' },
  { input: '"\\q"', fail: 'unknown escape sequence', at: '1:1' },
  { input: '"\\\'"', fail: 'unknown escape sequence', at: '1:1' },
  { input: '"\\xZZ"', fail: 'illegal character in escape sequence', at: '1:1' },
  { input: '"\\400"', fail: 'invalid Unicode code point', at: '1:1' },
  { input: '"\\ud800"', fail: 'invalid Unicode code point', at: '1:1' },
  { input: '1_', fail: 'unexpected identifier "_"', at: '1:2' },
  // unknown and disabled functions
  { input: 'foo(bar)', fail: 'unknown function with name "foo"', at: '1:1' },
  { input: 'x + non_existent (1)', fail: 'unknown function with name "non_existent"', at: '1:5' },
  { input: 'Rate(foo[5m])', fail: 'unknown function with name "Rate"', at: '1:1' },
  { input: 'holt_winters(foo[5m], 0.5, 0.5)', fail: 'unknown function with name "holt_winters"', at: '1:1' },
  { input: 'sort_by_label(foo, "a")', fail: 'function "sort_by_label" is not enabled', at: '1:1', code: 'experimental', experimental: false },
  { input: 'integral(foo[5m])', fail: 'function "integral" is not enabled', at: '1:1', code: 'experimental', experimental: false },
  { input: 'limitk(1, foo)', fail: 'limitk() is experimental and must be enabled', at: '1:1', code: 'experimental', experimental: false },
  { input: 'foo[5m * 2]', fail: 'experimental duration expression is not enabled', at: '1:5', code: 'experimental', experimental: false },
  { input: 'foo[1m:step()]', fail: 'step() in a duration expression is not supported', at: '1:8', code: 'unsupported' },
  { input: 'foo[range()]', fail: 'range() in a duration expression is not supported', at: '1:5', code: 'unsupported' },
  { input: 'foo[5m] anchored', fail: 'anchored modifier', at: '1:1', code: 'unsupported' },
  { input: 'foo[5m] smoothed', fail: 'smoothed modifier is experimental and not enabled', at: '1:1', code: 'experimental', experimental: false },
  { input: 'foo + fill(0) bar', fail: 'fill modifiers', at: '1:7', code: 'unsupported' },
  { input: 'foo </ 5', fail: 'trim operator', at: '1:5', code: 'unsupported' },
  { input: 'foo[1m / 0]', fail: 'division by zero', at: '1:5' },
  // selectors
  { input: '{}', fail: 'vector selector must contain at least one non-empty matcher', at: '1:1' },
  { input: '{a=""}', fail: 'vector selector must contain at least one non-empty matcher', at: '1:1' },
  { input: '{a=~".*"}', fail: 'vector selector must contain at least one non-empty matcher', at: '1:1' },
  { input: '{a!~".+"}', fail: 'at least one non-empty matcher', at: '1:1' },
  { input: '{a!="x"}', fail: 'at least one non-empty matcher', at: '1:1' },
  { input: 'sum(rate({a=""}[5m]))', fail: 'at least one non-empty matcher', at: '1:10' },
  { input: 'foo{__name__="bar"}', fail: 'metric name must not be set twice: "foo" or "bar"', at: '1:1' },
  { input: 'foo{"bar"}', fail: 'metric name must not be set twice', at: '1:1' },
  { input: 'foo{a=~"("}', fail: 'error parsing regexp: missing closing )', at: '1:5' },
  { input: 'foo{a="b", c!~"[z-a]"}', fail: 'error parsing regexp', at: '1:12' },
  { input: 'info(foo, bar)', fail: 'expected label selectors only, got vector selector instead', at: '1:11' },
  { input: 'info(foo, 1)', fail: 'expected type instant vector in call to function "info", got scalar', at: '1:1' },
  { input: 'info(foo, rate(bar[5m]))', fail: 'expected label selectors only', at: '1:11' },
  // ranges, offsets, @
  { input: 'foo offset 5m[5m]', fail: 'no offset modifiers allowed before range', at: '1:14' },
  { input: 'foo @ 100 [5m]', fail: 'no @ modifiers allowed before range', at: '1:10' },
  { input: '(foo)[5m]', fail: 'ranges only allowed for vector selectors', at: '1:6' },
  { input: 'rate(foo[5m])[5m]', fail: 'ranges only allowed for vector selectors', at: '1:14' },
  { input: 'foo[0s]', fail: 'range duration must be greater than 0', at: '1:5' },
  { input: 'foo[0s:1m]', fail: 'subquery range must be greater than 0', at: '1:5' },
  { input: 'foo offset 1m offset 2m', fail: 'offset may not be set multiple times', at: '1:1' },
  { input: 'foo[5m] offset 1m offset 2m', fail: 'offset may not be set multiple times', at: '1:1' },
  { input: 'foo @ 1 @ 2', fail: '@ <timestamp> may not be set multiple times', at: '1:1' },
  { input: 'foo @ start() @ end()', fail: '@ <timestamp> may not be set multiple times', at: '1:1' },
  { input: 'foo[1h:] @ 1 offset 1m @ 2', fail: '@ <timestamp> may not be set multiple times', at: '1:1' },
  { input: 'foo @ Inf', fail: 'timestamp out of bounds for @ modifier', at: '1:7' },
  { input: 'foo @ NaN', fail: 'timestamp out of bounds for @ modifier', at: '1:7' },
  { input: '(foo) offset 5m', fail: 'offset modifier must be preceded by an instant vector selector', at: '1:1' },
  { input: 'sum(foo) offset 5m', fail: 'offset modifier must be preceded by an instant vector selector', at: '1:1' },
  { input: '1 @ 100', fail: '@ modifier must be preceded by an instant vector selector', at: '1:1' },
  { input: 'rate(foo[5m]) @ 100', fail: '@ modifier must be preceded by an instant vector selector', at: '1:1' },
  { input: '"foo"[1h:]', fail: 'subquery is only allowed on instant vector, got string instead', at: '1:1' },
  { input: 'foo[5m][1h:][1h:]', fail: 'subquery is only allowed on instant vector, got range vector instead', at: '1:1' },
  // aggregations
  { input: 'sum()', fail: 'no arguments for aggregate expression provided', at: '1:1' },
  { input: 'sum(foo, bar)', fail: 'wrong number of arguments for aggregate expression provided, expected 1, got 2', at: '1:1' },
  { input: 'topk(foo)', fail: 'wrong number of arguments for aggregate expression provided, expected 2, got 1', at: '1:1' },
  { input: 'topk("5", foo)', fail: 'expected type scalar in aggregation parameter, got string', at: '1:6' },
  { input: 'quantile(foo, bar)', fail: 'expected type scalar in aggregation parameter, got instant vector', at: '1:10' },
  { input: 'count_values(1, foo)', fail: 'expected type string in aggregation parameter, got scalar', at: '1:14' },
  { input: 'sum(foo[5m])', fail: 'expected type instant vector in aggregation expression, got range vector', at: '1:5' },
  { input: 'sum(1)', fail: 'expected type instant vector in aggregation expression, got scalar', at: '1:5' },
  // binary operators
  { input: '1 > 2', fail: 'comparisons between scalars must use BOOL modifier', at: '1:3' },
  { input: '1 == 1', fail: 'comparisons between scalars must use BOOL modifier', at: '1:3' },
  { input: 'foo + bool bar', fail: 'bool modifier can only be used on comparison operators', at: '1:5' },
  { input: 'foo and bool bar', fail: 'bool modifier can only be used on comparison operators', at: '1:5' },
  { input: '1 and 1', fail: 'set operator "and" not allowed in binary scalar expression', at: '1:1' },
  { input: 'foo or 1', fail: 'set operator "or" not allowed in binary scalar expression', at: '1:1' },
  { input: 'foo unless on(a) group_left(b) bar', fail: 'no grouping allowed for "unless" operation', at: '1:1' },
  { input: 'foo and on(a) group_right bar', fail: 'no grouping allowed for "and" operation', at: '1:1' },
  { input: '1 + on(a) foo', fail: 'vector matching only allowed between instant vectors', at: '1:1' },
  { input: 'foo * ignoring(a) group_left 2', fail: 'vector matching only allowed between instant vectors', at: '1:1' },
  { input: 'foo + on(a) group_left(a) bar', fail: 'label "a" must not occur in ON and GROUP clause at once', at: '1:5' },
  { input: 'foo[5m] + 1', fail: 'binary expression must contain only scalar and instant vector types', at: '1:1' },
  { input: '1 + "a"', fail: 'binary expression must contain only scalar and instant vector types', at: '1:5' },
  { input: '-"a"', fail: 'unary expression only allowed on expressions of type scalar or instant vector, got "string"', at: '1:1' },
  { input: 'foo + bar[5m]', fail: 'binary expression must contain only scalar and instant vector types', at: '1:7' },
  { input: 'a ^ b[5m:] offset 1m', fail: 'binary expression must contain only scalar and instant vector types', at: '1:5' },
  { input: 'sum(a) + rate(b[5m])[1h:]', fail: 'binary expression must contain only scalar and instant vector types', at: '1:10' },
  { input: '1 + 2 offset 5m', fail: 'offset modifier must be preceded by an instant vector selector', at: '1:5' },
  { input: '-foo[5m:]', fail: 'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"', at: '1:1' },
  { input: '-foo[5m]', fail: 'unary expression only allowed on expressions of type scalar or instant vector, got "range vector"', at: '1:1' },
  // function calls
  { input: 'rate(foo)', fail: 'expected type range vector in call to function "rate", got instant vector', at: '1:6' },
  { input: 'abs(foo[5m])', fail: 'expected type instant vector in call to function "abs", got range vector', at: '1:5' },
  { input: 'time(1)', fail: 'expected 0 argument(s) in call to "time", got 1', at: '1:1' },
  { input: 'rate()', fail: 'expected 1 argument(s) in call to "rate", got 0', at: '1:1' },
  { input: 'clamp(foo, 1)', fail: 'expected 3 argument(s) in call to "clamp", got 2', at: '1:1' },
  { input: 'round(foo, 1, 2)', fail: 'expected at most 2 argument(s) in call to "round", got 3', at: '1:1' },
  { input: 'hour(foo, bar)', fail: 'expected at most 1 argument(s) in call to "hour", got 2', at: '1:1' },
  { input: 'label_join(foo, "a")', fail: 'expected at least 3 argument(s) in call to "label_join", got 2', at: '1:1' },
  { input: 'label_join(foo, "a", ",", "b", 1)', fail: 'expected type string in call to function "label_join", got scalar', at: '1:32' },
  { input: 'label_replace(foo, "a", "b", "c", 1)', fail: 'expected type string in call to function "label_replace", got scalar', at: '1:35' },
  { input: 'vector(foo)', fail: 'expected type scalar in call to function "vector", got instant vector', at: '1:8' },
  { input: 'histogram_quantile(foo, bar)', fail: 'expected type scalar in call to function "histogram_quantile", got instant vector', at: '1:20' },
  { input: 'sort_by_label(foo, 1)', fail: 'expected type string in call to function "sort_by_label", got scalar', at: '1:20' },
];

/** Drops positions and turns matcher objects into strings, for readable comparisons. */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') {
    if (value.constructor?.name === 'LabelMatcher') return String(value);
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'pos').map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

describe('parseExpr: valid queries', () => {
  it.each(OK)('$input', ({ input, printed, ast, experimental }) => {
    const expr = parseExpr(input, { experimental: experimental ?? true });
    expect(printExpr(expr)).toBe(printed);
    if (ast !== undefined) expect(expr).toMatchObject(ast as object);
  });
});

describe('parseExpr: errors', () => {
  it.each(FAIL)('$input', ({ input, fail, at, code, experimental }) => {
    let error: unknown;
    try {
      parseExpr(input, { experimental: experimental ?? true });
    } catch (e) {
      error = e;
    }
    expect(error, `no error for ${JSON.stringify(input)}`).toBeInstanceOf(PromQLParseError);
    const e = error as PromQLParseError;
    expect(e.message).toContain(fail);
    expect(e.message.startsWith(`${at}: parse error: `), e.message).toBe(true);
    expect(`${e.line}:${e.column}`).toBe(at);
    expect(e.pos.start).toBeLessThanOrEqual(e.pos.end);
    if (code !== undefined) expect(e.code).toBe(code);
    if (code === 'experimental' || code === 'unsupported') expect(e.experimental).toBe(true);
  });
});

describe('parseExpr: details', () => {
  it('puts the metric name matcher last, as Prometheus does', () => {
    const e = parseExpr('foo{a="b"}');
    expect(plain(e)).toMatchObject({ kind: 'VectorSelector', name: 'foo', matchers: ['a="b"', '__name__="foo"'] });
  });

  it('compiles regex matchers anchored', () => {
    const e = parseExpr('foo{a=~"b|c"}') as Extract<Expr, { kind: 'VectorSelector' }>;
    const m = e.matchers[0];
    expect(m.matchesValue('b')).toBe(true);
    expect(m.matchesValue('xb')).toBe(false);
  });

  it('gives positions of nested nodes', () => {
    const e = parseExpr('sum(rate(foo[5m]))') as Extract<Expr, { kind: 'AggregateExpr' }>;
    expect(e.pos).toEqual({ start: 0, end: 18 });
    const call = e.expr as Extract<Expr, { kind: 'Call' }>;
    expect(call.pos).toEqual({ start: 4, end: 17 });
    expect(call.args[0].pos).toEqual({ start: 9, end: 16 });
  });

  it('keeps error positions on later lines', () => {
    try {
      parseExpr('sum(\n  rate(foo)\n)');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PromQLParseError);
      expect((e as PromQLParseError).message).toBe(
        '2:8: parse error: expected type range vector in call to function "rate", got instant vector',
      );
      expect((e as PromQLParseError).hint).toContain('rate(foo[5m])');
    }
  });

  it('suggests a function name', () => {
    expect(() => parseExpr('rat(foo[5m])')).toThrow(/unknown function with name "rat"/);
    try {
      parseExpr('abss(foo)');
    } catch (e) {
      expect((e as PromQLParseError).hint).toBe('did you mean abs()?');
    }
  });

  it('types every expression statically', () => {
    const cases: [string, string][] = [
      ['1', 'scalar'], ['"a"', 'string'], ['foo', 'vector'], ['foo[5m]', 'matrix'], ['foo[5m:]', 'matrix'],
      ['sum(foo)', 'vector'], ['1 + 1', 'scalar'], ['foo + 1', 'vector'], ['-time()', 'scalar'], ['(foo)', 'vector'],
      ['scalar(foo)', 'scalar'], ['rate(foo[5m])', 'vector'],
    ];
    for (const [input, type] of cases) expect(exprType(parseExpr(input)), input).toBe(type);
  });
});

describe('function table', () => {
  it('has every Prometheus function the brief lists', () => {
    const names = `abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp
      clamp_max clamp_min cos cosh count_over_time days_in_month day_of_month day_of_week day_of_year deg delta deriv
      double_exponential_smoothing exp floor histogram_quantile histogram_fraction histogram_count histogram_sum
      histogram_avg histogram_stddev histogram_stdvar hour idelta increase irate label_join label_replace
      last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi predict_linear
      present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_desc sort_by_label
      sort_by_label_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp vector year info`;
    for (const name of names.split(/\s+/)) expect(lookupFunction(name), name).toBeDefined();
    expect(lookupFunction('limitk')).toBeUndefined();
    expect(lookupFunction('holt_winters')).toBeUndefined();
  });

  it('marks experimental and native-histogram functions', () => {
    for (const name of ['sort_by_label', 'mad_over_time', 'double_exponential_smoothing', 'info', 'first_over_time']) {
      expect(lookupFunction(name)?.experimental, name).toBe(true);
    }
    for (const name of ['rate', 'label_join', 'histogram_quantile']) expect(lookupFunction(name)?.experimental, name).toBeFalsy();
    // Works on classic histograms too, so it is not native-only.
    expect(lookupFunction('histogram_quantiles')?.nativeHistogram).toBeFalsy();
    for (const name of ['histogram_count', 'histogram_sum', 'histogram_avg', 'histogram_stddev', 'histogram_stdvar']) {
      expect(lookupFunction(name)?.nativeHistogram, name).toBe(true);
    }
  });

  it('parses a call of every function with arguments of its types', () => {
    const sample: Record<string, string> = { scalar: '1', vector: 'foo', matrix: 'foo[5m]', string: '"a"' };
    for (const def of FUNCTIONS.values()) {
      const args = def.argTypes.map((t, i) => (def.name === 'info' && i === 1 ? '{a="b"}' : sample[t]));
      const input = `${def.name}(${args.join(', ')})`;
      const e = parseExpr(input);
      expect(e, input).toMatchObject({ kind: 'Call', func: def.name, args: { length: def.argTypes.length } });
      expect(exprType(e)).toBe(def.returnType);
    }
  });
});

describe('string escapes', () => {
  it.each([
    ['"\\xc3\\xa9"', 'é'],
    ['"\\303\\251"', 'é'],
    ['"\\xff"', '\ufffd'],
    ['"a\\u00e9b"', 'aéb'],
    ['`\\xff`', '\\xff'],
  ])('%s decodes byte escapes as UTF-8', (literal, want) => {
    const e = parseExpr(`label_replace(up, "x", ${literal}, "a", "b")`) as unknown as { args: Array<{ value: string }> };
    expect(e.args[2].value).toBe(want);
  });
});

describe('parseExpr: step() and range() in duration expressions, with the query durations', () => {
  const range = { stepMs: 10_000, rangeMs: 60_000 };
  const instant = { stepMs: 0, rangeMs: 0 };
  const ok: [string, { stepMs: number; rangeMs: number }, unknown][] = [
    ['foo[step()]', range, { kind: 'MatrixSelector', rangeMs: 10_000 }],
    ['foo[step() + 1ms]', range, { rangeMs: 10_001 }],
    ['foo[1 + (STep() - 5) * 2]', range, { rangeMs: 11_000 }],
    ['foo[range()]', range, { rangeMs: 60_000 }],
    ['foo[RANGE() / 2]', range, { rangeMs: 30_000 }],
    ['foo offset STEP()', range, { kind: 'VectorSelector', offsetMs: 10_000 }],
    ['foo offset (-step() * 2)', range, { offsetMs: -20_000 }],
    // offset binds to -step() alone; the product multiplies the selected value.
    ['foo offset -step() * 2', range, { kind: 'BinaryExpr', lhs: { offsetMs: -10_000 } }],
    ['foo[1m:step()]', range, { kind: 'SubqueryExpr', rangeMs: 60_000, stepMs: 10_000 }],
    ['foo offset step()', instant, { offsetMs: 0 }],
  ];
  it.each(ok)('%s', (input, queryDurations, ast) => {
    expect(parseExpr(input, { queryDurations })).toMatchObject(ast as object);
  });

  const fail: [string, { stepMs: number; rangeMs: number } | undefined, string][] = [
    ['foo[step()]', instant, 'range duration must be greater than 0'],
    ['foo[STEP()]', undefined, "STEP() in a duration expression is not supported without the query's step and range"],
    // Outside a duration, function names keep their case.
    ['STEP()', range, 'unknown function with name "STEP"'],
  ];
  it.each(fail)('%s fails', (input, queryDurations, message) => {
    expect(() => parseExpr(input, { queryDurations })).toThrow(message);
  });
});

describe('parseExpr: binop fill modifiers (with fillModifiers)', () => {
  const ok: [string, string, unknown][] = [
    ['a + fill(0) b', 'a + fill(0) b', { matching: { card: 'one-to-one', fillLeft: 0, fillRight: 0 } }],
    ['a + fill_left(5) fill_right(7) b', 'a + fill_left(5) fill_right(7) b', { matching: { fillLeft: 5, fillRight: 7 } }],
    ['a + fill_right(-Inf) b', 'a + fill_right(-Inf) b', { matching: { fillLeft: null, fillRight: -Infinity } }],
    ['a == bool fill(NaN) b', 'a == bool fill(NaN) b', { returnBool: true, matching: { fillLeft: NaN } }],
    ['a + on (s) group_left (o) fill(1) b', 'a + on (s) group_left (o) fill(1) b', { matching: { card: 'many-to-one', include: ['o'], fillLeft: 1 } }],
    // A metric named like the keyword is still a metric.
    ['other + fill_left(0) fill_left', 'other + fill_left(0) fill_left', { rhs: { kind: 'VectorSelector', name: 'fill_left' } }],
  ];
  it.each(ok)('%s', (input, printed, ast) => {
    const expr = parseExpr(input, { fillModifiers: true });
    expect(printExpr(expr)).toBe(printed);
    expect(expr).toMatchObject(ast as object);
  });

  const fail: [string, string][] = [
    ['a and fill(0) b', 'fill modifiers are not allowed for set operator "and"'],
    ['a + fill(0) 1', 'vector matching only allowed between instant vectors'],
  ];
  it.each(fail)('%s fails', (input, message) => {
    expect(() => parseExpr(input, { fillModifiers: true })).toThrow(message);
  });

  it('stays unsupported without the option (the ClickHouse translator does not know them)', () => {
    expect(() => parseExpr('a + fill(0) b')).toThrow('binop fill modifiers are experimental and not supported here');
  });
});

describe('parseExpr: anchored and smoothed (with extendedRangeSelectors)', () => {
  const ok: [string, string, unknown][] = [
    ['increase(foo[1m] anchored)', 'increase(foo[1m] anchored)', { args: [{ kind: 'MatrixSelector', vector: { anchored: true } }] }],
    ['rate(foo[5m] smoothed offset 1m)', 'rate(foo[5m] offset 1m smoothed)', { args: [{ vector: { smoothed: true, offsetMs: 60_000 } }] }],
    ['foo smoothed', 'foo smoothed', { kind: 'VectorSelector', smoothed: true }],
  ];
  it.each(ok)('%s', (input, printed, ast) => {
    const expr = parseExpr(input, { extendedRangeSelectors: true });
    expect(printExpr(expr)).toBe(printed);
    expect(expr).toMatchObject(ast as object);
  });

  const fail: [string, string][] = [
    ['foo anchored', 'anchored modifier must be preceded by a range vector selector'],
    ['foo[5m:1m] smoothed', 'smoothed modifier must be preceded by an instant vector selector or a range vector selector'],
  ];
  it.each(fail)('%s fails', (input, message) => {
    expect(() => parseExpr(input, { extendedRangeSelectors: true })).toThrow(message);
  });

  it('stays unsupported without the option (the ClickHouse translator does not know them)', () => {
    expect(() => parseExpr('rate(foo[5m] anchored)')).toThrow('not supported here');
  });
});
