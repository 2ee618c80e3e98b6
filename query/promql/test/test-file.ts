import { labelsFromPairs, METRIC_NAME, type Labels } from '../../../model/labels.ts';
import { parseDuration } from '../../../model/duration.ts';
import { STALE_NAN } from '../../../model/stale-nan.ts';

/**
 * Prometheus's PromQL test-file format (`promql/promqltest/testdata/*.test`), parsed into
 * commands. The reference is upstream's harness, `promql/promqltest/test.go` (Prometheus 3.x),
 * and `../shared/promqltest/FORMAT.upstream.md`; this parser follows it line for line where the
 * two could disagree:
 * - lines are trimmed and a comment line (`#...`) counts as a blank line, so it ends a block;
 * - a command word is matched case-insensitively: `clear`, `load*`, `eval*`;
 * - a `load` block and an `eval` block end at the first blank line; an eval block also ends after a
 *   bare scalar line and after the deprecated `expected_fail_message` / `expected_fail_regexp`.
 *
 * Whatever sluice does not support yet is never dropped silently: it becomes a `skip` command with
 * its reason (a `load_with_nhcb`, an `@st` start-timestamp line), or a flag the runner turns into a
 * skipped eval (native histogram values `{{...}}`). A line this parser cannot read is an `invalid`
 * command, which the runner reports as a failure at its line.
 */

/** One point of a value sequence: a float (stale markers are `STALE_NAN`), a gap, or a native histogram. */
export type SequenceValue =
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'omitted' }
  | { readonly kind: 'histogram'; readonly text: string };

export interface LoadSeries {
  readonly labels: Labels;
  /** Point i sits at i * interval from t=0. */
  readonly values: readonly SequenceValue[];
  /** 1-based line in the file. */
  readonly line: number;
}

export interface LoadCommand {
  readonly kind: 'load';
  readonly line: number;
  readonly intervalMs: number;
  readonly series: readonly LoadSeries[];
}

export interface ClearCommand {
  readonly kind: 'clear';
  readonly line: number;
}

/** What an `expect <type> [msg|regex]: ...` line (or an old-style eval suffix) asks for. */
export type MessageMatch =
  | { readonly kind: 'any' }
  | { readonly kind: 'msg'; readonly text: string }
  | { readonly kind: 'regex'; readonly source: string; readonly regex: RegExp };

export type EvalTiming =
  | { readonly kind: 'instant'; readonly timeMs: number }
  | { readonly kind: 'range'; readonly startMs: number; readonly endMs: number; readonly stepMs: number };

export interface ExpectedSeries {
  readonly labels: Labels;
  readonly values: readonly SequenceValue[];
  readonly line: number;
  /** 1-based position among the expected series, for `expect ordered`. */
  readonly position: number;
}

export interface EvalCommand {
  readonly kind: 'eval';
  readonly line: number;
  /** The query text as written. */
  readonly expr: string;
  /** For an instant eval: the time, moved to the `expect range vector` end when there is one. */
  readonly timing: EvalTiming;
  /** The source line's keyword and timing part, for names and reports (`eval instant at 50m`). */
  readonly header: string;
  /** Null unless the query must fail (`expect fail`, `eval_fail`). */
  readonly fail: MessageMatch | null;
  /** `eval_warn` / `eval_info`: at least one annotation of the kind. */
  readonly anyWarn: boolean;
  readonly anyInfo: boolean;
  readonly warn: readonly MessageMatch[];
  readonly info: readonly MessageMatch[];
  readonly noWarn: boolean;
  readonly noInfo: boolean;
  readonly ordered: boolean;
  /** `expect string "..."`: the query returns this string. */
  readonly expectString: string | null;
  /** `expect range vector from .. to .. step ..`: an instant query returning a range vector. */
  readonly rangeVector: { readonly startMs: number; readonly endMs: number; readonly stepMs: number } | null;
  /** A bare number line: the query returns this scalar. */
  readonly expectScalar: number | null;
  /** Expected series, the later of two with the same labels kept (as upstream's map does). */
  readonly expected: readonly ExpectedSeries[];
  /** Upstream runs no `@` / range-mode variant (`expect range vector`, `expect string`). */
  readonly excludeFromRangeQuery: boolean;
  /** The expected values hold native histograms. */
  readonly nativeHistograms: boolean;
}

