/**
 * Parser for the OpenMetrics 1.0 text format (`application/openmetrics-text; version=1.0.0`),
 * with Prometheus 3's quoted UTF-8 names.
 *
 *   sample   = series " " value [" " timestamp] [" # " exemplar]
 *   exemplar = labelset " " value [" " timestamp]
 *   metadata = "# HELP " name " " text | "# TYPE " name " " type | "# UNIT " name " " unit
 *   the last line is "# EOF"
 *
 * Timestamps are float seconds; they become milliseconds through one correctly rounded decimal
 * conversion (`1700000000.123` -> 1700000000123), so sub-millisecond digits survive as a
 * fraction of a millisecond (`0.0005` -> 0.5). NaN or infinite timestamps are errors.
 *
 * Where the spec is strict and checking is cheap, this parser is strict: blank lines, comments
 * other than HELP/TYPE/UNIT/EOF, unknown escapes, a missing `# EOF` and content after it are
 * errors. It is lenient about blanks: runs of spaces and tabs separate tokens, and blanks may
 * sit inside label sets (`{a="1", b="2"}`). Family checks are per line and only for families
 * with a `# TYPE` line: a sample named after the current family (the name itself or the name
 * plus a known suffix) must fit its type (`foo_total` for a counter, `foo_bucket` with an `le`
 * label for a histogram, ...); a sample with an unrelated name starts a new, untyped family.
 * Interleaved families and value constraints (counters >= 0, bucket order) are not checked.
 *
 * A malformed exemplar makes the whole line an error: the sample is dropped too, as Prometheus
 * drops it. With `exemplars: 'drop'`, exemplars are checked for syntax only (their labels are
 * skipped like a cached key, not decoded).
 */
import { getLabel, labelsFromPairs, metricName, type Labels } from '../labels.ts';
import type { MetricType } from '../metadata.ts';
import { numberStatus, parseFloatBytes } from './parse-float.ts';
import { ErrorSink } from './parse-errors.ts';
import {
  CH_BRACE_OPEN,
  CH_CR,
  CH_HASH,
  CH_LF,
  addScanError,
  decodeQuoted,
  decodeSeries,
  describeAt,
  Escapes,
  excerpt,
  isBlank,
  labelSet,
  latin1,
  type LineMemo,
  matchesWord,
  MetadataCollector,
  metaMemoLookup,
  slotOf,
  type FamilySlot,
  nameScan,
  parseLabelSet,
  parseMetadataName,
  scanError,
  scanMetricName,
  seriesScan,
  setScanError,
  skipBlanks,
  skipLabelSet,
  tokenEnd,
  trimBlanksEnd,
  viewOf,
} from './text-scanner.ts';
import type { Exemplar, ExpositionParser, ParseOptions, ParseResult, ParseTarget } from './types.ts';

const OM_TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset', 'unknown']);

/** Sample name suffixes each type allows ('' is the bare family name). */
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ['_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_count', '_sum', '_created'],
  gaugehistogram: ['_bucket', '_gcount', '_gsum'],
  summary: ['', '_count', '_sum', '_created'],
  info: ['_info'],
  stateset: [''],
  unknown: [''],
};
const KNOWN_SUFFIXES = ['', '_total', '_created', '_bucket', '_count', '_sum', '_gcount', '_gsum', '_info'];

/** Exemplar label sets may hold at most this many characters (names and values together). */
const MAX_EXEMPLAR_RUNES = 128;

/** What a family's `# TYPE` line allows, built once per distinct line and remembered. */
interface FamilyRules {
  readonly family: string;
  readonly type: MetricType;
  /** Sample names the type allows. */
  readonly allowed: ReadonlySet<string>;
  /** The family's name with any known suffix: such a sample must be allowed or is a mismatch. */
  readonly related: ReadonlySet<string>;
  /** The sample name that needs an `le` (histograms) or `quantile` (summaries) label, or ''. */
  readonly needsLabelOn: string;
  readonly neededLabel: string;
}

