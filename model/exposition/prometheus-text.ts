/**
 * Parser for the Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`), with
 * Prometheus 3's quoted UTF-8 names (`{"my.metric", "some.label"="v"}`).
 *
 * Line grammar, as Prometheus's own parser accepts it:
 *   sample   = [blanks] series [blanks] value [blanks timestamp] [blanks]
 *   series   = name [blanks] [labelset] | labelset-with-quoted-name
 *   metadata = "#" blanks ("HELP" | "TYPE") blanks name [" " text]
 * Any other `#` line is a comment and blank lines are fine. The timestamp is an int64 in ms;
 * samples without one get `options.defaultTimestampMs`. Blanks (spaces, tabs) are allowed
 * between all tokens, including inside label sets. An unknown escape in a label value (`\t`) is
 * kept verbatim, backslash included, as Prometheus does; only `\\`, `\"` and `\n` are decoded.
 * `le` values of histogram families and `quantile` values of summary families are normalised as
 * Prometheus 3 does (`le="1"` becomes `le="1.0"`), keyed on the latest `# TYPE` line.
 *
 * Hot path (a series seen before): find the key bytes, one `SeriesKeyCache.get`, parse the value
 * from bytes, `builder.append`. Nothing is allocated. Labels are decoded only on a cache miss.
 */
import type { MetricType } from '../metadata.ts';
import { getLabel } from '../labels.ts';
import { numberStatus, parseFloatBytes, parseInt64Bytes } from './parse-float.ts';
import {
  CH_BACKSLASH,
  CH_BRACE_CLOSE,
  CH_BRACE_OPEN,
  CH_CR,
  CH_HASH,
  CH_LF,
  CH_QUOTE,
  CH_SPACE,
  CH_TAB,
  addScanError,
  decodeQuoted,
  decodeSeries,
  Escapes,
  describeAt,
  excerpt,
  isBlank,
  type LineMemo,
  type MemoEntry,
  latin1,
  matchesWord,
  MetadataCollector,
  metaMemoLookup,
  slotOf,
  type FamilySlot,
  nameScan,
  parseLabelSet,
  parseMetadataName,
  scanMetricName,
  seriesScan,
  setScanError,
  skipBlanks,
  skipLabelSet,
  tokenEnd,
  viewOf,
  trimBlanksEnd,
} from './text-scanner.ts';
import { ErrorSink } from './parse-errors.ts';
import type { ExpositionParser, ParseOptions, ParseResult, ParseTarget } from './types.ts';

const TEXT_TYPES = new Map<string, MetricType>([
  ['counter', 'counter'],
  ['gauge', 'gauge'],
  ['histogram', 'histogram'],
  ['summary', 'summary'],
  ['untyped', 'unknown'],
]);

/** Meaning of a well-formed `#` line, remembered per target by its bytes. */
interface MetaLine {
  /** '' for a comment that is not HELP or TYPE. */
  readonly kind: 'help' | 'type' | '';
  readonly family: string;
  /** The family's slot in this target's memo (undefined for comments). */
  readonly slot: FamilySlot | undefined;
  readonly help: string;
  readonly type: MetricType;
}

const COMMENT: MetaLine = { kind: '', family: '', slot: undefined, help: '', type: 'unknown' };

/** This format's metadata memo of a target (never shared with the OpenMetrics parser). */
const metaMemoFor = metaMemoLookup<MetaLine>();

/** Per-payload state the line handlers share; one object per call, not per line. */
interface State {
  readonly errors: ErrorSink;
  readonly meta: MetadataCollector;
  readonly memo: LineMemo<MetaLine>;
  readonly slots: Map<string, FamilySlot>;
  readonly view: DataView;
  /** The metadata line matched last in this payload, and the one predicted to come next. */
  prev: MemoEntry<MetaLine> | undefined;
  expect: MemoEntry<MetaLine> | undefined;
  /** Family and type of the latest valid `# TYPE` line ('' before any). */
  family: string;
  type: MetricType | '';
  samples: number;
}