/** A construct parsed but not supported: the runner counts it as skipped, with `reason`. */
export interface SkipCommand {
  readonly kind: 'skip';
  readonly line: number;
  readonly text: string;
  readonly reason: string;
  /** Series a skipped load would have created; evals selecting them are skipped too. */
  readonly shadowedSeries: readonly Labels[];
  /** Float series the construct still loads (upstream's `load_with_nhcb` loads the classic series too). */
  readonly load: LoadCommand | null;
}

/** A line that does not parse: the runner reports it as a failure. */
export interface InvalidCommand {
  readonly kind: 'invalid';
  readonly line: number;
  readonly text: string;
  readonly message: string;
}

export type TestCommand = LoadCommand | ClearCommand | EvalCommand | SkipCommand | InvalidCommand;

/** A line of a test file that does not follow the format. */
export class TestFileSyntaxError extends Error {
  override readonly name = 'TestFileSyntaxError';

  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

// The patterns of upstream's test.go, unchanged.
const PAT_SPACE = /[\t ]+/;
const PAT_LOAD = /^load(?:_(with_nhcb))?\s+(.+?)$/;
const PAT_EVAL_INSTANT = /^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$/;
const PAT_EVAL_RANGE = /^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$/;
const PAT_EXPECT = /^expect\s+(ordered|fail|warn|no_warn|info|no_info)(?:\s+(regex|msg):(.+))?$/;
const PAT_EXPECT_RANGE = /^expect range vector\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+)$/;
const RANGE_VECTOR_PREFIX = 'expect range vector';
const EXPECT_STRING_PREFIX = 'expect string';

/** Parses a whole test file; never throws: bad lines become `invalid` commands. */
export function parseTestFile(text: string): TestCommand[] {
  const lines = text.split('\n').map((l) => {
    const t = l.trim();
    return t.startsWith('#') ? '' : t;
  });
  const commands: TestCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l === '') continue;
    const word = l.split(PAT_SPACE, 1)[0].toLowerCase();
    let end = i;
    try {
      if (word === 'clear') commands.push({ kind: 'clear', line: i + 1 });
      else if (word.startsWith('load')) {
        end = blockEnd(lines, i);
        commands.push(parseLoad(lines, i, end));
      } else if (word.startsWith('eval')) {
        const parsed = parseEval(lines, i);
        end = parsed.end;
        commands.push(parsed.command);
      } else {
        commands.push({ kind: 'skip', line: i + 1, text: l, reason: `unknown command "${word}"`, shadowedSeries: [], load: null });
      }
    } catch (error) {
      if (!(error instanceof TestFileSyntaxError)) throw error;
      if (word.startsWith('load') || word.startsWith('eval')) end = blockEnd(lines, i);
      commands.push({ kind: 'invalid', line: error.line, text: lines[error.line - 1] ?? l, message: error.message });
    }
    i = end;
  }
  return commands;
}

/** Index of the last line of the block starting at `start` (the line before the next blank). */
function blockEnd(lines: readonly string[], start: number): number {
  let i = start;
  while (i + 1 < lines.length && lines[i + 1] !== '') i++;
  return i;
}

function parseLoad(lines: readonly string[], start: number, end: number): LoadCommand | SkipCommand {
  const m = PAT_LOAD.exec(lines[start]);
  if (!m) throw new TestFileSyntaxError(start + 1, 'invalid load command (load[_with_nhcb] <step:duration>)');
  const intervalMs = parseDuration(m[2]);
  if (intervalMs === undefined) throw new TestFileSyntaxError(start + 1, `invalid step definition "${m[2]}"`);
  const series: LoadSeries[] = [];
  const stLines: number[] = [];
  for (let i = start + 1; i <= end; i++) {
    const l = lines[i];
    if (isStartTimestampLine(l)) {
      stLines.push(i + 1);
      continue;
    }
    const { labels, values } = parseSeriesLine(l, i + 1);
    series.push({ labels, values, line: i + 1 });
  }
  const load: LoadCommand = { kind: 'load', line: start + 1, intervalMs, series };
  if (m[1] === 'with_nhcb') {
    return {
      kind: 'skip',
      line: start + 1,
      text: lines[start],
      reason: 'load_with_nhcb: native histograms with custom buckets',
      shadowedSeries: nhcbSeries(series),
      load,
    };
  }
  if (stLines.length > 0) {
    return {
      kind: 'skip',
      line: start + 1,
      text: lines[start],
      reason: `start timestamps (@st lines ${stLines.join(', ')})`,
      shadowedSeries: series.map((s) => s.labels),
      load: null,
    };
  }
  return load;
}

