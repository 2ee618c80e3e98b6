import { METRIC_NAME, getLabel, type Labels } from './labels.ts';
import { LabelMatcher, matchesAllWith, type MatchOp } from './matchers.ts';
import { RegexSyntaxError } from './regex.ts';

/**
 * Series selectors as a relabel rule's `if:` accepts them (the VictoriaMetrics extension):
 *
 *     metric_name
 *     {label="v", other=~"re"}
 *     metric_name{label!="v"}
 *     {a="b" or c="d"}                 any of the `or`-separated groups may match
 *     metric{a="b" or c="d"}           the metric name applies to every group
 *     {"utf8.metric", "label.x"="v"}   quoted names, as Prometheus 3 writes them
 *
 * Strings take Go's quoting: "double" and 'single' quotes with backslash escapes, `backticks` raw.
 * A missing label has the empty value and regexes are fully anchored (see matchers.ts).
 */

/** A selector that does not parse; `column` is 1-based within `input`. */
export class SeriesSelectorError extends Error {
  override readonly name = 'SeriesSelectorError';

  constructor(
    readonly input: string,
    /** 0-based offset of the problem within `input`. */
    readonly offset: number,
    readonly reason: string,
    readonly hint: string,
    options?: { cause?: unknown },
  ) {
    super(`${reason} at column ${offset + 1}${hint ? ` (${hint})` : ''}`, options);
  }

  get column(): number {
    return this.offset + 1;
  }
}

export class SeriesSelector {
  constructor(
    readonly source: string,
    /** Alternatives: the selector matches when every matcher of any one group does. */
    readonly groups: readonly (readonly LabelMatcher[])[],
  ) {}

  matches(labels: Labels): boolean {
    return this.matchesWith((name) => getLabel(labels, name));
  }

  /** Matches labels read through `get` (the empty string for an absent label). */
  matchesWith(get: (name: string) => string): boolean {
    for (const group of this.groups) if (matchesAllWith(group, get)) return true;
    return false;
  }

  toString(): string {
    return this.source;
  }
}

/** Several selectors; the list matches when any of them does. */
export class SeriesSelectorList {
  constructor(readonly selectors: readonly SeriesSelector[]) {}

  matches(labels: Labels): boolean {
    return this.matchesWith((name) => getLabel(labels, name));
  }

  matchesWith(get: (name: string) => string): boolean {
    for (const s of this.selectors) if (s.matchesWith(get)) return true;
    return false;
  }
}

/** Parses one selector; throws `SeriesSelectorError`. */
export function parseSeriesSelector(input: string): SeriesSelector {
  return new Parser(input).parse();
}

/** Parses one selector or a list of them (as `if:` accepts both). Throws `SeriesSelectorError`. */
export function parseSeriesSelectors(input: string | readonly string[]): SeriesSelectorList {
  const list = typeof input === 'string' ? [input] : input;
  return new SeriesSelectorList(list.map(parseSeriesSelector));
}

const METRIC_START = /[A-Za-z_:]/;
const METRIC_CHAR = /[A-Za-z0-9_:]/;
const LABEL_START = /[A-Za-z_]/;
const LABEL_CHAR = /[A-Za-z0-9_]/;

class Parser {
  private pos = 0;

  constructor(private readonly input: string) {}

  parse(): SeriesSelector {
    this.skipSpace();
    let metric: string | null = null;
    if (this.pos < this.input.length && METRIC_START.test(this.input[this.pos])) {
      metric = this.identifier(METRIC_CHAR);
      this.skipSpace();
    }
    let groups: ParsedMatcher[][] = [[]];
    if (this.peek() === '{') {
      this.pos++;
      groups = this.groups();
    } else if (metric === null) {
      if (this.pos >= this.input.length) {
        this.fail(this.pos, 'empty series selector', 'write a metric name or {label="value"}');
      }
      this.fail(this.pos, `unexpected ${this.describe()}`, 'a selector starts with a metric name or "{"');
    }
    this.skipSpace();
    if (this.pos < this.input.length) {
      this.fail(this.pos, `unexpected ${this.describe()} after the selector`, 'one series selector per string; use a list for several');
    }

    const out: LabelMatcher[][] = [];
    for (const group of groups) {
      const named = group.filter((m) => m.matcher.name === METRIC_NAME);
      if (metric !== null && named.length > 0) {
        this.fail(named[0].at, `metric name must not be set twice: ${JSON.stringify(metric)} or ${JSON.stringify(named[0].matcher.value)}`, 'drop the __name__ matcher or the name before "{"');
      }
      const bare = named.find((m) => m.bare);
      if (bare !== undefined && named.length > 1) {
        const other = named.find((m) => m !== bare)!;
        this.fail(other.at, 'metric name must not be set twice', 'keep one metric name per group');
      }
      const matchers = group.map((m) => m.matcher);
      out.push(metric === null ? matchers : [new LabelMatcher('=', METRIC_NAME, metric), ...matchers]);
    }
    return new SeriesSelector(this.input, out);
  }

