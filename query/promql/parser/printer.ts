import type { AtModifier, BinaryExpr, Expr, VectorSelector } from '../ast.ts';
import { formatDuration } from '../../../model/duration.ts';
import type { LabelMatcher } from '../../../model/matchers.ts';

/**
 * Formats an expression the way Prometheus's `String()` methods do (`promql/parser/printer.go`):
 * `sum by (job) (rate(foo{bar="baz"}[5m]))`. `parseExpr(printExpr(e))` gives back `e` (positions
 * aside; matchers are sorted as Prometheus sorts them).
 */
export function printExpr(expr: Expr): string {
  switch (expr.kind) {
    case 'NumberLiteral':
      return formatNumber(expr.value);
    case 'StringLiteral':
      return quote(expr.value);
    case 'VectorSelector':
      return selector(expr) + at(expr.at) + offset(expr.offsetMs) + extended(expr);
    case 'MatrixSelector': {
      const vs = expr.vector;
      return `${selector(vs)}[${formatDuration(expr.rangeMs)}]${at(vs.at)}${offset(vs.offsetMs)}${extended(vs)}`;
    }
    case 'SubqueryExpr': {
      const step = expr.stepMs === 0 ? '' : formatDuration(expr.stepMs);
      // A parsed AST has a ParenExpr here; one built by hand may not, and `a + b[5m:]` would mean
      // `a + (b[5m:])`.
      const inner = expr.expr.kind === 'BinaryExpr' || expr.expr.kind === 'UnaryExpr' ? `(${printExpr(expr.expr)})` : printExpr(expr.expr);
      return `${inner}[${formatDuration(expr.rangeMs)}:${step}]${at(expr.at)}${offset(expr.offsetMs)}`;
    }
    case 'AggregateExpr': {
      let s: string = expr.op;
      if (expr.without) s += ` without (${labelList(expr.grouping)}) `;
      else if (expr.grouping.length > 0) s += ` by (${labelList(expr.grouping)}) `;
      const param = expr.param === null ? '' : `${printExpr(expr.param)}, `;
      return `${s}(${param}${printExpr(expr.expr)})`;
    }
    case 'BinaryExpr':
      return `${printExpr(expr.lhs)} ${expr.op}${expr.returnBool ? ' bool' : ''}${matching(expr)} ${printExpr(expr.rhs)}`;
    case 'UnaryExpr':
      return `${expr.op}${printExpr(expr.expr)}`;
    case 'Call':
      return `${expr.func}(${expr.args.map(printExpr).join(', ')})`;
    case 'ParenExpr':
      return `(${printExpr(expr.expr)})`;
  }
}

/** Go's `strconv.FormatFloat(v, 'f', -1, 64)`: no exponent, shortest digits that round-trip. */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Object.is(value, -0)) return '-0';
  const s = String(value);
  if (!/e/.test(s)) return s;
  const [mantissa, expText] = s.split('e');
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const [intPart, frac = ''] = mantissa.replace('-', '').split('.');
  const digits = intPart + frac;
  const point = intPart.length + exp;
  let out: string;
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return negative ? `-${out}` : out;
}

/** Go's `strconv.Quote`. */
export function quote(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '"': out += '\\"'; break;
      case '\\': out += '\\\\'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\x07': out += '\\a'; break;
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      case '\v': out += '\\v'; break;
      default:
        if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
        else if (cp >= 0xd800 && cp < 0xe000) out += `\\u${cp.toString(16).padStart(4, '0')}`; // lone surrogate
        else if ((cp >= 0x80 && cp < 0xa0) || cp === 0xfeff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
        else out += ch;
    }
  }
  return out + '"';
}

const LEGACY_LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LEGACY_METRIC = /^[A-Za-z_:][A-Za-z0-9_:]*$/;

function labelName(name: string): string {
  return LEGACY_LABEL.test(name) ? name : quote(name);
}

function labelList(names: readonly string[]): string {
  return names.map(labelName).join(', ');
}

function matcherString(m: LabelMatcher): string {
  return `${labelName(m.name)}${m.op}${quote(m.value)}`;
}

function selector(vs: VectorSelector): string {
  const parts: string[] = [];
  let name = vs.name;
  // A name that needs quoting (UTF-8 metric names) goes inside the braces: {"my.metric"}.
  const quotedName = name !== '' && !LEGACY_METRIC.test(name);
  let skippedName = false;
  for (const m of vs.matchers) {
    if (!skippedName && name !== '' && m.name === '__name__' && m.op === '=' && m.value === name) {
      skippedName = true;
      continue;
    }
    parts.push(matcherString(m));
  }
  parts.sort();
  if (quotedName) {
    parts.unshift(quote(name));
    name = '';
  }
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

function at(modifier: AtModifier | null): string {
  if (modifier === null) return '';
  if (modifier.kind === 'start') return ' @ start()';
  if (modifier.kind === 'end') return ' @ end()';
  return ` @ ${(modifier.ms / 1000).toFixed(3)}`;
}

function offset(ms: number): string {
  if (ms > 0) return ` offset ${formatDuration(ms)}`;
  if (ms < 0) return ` offset -${formatDuration(-ms)}`;
  return '';
}

function extended(vs: VectorSelector): string {
  return vs.anchored === true ? ' anchored' : vs.smoothed === true ? ' smoothed' : '';
}

function matching(expr: BinaryExpr): string {
  const vm = expr.matching;
  if (vm === null) return '';
  let s = '';
  const grouped = vm.card === 'many-to-one' || vm.card === 'one-to-many';
  if (vm.labels.length > 0 || vm.on || grouped) s += ` ${vm.on ? 'on' : 'ignoring'} (${labelList(vm.labels)})`;
  if (grouped) s += ` group_${vm.card === 'many-to-one' ? 'left' : 'right'} (${labelList(vm.include)})`;
  const left = vm.fillLeft ?? null;
  const right = vm.fillRight ?? null;
  if (left !== null && right !== null && Object.is(left, right)) s += ` fill(${formatNumber(left)})`;
  else {
    if (left !== null) s += ` fill_left(${formatNumber(left)})`;
    if (right !== null) s += ` fill_right(${formatNumber(right)})`;
  }
  return s;
}