/** `metric{labels}@st <offsets>`, or a bare `@st <offsets>`: upstream's start-timestamp lines. */
function isStartTimestampLine(line: string): boolean {
  const space = line.search(/[ \t]/);
  return space >= 0 && line.slice(0, space).endsWith('@st');
}

/** The native-histogram series `load_with_nhcb` derives from classic `_bucket` / `_count` / `_sum` series. */
function nhcbSeries(series: readonly LoadSeries[]): Labels[] {
  const out: Labels[] = [];
  for (const s of series) {
    const pairs: [string, string][] = [];
    let derived = false;
    for (let i = 0; i < s.labels.length; i += 2) {
      const [name, value] = [s.labels[i], s.labels[i + 1]];
      if (name === METRIC_NAME) {
        const base = /^(.*)_(bucket|count|sum)$/.exec(value);
        if (base) derived = true;
        pairs.push([name, base ? base[1] : value]);
      } else if (name !== 'le') pairs.push([name, value]);
    }
    if (derived) out.push(labelsFromPairs(pairs));
  }
  return out;
}

function parseEval(lines: readonly string[], start: number): { command: EvalCommand | SkipCommand; end: number } {
  const line = lines[start];
  const instant = PAT_EVAL_INSTANT.exec(line);
  const range = instant ? null : PAT_EVAL_RANGE.exec(line);
  if (!instant && !range) {
    throw new TestFileSyntaxError(
      start + 1,
      "invalid evaluation command; expected 'eval[_fail|_warn|_info|_ordered] instant [at <time>] <query>' or 'eval[_fail|_warn|_info] range from <from> to <to> step <step> <query>'",
    );
  }
  const mod = instant ? instant[1] : range![1];
  const expr = instant ? instant[3] : range![5];
  let timing: EvalTiming;
  if (instant) {
    timing = { kind: 'instant', timeMs: duration(instant[2] ?? '0', start, 'timestamp') };
  } else {
    const startMs = duration(range![2], start, 'start timestamp');
    const endMs = duration(range![3], start, 'end timestamp');
    if (endMs < startMs) throw new TestFileSyntaxError(start + 1, `end timestamp (${range![3]}) is before start timestamp (${range![2]})`);
    timing = { kind: 'range', startMs, endMs, stepMs: duration(range![4], start, 'step') };
  }
  const header = line.slice(0, line.length - expr.length).trimEnd();

  let fail: MessageMatch | null = mod === 'fail' ? { kind: 'any' } : null;
  const warn: MessageMatch[] = [];
  const info: MessageMatch[] = [];
  let noWarn = false;
  let noInfo = false;
  let ordered = mod === 'ordered';
  let expectString: string | null = null;
  let rangeVector: EvalCommand['rangeVector'] = null;
  let expectScalar: number | null = null;
  let excludeFromRangeQuery = false;
  let nativeHistograms = false;
  const expected = new Map<string, ExpectedSeries>();
  let failLines = 0;

  let i = start;
  for (; i + 1 < lines.length; ) {
    i++;
    const def = lines[i];
    if (def === '') {
      i--;
      break;
    }
    if (mod === 'fail' && def.startsWith('expected_fail_message')) {
      fail = { kind: 'msg', text: def.slice('expected_fail_message'.length).trim() };
      break;
    }
    if (mod === 'fail' && def.startsWith('expected_fail_regexp')) {
      fail = regexMatch(def.slice('expected_fail_regexp'.length).trim(), i);
      break;
    }
    if (def.startsWith(RANGE_VECTOR_PREFIX)) {
      const m = PAT_EXPECT_RANGE.exec(def);
      if (!m) throw new TestFileSyntaxError(i + 1, `invalid range vector definition "${def}"`);
      const from = duration(m[1], i, 'start timestamp');
      const to = duration(m[2], i, 'end timestamp');
      if (to < from) throw new TestFileSyntaxError(i + 1, `end timestamp (${m[2]}) is before start timestamp (${m[1]})`);
      rangeVector = { startMs: from, endMs: to, stepMs: duration(m[3], i, 'step') };
      if (timing.kind === 'instant') timing = { kind: 'instant', timeMs: to };
      excludeFromRangeQuery = true;
      continue;
    }
    if (def.startsWith(EXPECT_STRING_PREFIX)) {
      const quoted = def === EXPECT_STRING_PREFIX ? '' : def.slice(EXPECT_STRING_PREFIX.length + 1);
      const value = quoted === '' ? null : unquoteGo(quoted);
      if (value === null) throw new TestFileSyntaxError(i + 1, 'expected string literal not valid - a correctly quoted string literal is required');
      expectString = value;
      excludeFromRangeQuery = true;
      continue;
    }
    if (def.split(' ')[0] === 'expect') {
      const m = PAT_EXPECT.exec(def);
      if (!m) throw new TestFileSyntaxError(i + 1, 'invalid expect statement, must match `expect <type> <match_type>: <string>`');
      const [, type, how, rest] = m;
      const match: MessageMatch =
        how === 'msg' ? { kind: 'msg', text: rest.trim() } : how === 'regex' ? regexMatch(rest.trim(), i) : { kind: 'any' };
      switch (type) {
        case 'fail':
          fail = match;
          failLines++;
          break;
        case 'warn':
          warn.push(match);
          break;
        case 'info':
          info.push(match);
          break;
        case 'no_warn':
          noWarn = true;
          break;
        case 'no_info':
          noInfo = true;
          break;
        case 'ordered':
          ordered = true;
          break;
      }
      if (info.length > 0 && noInfo) throw new TestFileSyntaxError(i + 1, 'invalid expect lines, info and no_info cannot be used together');
      if (warn.length > 0 && noWarn) throw new TestFileSyntaxError(i + 1, 'invalid expect lines, warn and no_warn cannot be used together');
      if (failLines > 1) throw new TestFileSyntaxError(i + 1, 'invalid expect lines, multiple expect fail lines are not allowed');
      continue;
    }
    const scalar = parseNumber(def);
    if (scalar !== undefined) {
      expectScalar = scalar;
      expected.clear();
      break;
    }
    const { labels, values } = parseSeriesLine(def, i + 1);
    if (values.some((v) => v.kind === 'histogram')) nativeHistograms = true;
    if (values.length > 1 && timing.kind === 'instant' && rangeVector === null) {
      throw new TestFileSyntaxError(
        i + 1,
        "expecting multiple values in instant evaluation not allowed; use 'expect range vector' for a range vector result",
      );
    }
    expectScalar = null;
    const key = labels.join('\u0000');
    expected.delete(key);
    expected.set(key, { labels, values, line: i + 1, position: 0 });
  }
  const series = [...expected.values()].sort((a, b) => a.line - b.line).map((s, k) => ({ ...s, position: k + 1 }));
  const command: EvalCommand = {
    kind: 'eval',
    line: start + 1,
    expr,
    timing,
    header,
    fail,
    anyWarn: mod === 'warn',
    anyInfo: mod === 'info',
    warn,
    info,
    noWarn,
    noInfo,
    ordered,
    expectString,
    rangeVector,
    expectScalar,
    expected: series,
    excludeFromRangeQuery,
    nativeHistograms,
  };
  return { command, end: i };
}