  /** After `{`: matcher groups separated by `or`, up to and including `}`. */
  private groups(): ParsedMatcher[][] {
    const groups: ParsedMatcher[][] = [];
    let group: ParsedMatcher[] = [];
    this.skipSpace();
    if (this.peek() === '}') {
      this.pos++;
      return [group];
    }
    while (true) {
      this.skipSpace();
      if (this.pos >= this.input.length) this.fail(this.pos, 'unclosed "{"', 'add "}"');
      group.push(this.matcher());
      this.skipSpace();
      const c = this.peek();
      if (c === ',') {
        this.pos++;
        this.skipSpace();
        if (this.peek() === '}') {
          this.pos++;
          groups.push(group);
          return groups;
        }
        continue;
      }
      if (c === '}') {
        this.pos++;
        groups.push(group);
        return groups;
      }
      if (this.atKeywordOr()) {
        this.pos += 2;
        groups.push(group);
        group = [];
        this.skipSpace();
        if (this.peek() === '}' || this.pos >= this.input.length) {
          this.fail(this.pos, 'expected a label matcher after "or"', 'remove the trailing "or"');
        }
        continue;
      }
      if (this.pos >= this.input.length) this.fail(this.pos, 'unclosed "{"', 'add "}"');
      this.fail(this.pos, `unexpected ${this.describe()} after a label matcher`, 'separate matchers with "," and groups with "or"');
    }
  }

  private atKeywordOr(): boolean {
    const s = this.input;
    const p = this.pos;
    if (s.slice(p, p + 2).toLowerCase() !== 'or') return false;
    const after = s[p + 2];
    return after === undefined || !LABEL_CHAR.test(after);
  }

  /** `name op "value"`, or a quoted metric name standing alone (`{"my.metric"}`). */
  private matcher(): ParsedMatcher {
    const at = this.pos;
    const c = this.peek();
    let name: string;
    let quoted = false;
    if (c === '"' || c === "'" || c === '`') {
      name = this.string();
      quoted = true;
    } else if (c !== undefined && LABEL_START.test(c)) {
      name = this.identifier(LABEL_CHAR);
    } else {
      this.fail(this.pos, `unexpected ${this.describe()}`, 'expected a label name');
    }
    this.skipSpace();
    const next = this.peek();
    if (quoted && (next === ',' || next === '}' || this.atKeywordOr())) {
      return { matcher: new LabelMatcher('=', METRIC_NAME, name), at, bare: true };
    }
    const opAt = this.pos;
    const op = this.op();
    if (op === null) {
      this.fail(opAt, `unexpected ${this.describe()} after label name ${JSON.stringify(name)}`, 'expected one of =, !=, =~, !~');
    }
    this.skipSpace();
    const valueAt = this.pos;
    const q = this.peek();
    if (q !== '"' && q !== "'" && q !== '`') {
      this.fail(valueAt, `unexpected ${this.describe()}`, 'a label value is a quoted string: "v", \'v\' or `v`');
    }
    const value = this.string();
    try {
      return { matcher: new LabelMatcher(op, name, value), at, bare: false };
    } catch (error) {
      if (error instanceof RegexSyntaxError) {
        // Point into the string literal when the offending part appears in it verbatim.
        const inLiteral = error.position >= 0 ? this.input.indexOf(error.fragment, valueAt) : -1;
        this.fail(inLiteral >= 0 ? inLiteral : valueAt, `invalid regex: ${error.reason}`, 'regexes use RE2 syntax', error);
      }
      throw error;
    }
  }