interface MetaLine {
  readonly kind: 'help' | 'type' | 'unit' | 'eof';
  readonly family: string;
  /** The family's slot in this target's memo (undefined for EOF). */
  readonly slot: FamilySlot | undefined;
  readonly text: string;
  readonly rules: FamilyRules | undefined;
}

const EOF_LINE: MetaLine = { kind: 'eof', family: '', slot: undefined, text: '', rules: undefined };
/** This format's metadata memo of a target (never shared with the 0.0.4 parser). */
const metaMemoFor = metaMemoLookup<MetaLine>();

interface State {
  readonly errors: ErrorSink;
  readonly meta: MetadataCollector;
  readonly memo: LineMemo<MetaLine>;
  readonly slots: Map<string, FamilySlot>;
  readonly view: DataView;
  readonly keepExemplars: boolean;
  readonly exemplars: Exemplar[];
  /** Family of the latest metadata line ('' once a sample left it). */
  family: string;
  /** Rules of the current family when it has a `# TYPE` line. */
  rules: FamilyRules | undefined;
  type: MetricType | '';
  samples: number;
}

export const parseOpenMetrics: ExpositionParser = (
  payload: Uint8Array,
  options: ParseOptions,
  target: ParseTarget,
): ParseResult => {
  const buf = payload;
  const len = buf.length;
  const memos = metaMemoFor(target.series);
  const state: State = {
    errors: new ErrorSink(options.maxErrorDetails),
    meta: new MetadataCollector(),
    memo: memos.lines,
    slots: memos.slots,
    view: viewOf(buf),
    keepExemplars: options.exemplars === 'keep',
    exemplars: [],
    family: '',
    rules: undefined,
    type: '',
    samples: 0,
  };
  let line = 0;
  let pos = 0;
  let sawEof = false;

  // One line per iteration; `indexOf` finds its end natively. The per-line work on a cached
  // series allocates nothing (see `sampleLine`).
  while (pos < len) {
    line++;
    const lineStart = pos;
    let nl = buf.indexOf(CH_LF, pos);
    if (nl < 0) nl = len;
    pos = nl + 1;
    const end = nl > lineStart && buf[nl - 1] === CH_CR ? nl - 1 : nl;
    if (lineStart === end) {
      state.errors.add(line, 1, 'blank_line', 'expected a sample or a metadata line, found a blank line');
      continue;
    }
    if (buf[lineStart] === CH_HASH) {
      const kind = metadataLine(buf, lineStart, end, state);
      if (kind === null) addScanError(state.errors, line, lineStart);
      else if (kind === 'eof') {
        sawEof = true;
        break;
      }
      continue;
    }
    sampleLine(buf, lineStart, end, line, state, options, target);
  }

  if (sawEof && pos < len) {
    state.errors.add(line + 1, 1, 'content_after_eof', `expected nothing after "# EOF", found "${excerpt(buf, pos, len)}"`);
  } else if (!sawEof) {
    state.errors.add(line + 1, 1, 'missing_eof', 'expected "# EOF" as the last line, found end of payload');
  }
  return {
    samples: state.samples,
    errors: state.errors.errors,
    errorCount: state.errors.count,
    metadata: state.meta.result(),
    exemplars: state.exemplars,
  };
};

/** Decoded exemplar of the current line (only filled when exemplars are kept). */
const exemplarScan = { labels: [] as Labels, value: 0, timestampMs: undefined as number | undefined };