function duration(text: string, index: number, what: string): number {
  const ms = parseDuration(text.trim());
  if (ms === undefined) throw new TestFileSyntaxError(index + 1, `invalid ${what} definition "${text}"`);
  return ms;
}

function regexMatch(source: string, index: number): MessageMatch {
  try {
    return { kind: 'regex', source, regex: new RegExp(source) };
  } catch (error) {
    throw new TestFileSyntaxError(index + 1, `invalid regex ${source}: ${(error as Error).message}`);
  }
}

/**
 * A bare number the way upstream's `parseNumber` reads one: Go's `strconv.ParseInt(s, 0, 64)`
 * (decimal, 0x, 0o, 0b) and then `strconv.ParseFloat` (decimals, exponents, Inf, NaN).
 */
export function parseNumber(text: string): number | undefined {
  const s = text;
  if (s.includes('_')) return undefined;
  if (/^[+-]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+)$/.test(s)) {
    const sign = s.startsWith('-') ? -1 : 1;
    const body = s.replace(/^[+-]/, '');
    const prefixed = /^0[0-7]+$/.test(body) ? `0o${body.slice(1)}` : body;
    return sign * Number(prefixed);
  }
  if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(s)) return NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
  if (/^[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+$/.test(s)) return parseHexFloat(s);
  return undefined;
}