  private op(): MatchOp | null {
    const two = this.input.slice(this.pos, this.pos + 2);
    if (two === '!=' || two === '=~' || two === '!~') {
      this.pos += 2;
      return two;
    }
    if (this.peek() === '=') {
      this.pos++;
      return '=';
    }
    return null;
  }

  private identifier(chars: RegExp): string {
    const start = this.pos;
    this.pos++;
    while (this.pos < this.input.length && chars.test(this.input[this.pos])) this.pos++;
    return this.input.slice(start, this.pos);
  }

  /** A Go-quoted string at `pos`: "..." or '...' with escapes, `...` raw. */
  private string(): string {
    const s = this.input;
    const open = this.pos;
    const quote = s[open];
    let i = open + 1;
    if (quote === '`') {
      const close = s.indexOf('`', i);
      if (close < 0) this.fail(open, 'unterminated raw string', 'close it with `');
      this.pos = close + 1;
      return s.slice(i, close);
    }
    let out = '';
    let bytes: number[] | null = null; // pending \x / octal bytes, decoded as UTF-8
    const flush = (): void => {
      if (bytes !== null) {
        out += utf8.decode(new Uint8Array(bytes));
        bytes = null;
      }
    };
    while (true) {
      if (i >= s.length) this.fail(open, 'unterminated string', `close it with ${quote}`);
      const c = s[i];
      if (c === quote) break;
      if (c === '\n') this.fail(i, 'newline in string', 'write \\n, or use a `raw` string');
      if (c !== '\\') {
        flush();
        out += c;
        i++;
        continue;
      }
      const e = s[i + 1];
      const escAt = i;
      i += 2;
      const simple = SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        flush();
        out += simple;
        continue;
      }
      if (e === quote) {
        flush();
        out += quote;
        continue;
      }
      if (e === 'x') {
        const hex = s.slice(i, i + 2);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) this.fail(escAt, 'invalid \\x escape', 'write \\x followed by two hex digits');
        (bytes ??= []).push(parseInt(hex, 16));
        i += 2;
        continue;
      }
      if (e !== undefined && e >= '0' && e <= '7') {
        const oct = s.slice(i - 1, i + 2);
        const v = /^[0-7]{3}$/.test(oct) ? parseInt(oct, 8) : 256;
        if (v > 255) this.fail(escAt, 'invalid octal escape', 'write \\ followed by three octal digits up to \\377');
        (bytes ??= []).push(v);
        i += 2;
        continue;
      }
      if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = s.slice(i, i + n);
        const cp = /^[0-9A-Fa-f]+$/.test(hex) && hex.length === n ? parseInt(hex, 16) : -1;
        if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
          this.fail(escAt, `invalid \\${e} escape`, `write \\${e} followed by ${n} hex digits of a Unicode code point`);
        }
        flush();
        out += String.fromCodePoint(cp);
        i += n;
        continue;
      }
      this.fail(escAt, `unknown escape sequence \\${e ?? ''}`, quote === '"' && e === "'" ? "a ' needs no escape inside double quotes" : quote === "'" && e === '"' ? 'a " needs no escape inside single quotes' : 'escape a backslash as \\\\');
    }
    flush();
    this.pos = i + 1;
    return out;
  }

  private skipSpace(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos])) this.pos++;
  }

  private peek(): string | undefined {
    return this.input[this.pos];
  }

  private describe(): string {
    if (this.pos >= this.input.length) return 'end of input';
    return JSON.stringify(String.fromCodePoint(this.input.codePointAt(this.pos)!));
  }

  private fail(offset: number, reason: string, hint: string, cause?: unknown): never {
    throw new SeriesSelectorError(this.input, offset, reason, hint, cause === undefined ? undefined : { cause });
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
};

const utf8 = new TextDecoder('utf-8');

interface ParsedMatcher {
  matcher: LabelMatcher;
  /** Offset of the matcher in the input. */
  at: number;
  /** A quoted metric name standing alone (`{"name"}`). */
  bare: boolean;
}