function sampleLine(
  buf: Uint8Array,
  lineStart: number,
  end: number,
  line: number,
  state: State,
  options: ParseOptions,
  target: ParseTarget,
): void {
  const errors = state.errors;
  let i = lineStart;
  const keyStart = i;
  let keyEnd: number;
  if (buf[i] === CH_BRACE_OPEN) {
    keyEnd = skipLabelSet(buf, i, end);
    if (keyEnd < 0) return explainLabelSet(buf, i, end, errors, line, lineStart);
  } else {
    keyEnd = scanMetricName(buf, i, end);
    if (keyEnd === i) {
      return errors.add(line, i - lineStart + 1, 'invalid_metric_name', `expected a metric name, found ${describeAt(buf, i, end)}`);
    }
    if (keyEnd < end && buf[keyEnd] === CH_BRACE_OPEN) {
      const braceAt = keyEnd;
      keyEnd = skipLabelSet(buf, braceAt, end);
      if (keyEnd < 0) return explainLabelSet(buf, braceAt, end, errors, line, lineStart);
    }
  }
  if (keyEnd < end && !isBlank(buf[keyEnd])) {
    return errors.add(line, keyEnd - lineStart + 1, 'unexpected_character', `expected a blank before the value, found ${describeAt(buf, keyEnd, end)}`);
  }

  // Value, optional timestamp (float seconds), optional exemplar.
  const valueStart = skipBlanks(buf, keyEnd, end);
  if (valueStart >= end) {
    return errors.add(line, valueStart - lineStart + 1, 'invalid_value', 'expected a sample value, found end of line');
  }
  const valueEnd = tokenEnd(buf, valueStart, end);
  const value = parseFloatBytes(buf, valueStart, valueEnd);
  if (!numberStatus.ok) {
    return errors.add(line, valueStart - lineStart + 1, 'invalid_value', `expected a float sample value, found "${excerpt(buf, valueStart, valueEnd)}"`);
  }
  let ts = options.defaultTimestampMs;
  i = skipBlanks(buf, valueEnd, end);
  if (i < end && buf[i] !== CH_HASH) {
    const tsEnd = tokenEnd(buf, i, end);
    ts = parseTimestamp(buf, i, tsEnd);
    if (!numberStatus.ok) {
      return errors.add(line, i - lineStart + 1, 'invalid_timestamp', `expected a timestamp in seconds, found "${excerpt(buf, i, tsEnd)}"`);
    }
    i = skipBlanks(buf, tsEnd, end);
  }
  let hasExemplar = false;
  if (i < end) {
    if (buf[i] !== CH_HASH) {
      return errors.add(line, i - lineStart + 1, 'unexpected_character', `expected end of line or " # " and an exemplar, found ${describeAt(buf, i, end)}`);
    }
    if (!parseExemplar(buf, i, end, state.keepExemplars)) return addScanError(errors, line, lineStart);
    hasExemplar = state.keepExemplars;
  }

  // Series: a cache hit costs one hash and one comparison; only a miss decodes labels.
  const cache = target.series;
  let ref = cache.get(buf, keyStart, keyEnd);
  if (ref >= 0) {
    if (state.rules !== undefined) {
      const labels = cache.registry.labels(ref);
      if (!checkFamily(metricName(labels), labels, state, keyStart)) return addScanError(errors, line, lineStart);
    }
  } else {
    const normalize = state.type === 'histogram' ? 'le' : state.type === 'summary' ? 'quantile' : '';
    const labels = decodeSeries(buf, keyStart, keyEnd, Escapes.Strict, normalize);
    if (labels === null || !checkFamily(seriesScan.name, labels, state, keyStart)) return addScanError(errors, line, lineStart);
    ref = cache.add(buf, keyStart, keyEnd, labels);
  }
  target.builder.append(ref, ts, value);
  state.samples++;
  if (hasExemplar) {
    state.exemplars.push({
      seriesRef: ref,
      labels: exemplarScan.labels,
      value: exemplarScan.value,
      timestampMs: exemplarScan.timestampMs,
    });
  }
}

/** Float seconds to ms in one rounding; NaN and infinities are not timestamps. */
function parseTimestamp(buf: Uint8Array, start: number, end: number): number {
  const ms = parseFloatBytes(buf, start, end, 3);
  if (numberStatus.ok && (ms !== ms || ms === Infinity || ms === -Infinity)) numberStatus.ok = false;
  return ms;
}

/**
 * Checks a sample named `name` against the current family; false with `scanError` set on a
 * mismatch. A name unrelated to the family ends it: later samples are checked against nothing
 * until the next metadata line.
 */