function parseHexFloat(s: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s)!;
  const mantissa = parseInt(m[2] || '0', 16) + (m[3] ? parseInt(m[3], 16) / 16 ** m[3].length : 0);
  return (m[1] === '-' ? -1 : 1) * mantissa * 2 ** Number(m[4]);
}

// ---------------------------------------------------------------------------------------------
// Series descriptions: `metric{label="value", ...} <values>` (upstream's ParseSeriesDesc)

const METRIC_START = /[A-Za-z_:]/;
const METRIC_CHAR = /[A-Za-z0-9_:]/;
const LABEL_START = /[A-Za-z_]/;
const LABEL_CHAR = /[A-Za-z0-9_]/;

/** Parses `metric{labels} values...`; throws `TestFileSyntaxError` with `line`. */
export function parseSeriesLine(text: string, line: number): { labels: Labels; values: SequenceValue[] } {
  const { labels, rest } = parseSeriesLabels(text, line);
  return { labels, values: parseSequence(rest, line) };
}

function parseSeriesLabels(text: string, line: number): { labels: Labels; rest: string } {
  let pos = 0;
  const pairs: [string, string][] = [];
  const fail = (why: string): never => {
    throw new TestFileSyntaxError(line, `${why} at column ${pos + 1} of series description`);
  };
  if (pos < text.length && METRIC_START.test(text[pos])) {
    const start = pos;
    while (pos < text.length && METRIC_CHAR.test(text[pos])) pos++;
    pairs.push([METRIC_NAME, text.slice(start, pos)]);
  }
  if (text[pos] === '{') {
    pos++;
    const skipSpace = () => {
      while (text[pos] === ' ' || text[pos] === '\t') pos++;
    };
    for (;;) {
      skipSpace();
      if (text[pos] === '}') {
        pos++;
        break;
      }
      let name: string;
      const c = text[pos];
      if (c === '"' || c === "'" || c === '`') {
        const s = readQuoted(text, pos);
        if (s === null) fail('unterminated or invalid string');
        name = s!.value;
        pos = s!.end;
      } else if (c !== undefined && LABEL_START.test(c)) {
        const start = pos;
        while (pos < text.length && LABEL_CHAR.test(text[pos])) pos++;
        name = text.slice(start, pos);
      } else {
        return fail(c === undefined ? 'unclosed "{"' : `unexpected "${c}"`);
      }
      skipSpace();
      if (text[pos] === '=') {
        pos++;
        skipSpace();
        const s = readQuoted(text, pos);
        if (s === null) fail('expected a quoted label value');
        pairs.push([name, s!.value]);
        pos = s!.end;
      } else if (c === '"' || c === "'" || c === '`') {
        pairs.push([METRIC_NAME, name]); // `{"metric.name", ...}`
      } else {
        fail(`expected "=" after label name "${name}"`);
      }
      skipSpace();
      if (text[pos] === ',') pos++;
      else if (text[pos] !== '}') fail(text[pos] === undefined ? 'unclosed "{"' : `unexpected "${text[pos]}"`);
    }
  } else if (pairs.length === 0) {
    fail('expected a metric name or "{"');
  }
  if (pos < text.length && text[pos] !== ' ' && text[pos] !== '\t') fail(`unexpected "${text[pos]}" after the series labels`);
  return { labels: labelsFromPairs(pairs), rest: text.slice(pos) };
}

// No hexadecimal here: upstream's lexer disallows it in series descriptions, where `0x59` is 0 repeated.
const UNSIGNED = String.raw`(?:[iI][nN][fF]|[nN][aA][nN]|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)`;
const NUM = String.raw`[+-]?${UNSIGNED}`;
const PAT_ITEM = new RegExp(String.raw`^(${NUM}|stale)(?:([+-]${UNSIGNED})?x(\d+))?$`);

