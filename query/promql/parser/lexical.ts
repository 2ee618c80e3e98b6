import { parseDuration } from '../../../model/duration.ts';

/**
 * The lexical pieces of PromQL the lezer grammar leaves to us: number and duration values, string
 * unquoting with Go's escapes, and a one-token lexer that names the token a syntax error stops at
 * the way Prometheus's lexer items describe themselves (`<by>`, `<op:+>`, `identifier "foo"`).
 */

const DURATION_TEXT = /^(?:\d+(?:y|w|d|h|m|s|ms))+$/;

/** Whether `text` is a duration literal (`5m`, `1h30m`), as opposed to a plain number. */
export function isDurationText(text: string): boolean {
  return DURATION_TEXT.test(text);
}

/**
 * The value of a number literal as Prometheus's `parser.number` reads it: Go's `ParseInt(s, 0, 64)`
 * (so `0x1f`, `0o17` and the octal `017`), else `ParseFloat` (`1e3`, `.5`, `Inf`, `NaN`, any case);
 * `_` separates digits. A duration literal (`5m`) counts its seconds. Undefined when invalid.
 */
export function numberValue(text: string): number | undefined {
  if (isDurationText(text)) {
    const ms = parseDuration(text);
    return ms === undefined ? undefined : ms / 1000;
  }
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (lower === 'nan') return NaN;
  if (/_$|^_|__|_\.|\._/.test(text)) return undefined;
  const t = lower.replace(/_/g, '');
  if (/^0x[0-9a-f]+$/.test(t)) return parseInt(t.slice(2), 16);
  if (/^0o[0-7]+$/.test(t)) return parseInt(t.slice(2), 8);
  if (/^0b[01]+$/.test(t)) return parseInt(t.slice(2), 2);
  if (/^0[0-7]+$/.test(t)) return parseInt(t.slice(1), 8);
  if (!/^(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** Go's `strconv.Unquote` for PromQL strings, whose escapes the lexer checks; the reason when invalid. */
export function unquote(literal: string): { value: string } | { error: string } {
  const quote = literal[0];
  if (literal.length < 2 || literal[literal.length - 1] !== quote) return { error: 'unterminated quoted string' };
  const body = literal.slice(1, -1);
  if (quote === '`') return { value: body };
  let out = '';
  // Go's \x and octal escapes write single bytes; runs of them are decoded as UTF-8 together,
  // and bytes that do not form valid UTF-8 become U+FFFD (so "\xff" is not a valid label name).
  let bytes: number[] = [];
  const flushBytes = () => {
    if (bytes.length > 0) out += utf8Lenient.decode(Uint8Array.from(bytes));
    bytes = [];
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\n') return { error: 'unterminated quoted string' };
    if (c !== '\\') {
      flushBytes();
      out += c;
      continue;
    }
    i++;
    if (i >= body.length) return { error: 'escape sequence not terminated' };
    const e = body[i];
    if (e !== 'x' && !(e >= '0' && e <= '7')) flushBytes();
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case 'x':
      case 'u':
      case 'U':
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        const octal = e >= '0' && e <= '7';
        const n = octal ? 3 : e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const digits = octal ? body.slice(i, i + 3) : body.slice(i + 1, i + 1 + n);
        const re = octal ? /^[0-7]{3}$/ : /^[0-9a-fA-F]+$/;
        if (digits.length !== n || !re.test(digits)) return { error: 'illegal character in escape sequence' };
        const code = parseInt(digits, octal ? 8 : 16);
        if ((octal || e === 'x') && code > 255) return { error: 'escape sequence is an invalid Unicode code point' };
        if (code > 0x10ffff || (code >= 0xd800 && code < 0xe000)) {
          return { error: 'escape sequence is an invalid Unicode code point' };
        }
        if (octal || e === 'x') bytes.push(code);
        else out += String.fromCodePoint(code);
        i += octal ? 2 : n;
        break;
      }
      default:
        if (e === quote) {
          out += e;
          break;
        }
        return { error: `unknown escape sequence U+${e.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} '${e}'` };
    }
  }
  flushBytes();
  return { value: out };
}

const utf8Lenient = new TextDecoder('utf-8', { fatal: false });

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'start', 'end']);
const WORD_OPERATORS = new Set(['and', 'or', 'unless', 'atan2']);
const AGGREGATORS = new Set([
  'sum', 'avg', 'count', 'min', 'max', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile',
  'count_values', 'limitk', 'limit_ratio',
]);
const OPERATORS = ['==', '!=', '<=', '>=', '=~', '!~', '+', '-', '*', '/', '%', '^', '<', '>', '='];