export const parsePrometheusText: ExpositionParser = (
  payload: Uint8Array,
  options: ParseOptions,
  target: ParseTarget,
): ParseResult => {
  const buf = payload;
  const len = buf.length;
  const builder = target.builder;
  const cache = target.series;
  const defaultTs = options.defaultTimestampMs;
  const memos = metaMemoFor(cache);
  const memo = memos.lines;
  const state: State = {
    errors: new ErrorSink(options.maxErrorDetails),
    meta: new MetadataCollector(),
    memo,
    slots: memos.slots,
    view: viewOf(buf),
    prev: undefined,
    expect: memo.first,
    family: '',
    type: '',
    samples: 0,
  };
  let line = 0;
  let pos = 0;
  cache.beginPayload();

  while (pos < len) {
    line++;

    // Fast path: a well-formed sample line of a series this target has sent before. It scans
    // with `len` as the only bound and never looks for the newline first: the name ends at a
    // byte <= 0x20 or `{`, values end at a byte <= 0x20, and the line must end right after the
    // value or timestamp. Nothing is validated beyond that because a cache hit proves the key
    // was validated when it was added; anything unusual (comments, blanks, leading spaces, a
    // cache miss, any doubt) falls through to `carefulLine`, which re-reads the line with full
    // checks and error reporting. Every loop here is a plain byte loop on purpose: these few
    // lines run once per sample.
    fast: {
      let i = pos;
      let c = buf[i];
      if (c <= CH_SPACE || c === CH_HASH) break fast;
      const keyStart = i;
      // Likeliest of all: the series that followed the previous one in this target's last
      // payload. Then one comparison finds the key and its ref.
      let ref = cache.matchExpected(buf, i, len);
      if (ref >= 0) i = cache.matchedEnd;
      else {
        while (c > CH_SPACE && c !== CH_BRACE_OPEN && ++i < len) c = buf[i];
        if (c === CH_BRACE_OPEN) {
          // The label set: only quotes matter; a newline outside quotes means give up. Inside
          // quotes it needs no check: such a key can never be in the cache.
          for (i++; i < len; i++) {
            c = buf[i];
            if (c === CH_BRACE_CLOSE || c === CH_LF) break;
            if (c === CH_QUOTE) {
              for (i++; i < len; i++) {
                c = buf[i];
                if (c === CH_QUOTE) break;
                if (c === CH_BACKSLASH) i++;
              }
            }
          }
          if (c !== CH_BRACE_CLOSE) break fast;
          i++;
        }
      }
      const keyEnd = i;
      while (i < len && (buf[i] === CH_SPACE || buf[i] === CH_TAB)) i++;
      if (i === keyEnd) break fast; // no blank before the value
      const valueStart = i;
      while (i < len && buf[i] > CH_SPACE) i++;
      const value = parseFloatBytes(buf, valueStart, i);
      if (!numberStatus.ok) break fast;
      let ts = defaultTs;
      if (i < len && (buf[i] === CH_SPACE || buf[i] === CH_TAB)) {
        while (i < len && (buf[i] === CH_SPACE || buf[i] === CH_TAB)) i++;
        if (i < len && buf[i] > CH_SPACE) {
          const tsStart = i;
          while (i < len && buf[i] > CH_SPACE) i++;
          ts = parseInt64Bytes(buf, tsStart, i);
          if (!numberStatus.ok) break fast;
          while (i < len && (buf[i] === CH_SPACE || buf[i] === CH_TAB)) i++;
        }
      }
      if (i < len && buf[i] === CH_CR) i++;
      if (i < len && buf[i] !== CH_LF) break fast;
      if (ref < 0) ref = cache.get(buf, keyStart, keyEnd);
      if (ref < 0) break fast;
      builder.append(ref, ts, value);
      state.samples++;
      pos = i + 1;
      continue;
    }

    // Metadata lines usually repeat in the order of the previous payload: try the predicted one.
    if (buf[pos] === CH_HASH && state.expect !== undefined) {
      const entry = state.expect;
      const stop = memo.matchAt(entry, state.view, buf, pos, len);
      if (stop >= 0) {
        if (!applyMetadata(entry, pos, state)) addScanError(state.errors, line, pos);
        pos = buf[stop] === CH_CR ? stop + 2 : stop + 1;
        continue;
      }
    }

    // Careful path: find the line's end, then parse it with every check.
    const lineStart = pos;
    let nl = buf.indexOf(CH_LF, pos);
    if (nl < 0) nl = len;
    pos = nl + 1;
    const end = nl > lineStart && buf[nl - 1] === CH_CR ? nl - 1 : nl;
    carefulLine(buf, lineStart, end, line, state, options, target);
  }

  return {
    samples: state.samples,
    errors: state.errors.errors,
    errorCount: state.errors.count,
    metadata: state.meta.result(),
    exemplars: [],
  };
};