/** The value sequence after the labels: `1 2+3x4 _ _x3 stale Inf {{...}}x2`. */
export function parseSequence(text: string, line: number): SequenceValue[] {
  const out: SequenceValue[] = [];
  for (const item of splitItems(text, line)) {
    if (item === '_') {
      out.push({ kind: 'omitted' });
      continue;
    }
    const blank = /^_x(\d+)$/.exec(item);
    if (blank) {
      for (let k = 0; k < Number(blank[1]); k++) out.push({ kind: 'omitted' });
      continue;
    }
    if (item.startsWith('{{')) {
      const close = item.lastIndexOf('}}');
      const times = /x(\d+)$/.exec(item.slice(close + 2));
      const n = times ? Number(times[1]) + 1 : 1;
      for (let k = 0; k < n; k++) out.push({ kind: 'histogram', text: item });
      continue;
    }
    const m = PAT_ITEM.exec(item);
    if (!m) throw new TestFileSyntaxError(line, `invalid series value "${item}"`);
    let value = m[1] === 'stale' ? STALE_NAN : parseNumber(m[1])!;
    if (m[3] === undefined) {
      out.push({ kind: 'float', value });
      continue;
    }
    const delta = m[2] === undefined ? 0 : (m[2][0] === '-' ? -1 : 1) * parseNumber(m[2].slice(1))!;
    // N+1 points, the delta added step by step as upstream's parser does (the same rounding).
    for (let k = 0; k <= Number(m[3]); k++) {
      out.push({ kind: 'float', value });
      if (m[2] !== undefined) value += delta;
    }
  }
  return out;
}

/** Splits on blanks, keeping a `{{ ... }}` histogram (and its `x3` / `+{{...}}x3` tail) whole. */
function splitItems(text: string, line: number): string[] {
  const items: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === ' ' || text[i] === '\t') {
      i++;
      continue;
    }
    const start = i;
    let depth = 0;
    while (i < text.length && (depth > 0 || (text[i] !== ' ' && text[i] !== '\t'))) {
      if (text[i] === '{') depth++;
      else if (text[i] === '}') depth--;
      i++;
    }
    if (depth !== 0) throw new TestFileSyntaxError(line, `unbalanced braces in "${text.slice(start)}"`);
    items.push(text.slice(start, i));
  }
  return items;
}

/** Go's `strconv.Unquote` for a whole string: "double" and 'single' with escapes, `raw`. Null if invalid. */
export function unquoteGo(text: string): string | null {
  const s = readQuoted(text, 0);
  return s !== null && s.end === text.length ? s.value : null;
}

/** Reads a Go/PromQL quoted string at `start`; null if it is not one. */
function readQuoted(text: string, start: number): { value: string; end: number } | null {
  const quote = text[start];
  if (quote !== '"' && quote !== "'" && quote !== '`') return null;
  let i = start + 1;
  if (quote === '`') {
    const close = text.indexOf('`', i);
    return close < 0 ? null : { value: text.slice(i, close), end: close + 1 };
  }
  let out = '';
  let bytes: number[] = [];
  const flush = () => {
    if (bytes.length > 0) out += new TextDecoder().decode(new Uint8Array(bytes));
    bytes = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (c === quote) {
      flush();
      return { value: out, end: i + 1 };
    }
    if (c === '\n') return null;
    if (c !== '\\') {
      flush();
      out += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    const simple: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };
    if (e !== undefined && e in simple) {
      if ((e === '"' && quote !== '"') || (e === "'" && quote !== "'")) return null;
      flush();
      out += simple[e];
      i += 2;
    } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (e !== undefined && /[0-7]/.test(e) && /^[0-7]{3}$/.test(text.slice(i + 1, i + 4))) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8) & 0xff);
      i += 4;
    } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
      flush();
      out += String.fromCodePoint(parseInt(text.slice(i + 2, i + 6), 16));
      i += 6;
    } else if (e === 'U' && /^[0-9a-fA-F]{8}$/.test(text.slice(i + 2, i + 10))) {
      flush();
      out += String.fromCodePoint(parseInt(text.slice(i + 2, i + 10), 16));
      i += 10;
    } else {
      return null;
    }
  }
  return null;
}