/** Skips whitespace and `#` comments from `pos`. */
export function skipSpace(text: string, pos: number): number {
  while (pos < text.length) {
    const c = text[pos];
    if (c === '#') {
      while (pos < text.length && text[pos] !== '\n') pos++;
    } else if (/\s/.test(c)) {
      pos++;
    } else {
      break;
    }
  }
  return pos;
}

export interface Token {
  readonly start: number;
  readonly end: number;
  /** Prometheus's description of the item: `end of input`, `<by>`, `identifier "foo"`, ... */
  readonly desc: string;
  readonly kind: 'eof' | 'identifier' | 'keyword' | 'operator' | 'aggregator' | 'number' | 'duration' | 'string' | 'punct' | 'char';
  readonly text: string;
}

/** The token that starts at (or after whitespace from) `pos`. */
export function tokenAt(text: string, pos: number): Token {
  const start = skipSpace(text, pos);
  if (start >= text.length) return { start, end: start, desc: 'end of input', kind: 'eof', text: '' };
  const rest = text.slice(start);
  const tok = (len: number, kind: Token['kind'], desc: (t: string) => string): Token => {
    const t = rest.slice(0, len);
    return { start, end: start + len, desc: desc(t), kind, text: t };
  };
  let m = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(rest);
  if (m) {
    const word = m[0];
    const lower = word.toLowerCase();
    if (lower === 'inf' || lower === 'nan') return tok(word.length, 'number', (t) => `number ${JSON.stringify(t)}`);
    if (KEYWORDS.has(lower)) return tok(word.length, 'keyword', (t) => `<${t}>`);
    if (WORD_OPERATORS.has(lower)) return tok(word.length, 'operator', (t) => `<op:${t}>`);
    if (AGGREGATORS.has(lower)) return tok(word.length, 'aggregator', (t) => `<aggr:${t}>`);
    return tok(word.length, 'identifier', (t) => `identifier ${JSON.stringify(t)}`);
  }
  m = /^(?:0x[0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d+)?(?:[a-z]+\d*)*)/.exec(rest);
  if (m) {
    const kind = isDurationText(m[0]) ? 'duration' : 'number';
    return tok(m[0].length, kind, (t) => `${kind} ${JSON.stringify(t)}`);
  }
  const c = rest[0];
  if (c === '"' || c === "'" || c === '`') {
    let i = 1;
    while (i < rest.length && rest[i] !== c && (c === '`' || rest[i] !== '\n')) i += rest[i] === '\\' && c !== '`' ? 2 : 1;
    const len = Math.min(i + 1, rest.length);
    return tok(len, 'string', (t) => `string ${JSON.stringify(t.length > 12 ? t.slice(0, 10) + '...' : t)}`);
  }
  for (const op of OPERATORS) if (rest.startsWith(op)) return tok(op.length, 'operator', (t) => `<op:${t}>`);
  if ('(){}[],:@'.includes(c)) return tok(1, 'punct', (t) => JSON.stringify(t));
  const ch = String.fromCodePoint(rest.codePointAt(0)!);
  return tok(ch.length, 'char', (t) => `character ${JSON.stringify(t)}`);
}