/** One line `buf[lineStart, end)` with full validation; reports its error or appends its sample. */
function carefulLine(
  buf: Uint8Array,
  lineStart: number,
  end: number,
  line: number,
  state: State,
  options: ParseOptions,
  target: ParseTarget,
): void {
  const errors = state.errors;
  let i = skipBlanks(buf, lineStart, end);
  if (i === end) return;
  if (buf[i] === CH_HASH) {
    if (!metadataLine(buf, i, end, state)) addScanError(errors, line, lineStart);
    return;
  }

  // Series key: `name`, `name{...}` or `{...}`; the bytes from its first to its last byte are
  // the cache key, so no decoding happens before we know whether the series is new.
  const keyStart = i;
  let keyEnd: number;
  let valueStart: number;
  if (buf[i] === CH_BRACE_OPEN) {
    keyEnd = skipLabelSet(buf, i, end);
    if (keyEnd < 0) return explainLabelSet(buf, i, end, errors, line, lineStart);
    valueStart = skipBlanks(buf, keyEnd, end);
  } else {
    const nameEnd = scanMetricName(buf, i, end);
    if (nameEnd === i) {
      return errors.add(line, i - lineStart + 1, 'invalid_metric_name', `expected a metric name, found ${describeAt(buf, i, end)}`);
    }
    keyEnd = nameEnd;
    valueStart = skipBlanks(buf, nameEnd, end);
    if (valueStart < end && buf[valueStart] === CH_BRACE_OPEN) {
      keyEnd = skipLabelSet(buf, valueStart, end);
      if (keyEnd < 0) return explainLabelSet(buf, valueStart, end, errors, line, lineStart);
      valueStart = skipBlanks(buf, keyEnd, end);
    } else if (valueStart === nameEnd && valueStart < end) {
      return errors.add(
        line,
        nameEnd - lineStart + 1,
        'invalid_metric_name',
        `expected a blank or '{' after the metric name, found ${describeAt(buf, nameEnd, end)}`,
      );
    }
  }

  // Value, then an optional int64 millisecond timestamp, then nothing but blanks.
  if (valueStart >= end) {
    return errors.add(line, valueStart - lineStart + 1, 'invalid_value', 'expected a sample value, found end of line');
  }
  const valueEnd = tokenEnd(buf, valueStart, end);
  const value = parseFloatBytes(buf, valueStart, valueEnd);
  if (!numberStatus.ok) {
    return errors.add(
      line,
      valueStart - lineStart + 1,
      'invalid_value',
      `expected a float sample value, found "${excerpt(buf, valueStart, valueEnd)}"`,
    );
  }
  let ts = options.defaultTimestampMs;
  i = skipBlanks(buf, valueEnd, end);
  if (i < end) {
    const tsEnd = tokenEnd(buf, i, end);
    ts = parseInt64Bytes(buf, i, tsEnd);
    if (!numberStatus.ok) {
      return errors.add(
        line,
        i - lineStart + 1,
        'invalid_timestamp',
        `expected an integer timestamp in milliseconds, found "${excerpt(buf, i, tsEnd)}"`,
      );
    }
    i = skipBlanks(buf, tsEnd, end);
    if (i < end) {
      return errors.add(line, i - lineStart + 1, 'unexpected_character', `expected end of line after the timestamp, found ${describeAt(buf, i, end)}`);
    }
  }

  let ref = target.series.get(buf, keyStart, keyEnd);
  if (ref < 0) {
    ref = addSeries(buf, keyStart, keyEnd, state, target);
    if (ref < 0) return addScanError(errors, line, lineStart);
  }
  target.builder.append(ref, ts, value);
  state.samples++;
}