function checkFamily(name: string, labels: Labels, state: State, pos: number): boolean {
  const rules = state.rules;
  if (rules === undefined) return true;
  if (!rules.allowed.has(name)) {
    if (!rules.related.has(name)) {
      state.family = '';
      state.rules = undefined;
      return true;
    }
    setScanError('family_mismatch', pos, `expected a sample of ${rules.type} ${rules.family} (${[...rules.allowed].join(', ')}), found ${name}`);
    return false;
  }
  if (name === rules.needsLabelOn && getLabel(labels, rules.neededLabel) === '') {
    const reason = rules.neededLabel === 'le' ? 'missing_le' : 'missing_quantile';
    setScanError(reason, pos, `expected a ${rules.neededLabel} label on ${rules.type} sample ${name}, found none`);
    return false;
  }
  return true;
}

/**
 * The exemplar at `i` (at `#`): `# {labels} value [timestamp]`. Fills `exemplarScan` when
 * `keep`; returns false with `scanError` set when it is malformed.
 */
function parseExemplar(buf: Uint8Array, i: number, end: number, keep: boolean): boolean {
  const hashAt = i;
  i = skipBlanks(buf, i + 1, end);
  if (i === hashAt + 1 || i >= end || buf[i] !== CH_BRACE_OPEN) {
    return invalidExemplar(i, `expected " # {" to start an exemplar, found ${describeAt(buf, i, end)}`);
  }
  let close: number;
  if (keep) {
    const pairs: string[] = [];
    close = parseLabelSet(buf, i, end, Escapes.Strict, pairs);
    if (close < 0) return invalidExemplar(scanError.pos, scanError.message);
    if (labelSet.quotedName !== '') return invalidExemplar(i, 'expected exemplar labels, found a metric name');
    let runes = 0;
    const entries: [string, string][] = [];
    for (let k = 0; k < pairs.length; k += 2) {
      for (const _ of pairs[k]) runes++;
      for (const _ of pairs[k + 1]) runes++;
      entries.push([pairs[k], pairs[k + 1]]);
    }
    if (runes > MAX_EXEMPLAR_RUNES) {
      return invalidExemplar(i, `expected at most ${MAX_EXEMPLAR_RUNES} characters of exemplar labels, found ${runes}`);
    }
    exemplarScan.labels = labelsFromPairs(entries);
  } else {
    close = skipLabelSet(buf, i, end);
    if (close < 0) return invalidExemplar(i, "expected '}' to close the exemplar labels, found end of line");
  }
  if (close >= end || !isBlank(buf[close])) {
    return invalidExemplar(close, `expected a blank and the exemplar value, found ${describeAt(buf, close, end)}`);
  }
  i = skipBlanks(buf, close, end);
  const valueEnd = tokenEnd(buf, i, end);
  const value = parseFloatBytes(buf, i, valueEnd);
  if (!numberStatus.ok) return invalidExemplar(i, `expected a float exemplar value, found "${excerpt(buf, i, valueEnd)}"`);
  let ts: number | undefined;
  i = skipBlanks(buf, valueEnd, end);
  if (i < end) {
    const tsEnd = tokenEnd(buf, i, end);
    ts = parseTimestamp(buf, i, tsEnd);
    if (!numberStatus.ok) return invalidExemplar(i, `expected an exemplar timestamp in seconds, found "${excerpt(buf, i, tsEnd)}"`);
    i = skipBlanks(buf, tsEnd, end);
    if (i < end) return invalidExemplar(i, `expected end of line after the exemplar, found ${describeAt(buf, i, end)}`);
  }
  exemplarScan.value = value;
  exemplarScan.timestampMs = ts;
  return true;
}

function invalidExemplar(pos: number, message: string): false {
  setScanError('invalid_exemplar', pos, message);
  return false;
}

function explainLabelSet(buf: Uint8Array, i: number, end: number, errors: ErrorSink, line: number, lineStart: number): void {
  if (parseLabelSet(buf, i, end, Escapes.Strict, []) >= 0) {
    setScanError('unterminated_label_set', end, "expected '}' to close the label set, found end of line");
  }
  addScanError(errors, line, lineStart);
}

/**
 * A `#` line `buf[i, end)`: HELP, TYPE, UNIT or EOF. Returns its kind, or null with `scanError`
 * set (malformed metadata, a duplicate, any other comment).
 */