/** Cache miss: decode and validate the key, intern it. Returns the ref or -1 (`scanError` set). */
function addSeries(buf: Uint8Array, keyStart: number, keyEnd: number, state: State, target: ParseTarget): number {
  const normalize = state.type === 'histogram' ? 'le' : state.type === 'summary' ? 'quantile' : '';
  const labels = decodeSeries(buf, keyStart, keyEnd, Escapes.Lenient, normalize);
  if (labels === null) return -1;
  const name = seriesScan.name;
  // Cheap family checks, on the miss path only: a cached key was checked when it was added.
  if (state.type === 'histogram' && name === `${state.family}_bucket` && getLabel(labels, 'le') === '') {
    return setScanError('missing_le', keyStart, `expected an le label on histogram bucket ${name}, found none`);
  }
  if (state.type === 'summary' && name === state.family && getLabel(labels, 'quantile') === '') {
    return setScanError('missing_quantile', keyStart, `expected a quantile label on summary sample ${name}, found none`);
  }
  return target.series.add(buf, keyStart, keyEnd, labels);
}

function explainLabelSet(
  buf: Uint8Array,
  i: number,
  end: number,
  errors: ErrorSink,
  line: number,
  lineStart: number,
): void {
  if (parseLabelSet(buf, i, end, Escapes.Lenient, []) >= 0) {
    // The full parser accepted what the skip could not close: a bug, but never a throw here.
    setScanError('unterminated_label_set', end, "expected '}' to close the label set, found end of line");
  }
  addScanError(errors, line, lineStart);
}

/**
 * A `#` line `buf[i, end)`. HELP and TYPE update the metadata; any other comment is ignored.
 * Returns false with `scanError` set when a HELP or TYPE line is malformed.
 */
function metadataLine(buf: Uint8Array, i: number, end: number, state: State): boolean {
  let entry = state.memo.lookup(state.view, buf, i, end);
  if (entry === undefined) {
    const parsed = parseMetadataLine(buf, i, end, state.slots);
    if (parsed === null) return false;
    entry = state.memo.insert(buf, i, end, parsed);
  }
  return applyMetadata(entry, i, state);
}

/** Applies a memoised metadata line and records it for the next payload's prediction. */
function applyMetadata(entry: MemoEntry<MetaLine>, pos: number, state: State): boolean {
  if (state.prev === undefined) state.memo.first = entry;
  else state.prev.follower = entry;
  state.prev = entry;
  state.expect = entry.follower;
  const meaning = entry.value;
  if (meaning.kind === 'help') {
    state.meta.use(meaning.slot!).help = meaning.help;
  } else if (meaning.kind === 'type') {
    const draft = state.meta.use(meaning.slot!);
    if (draft.hasType) {
      setScanError('duplicate_type', pos, `expected one TYPE line for ${meaning.family}, found a second one`);
      return false;
    }
    draft.type = meaning.type;
    draft.hasType = true;
    state.family = meaning.family;
    state.type = meaning.type;
  }
  return true;
}

/** Decodes a `#` line; null with `scanError` set when it is a malformed HELP or TYPE line. */
function parseMetadataLine(buf: Uint8Array, i: number, end: number, slots: Map<string, FamilySlot>): MetaLine | null {
  let j = i + 1;
  if (j >= end || !isBlank(buf[j])) return COMMENT; // `#foo`
  j = skipBlanks(buf, j, end);
  const isHelp = matchesWord(buf, j, end, 'HELP');
  if (!isHelp && !matchesWord(buf, j, end, 'TYPE')) return COMMENT;
  j += 4;
  if (j >= end || !isBlank(buf[j])) return COMMENT; // `# HELPER ...` or a bare `# HELP`
  const reason = isHelp ? 'invalid_help_line' : 'invalid_type_line';
  j = skipBlanks(buf, j, end);
  const nameEnd = parseMetadataName(buf, j, end, Escapes.Lenient, reason);
  if (nameEnd < 0) return null;
  const family = nameScan.value;
  // The text starts after exactly one blank; further blanks belong to it.
  const textStart = nameEnd < end ? nameEnd + 1 : end;
  if (isHelp) {
    const help = decodeQuoted(buf, textStart, end, Escapes.Help);
    if (help === null) return null;
    return { kind: 'help', family, slot: slotOf(slots, family), help, type: 'unknown' };
  }
  const typeEnd = trimBlanksEnd(buf, textStart, end);
  const type = typeEnd - textStart <= 9 ? TEXT_TYPES.get(latin1(buf, textStart, typeEnd)) : undefined;
  if (type === undefined) {
    setScanError(
      'invalid_type_line',
      textStart,
      `expected a type (counter, gauge, histogram, summary, untyped), found "${excerpt(buf, textStart, typeEnd)}"`,
    );
    return null;
  }
  return { kind: 'type', family, slot: slotOf(slots, family), help: '', type };
}