function metadataLine(buf: Uint8Array, i: number, end: number, state: State): MetaLine['kind'] | null {
  let entry = state.memo.lookup(state.view, buf, i, end);
  if (entry === undefined) {
    const parsed = parseMetadataLine(buf, i, end, state.slots);
    if (parsed === null) return null;
    entry = state.memo.insert(buf, i, end, parsed);
  }
  const meaning = entry.value;
  if (meaning.kind === 'eof') return 'eof';
  const family = meaning.family;
  if (family !== state.family) {
    state.family = family;
    state.rules = undefined;
  }
  const draft = state.meta.use(meaning.slot!);
  switch (meaning.kind) {
    case 'help':
      if (draft.hasHelp) return duplicate('HELP', family, i);
      draft.help = meaning.text;
      draft.hasHelp = true;
      break;
    case 'unit':
      if (draft.hasUnit) return duplicate('UNIT', family, i);
      draft.unit = meaning.text;
      draft.hasUnit = true;
      break;
    case 'type':
      if (draft.hasType) return duplicate('TYPE', family, i);
      draft.type = meaning.rules!.type;
      draft.hasType = true;
      state.rules = meaning.rules;
      state.type = meaning.rules!.type;
      break;
  }
  return meaning.kind;
}

function duplicate(what: string, family: string, pos: number): null {
  setScanError(`duplicate_${what.toLowerCase()}`, pos, `expected one ${what} line for ${family}, found a second one`);
  return null;
}

function parseMetadataLine(buf: Uint8Array, i: number, end: number, slots: Map<string, FamilySlot>): MetaLine | null {
  if (end - i === 5 && matchesWord(buf, i, end, '# EOF')) return EOF_LINE;
  let kind: MetaLine['kind'];
  if (matchesWord(buf, i, end, '# HELP ')) kind = 'help';
  else if (matchesWord(buf, i, end, '# TYPE ')) kind = 'type';
  else if (matchesWord(buf, i, end, '# UNIT ')) kind = 'unit';
  else {
    setScanError('invalid_comment', i, `expected "# HELP", "# TYPE", "# UNIT" or "# EOF", found "${excerpt(buf, i, end)}"`);
    return null;
  }
  const reason = `invalid_${kind}_line`;
  const nameEnd = parseMetadataName(buf, skipBlanks(buf, i + 7, end), end, Escapes.Strict, reason);
  if (nameEnd < 0) return null;
  const family = nameScan.value;
  const textStart = nameEnd < end ? nameEnd + 1 : end;
  if (kind === 'help') {
    const help = decodeQuoted(buf, textStart, end, Escapes.Strict);
    if (help === null) return null;
    return { kind, family, slot: slotOf(slots, family), text: help, rules: undefined };
  }
  const word = latin1(buf, textStart, trimBlanksEnd(buf, textStart, end));
  if (kind === 'unit') {
    if (word !== '' && !family.endsWith(`_${word}`)) {
      setScanError(reason, textStart, `expected a unit that is a suffix of ${family}, found "${word}"`);
      return null;
    }
    return { kind, family, slot: slotOf(slots, family), text: word, rules: undefined };
  }
  if (!OM_TYPES.has(word as MetricType)) {
    setScanError(reason, textStart, `expected a type (${[...OM_TYPES].join(', ')}), found "${excerpt(buf, textStart, end)}"`);
    return null;
  }
  return { kind, family, slot: slotOf(slots, family), text: word, rules: familyRules(family, word as MetricType) };
}

function familyRules(family: string, type: MetricType): FamilyRules {
  const allowed = new Set(SUFFIXES[type].map((s) => family + s));
  const related = new Set(KNOWN_SUFFIXES.map((s) => family + s));
  let needsLabelOn = '';
  let neededLabel = '';
  if (type === 'histogram' || type === 'gaugehistogram') {
    needsLabelOn = `${family}_bucket`;
    neededLabel = 'le';
  } else if (type === 'summary') {
    needsLabelOn = family;
    neededLabel = 'quantile';
  }
  return { family, type, allowed, related, needsLabelOn, neededLabel };
}
