/**
 * Byte-level building blocks shared by the Prometheus text (0.0.4) and OpenMetrics 1.0 parsers:
 * character classes, blanks, quoted strings with escapes, label sets, UTF-8 decoding, reporting
 * `scanError` into the payload's `ErrorSink`, and the per-target metadata memo.
 *
 * Two ways through a label set:
 * - `skipLabelSet` only finds the closing `}` (respecting quotes and escapes). It is the hot
 *   path: its result delimits the series key looked up in the `SeriesKeyCache`, and for a series
 *   seen before nothing else about the labels is ever examined.
 * - `parseLabelSet` validates and decodes into strings. It runs only on a cache miss (and to
 *   explain a failed skip), so it may allocate.
 *
 * Failures are reported by returning -1 (or null) and filling `scanError`, one mutable record
 * per process, so no error object is built unless a line really is malformed.
 */
import { labelsFromPairs, METRIC_NAME, type Labels } from '../labels.ts';
import { formatOpenMetricsFloat, parseFloatBytes, numberStatus } from './parse-float.ts';
import type { MetricMetadata, MetricType } from '../metadata.ts';
import type { ErrorSink } from './parse-errors.ts';
import type { SeriesKeyCache } from './series-key-cache.ts';

export const CH_TAB = 0x09;
export const CH_LF = 0x0a;
export const CH_CR = 0x0d;
export const CH_SPACE = 0x20;
export const CH_QUOTE = 0x22;
export const CH_HASH = 0x23;
export const CH_COMMA = 0x2c;
export const CH_EQUALS = 0x3d;
export const CH_BACKSLASH = 0x5c;
export const CH_BRACE_OPEN = 0x7b;
export const CH_BRACE_CLOSE = 0x7d;

/** Bit flags per byte value: one table lookup classifies a byte. */
const NAME_START = 1; // [a-zA-Z_:]   first byte of a metric name
const NAME_CHAR = 2; // [a-zA-Z0-9_:] later bytes of a metric name
const LABEL_START = 4; // [a-zA-Z_]   first byte of a label name
const LABEL_CHAR = 8; // [a-zA-Z0-9_] later bytes of a label name

const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  const digit = c >= 0x30 && c <= 0x39;
  const colon = c === 0x3a;
  CLASS[c] =
    (letter || colon ? NAME_START : 0) |
    (letter || digit || colon ? NAME_CHAR : 0) |
    (letter ? LABEL_START : 0) |
    (letter || digit ? LABEL_CHAR : 0);
}

/** What went wrong in the last failed scan: a reason, the byte offset and a message. */
export const scanError = { reason: '', pos: 0, message: '' };

export function setScanError(reason: string, pos: number, message: string): -1 {
  scanError.reason = reason;
  scanError.pos = pos;
  scanError.message = message;
  return -1;
}

/** `buf[i]` spelled for an error message: `'x'`, `byte 0xff` or `end of line`. */
export function describeAt(buf: Uint8Array, i: number, end: number): string {
  if (i >= end) return 'end of line';
  const c = buf[i];
  if (c > 0x20 && c < 0x7f) return `'${String.fromCharCode(c)}'`;
  if (c === CH_SPACE) return 'a space';
  if (c === CH_TAB) return 'a tab';
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/** A short printable excerpt of `buf[start, end)` for messages. */
export function excerpt(buf: Uint8Array, start: number, end: number): string {
  const stop = Math.min(end, start + 40);
  let s = '';
  for (let i = start; i < stop; i++) {
    const c = buf[i];
    s += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return stop < end ? `${s}...` : s;
}

export function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

export function skipBlanks(buf: Uint8Array, i: number, end: number): number {
  while (i < end && (buf[i] === CH_SPACE || buf[i] === CH_TAB)) i++;
  return i;
}

/** End of the token starting at `i`: the next blank or `end`. */
export function tokenEnd(buf: Uint8Array, i: number, end: number): number {
  while (i < end && buf[i] !== CH_SPACE && buf[i] !== CH_TAB) i++;
  return i;
}

/** End of a legacy metric name starting at `i` (`i` itself when there is none). */
export function scanMetricName(buf: Uint8Array, i: number, end: number): number {
  if (i >= end || (CLASS[buf[i]] & NAME_START) === 0) return i;
  for (i++; i < end && (CLASS[buf[i]] & NAME_CHAR) !== 0; i++);
  return i;
}

/** End of a legacy label name starting at `i` (`i` itself when there is none). */
export function scanLabelName(buf: Uint8Array, i: number, end: number): number {
  if (i >= end || (CLASS[buf[i]] & LABEL_START) === 0) return i;
  for (i++; i < end && (CLASS[buf[i]] & LABEL_CHAR) !== 0; i++);
  return i;
}

/**
 * `i` is at an opening `"`; returns the index after the closing one, or -1 when the line ends
 * first. A backslash always takes the next byte with it, so `\"` never closes the string.
 */
export function skipQuoted(buf: Uint8Array, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = buf[i];
    if (c === CH_QUOTE) return i + 1;
    if (c === CH_BACKSLASH) i++;
  }
  return -1;
}

/**
 * Hot path. `i` is at `{`; returns the index after the matching `}` or -1 (the caller then runs
 * `parseLabelSet` to explain why). Only quotes need tracking: `}` and `,` inside a label value
 * are data. Written as one flat loop over bytes with no calls so that it stays a tight loop.
 */
export function skipLabelSet(buf: Uint8Array, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = buf[i];
    if (c === CH_BRACE_CLOSE) return i + 1;
    if (c === CH_QUOTE) {
      for (i++; i < end; i++) {
        const q = buf[i];
        if (q === CH_QUOTE) break;
        if (q === CH_BACKSLASH) i++;
      }
      if (i >= end) return -1;
    }
  }
  return -1;
}

// --- Decoding (cache-miss path) ------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
let scratch = new Uint8Array(256);

/** `buf[start, end)` as a string, or null (with `scanError` set) when it is not valid UTF-8. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string | null {
  // Plain ASCII is by far the common case and needs no validation beyond the scan.
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (buf[i] >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    if (end - start < 64) {
      let s = '';
      for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
      return s;
    }
    return utf8.decode(buf.subarray(start, end));
  }
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    setScanError('invalid_utf8', start, 'expected valid UTF-8 text, found an invalid byte sequence');
    return null;
  }
}

/** How `decodeQuoted` treats backslashes (plain constants, so call sites stay monomorphic). */
export const Escapes = {
  /** Label values in 0.0.4: `\\`, `\"`, `\n` decoded; any other `\x` kept verbatim (Prometheus). */
  Lenient: 0,
  /** OpenMetrics: `\\`, `\"`, `\n` decoded; any other escape is an error. */
  Strict: 1,
  /** HELP text in 0.0.4: only `\\` and `\n` decoded; every other backslash is literal. */
  Help: 2,
} as const;
export type Escapes = (typeof Escapes)[keyof typeof Escapes];

/**
 * The text `buf[start, end)` (quotes excluded) with escapes resolved per `mode`, or null with
 * `scanError` set (invalid escape, invalid UTF-8).
 */
export function decodeQuoted(buf: Uint8Array, start: number, end: number, mode: Escapes): string | null {
  let firstEscape = -1;
  for (let i = start; i < end; i++) {
    if (buf[i] === CH_BACKSLASH) {
      firstEscape = i;
      break;
    }
  }
  if (firstEscape < 0) return decodeUtf8(buf, start, end);
  if (scratch.length < end - start) scratch = new Uint8Array(Math.max(end - start, scratch.length * 2));
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c !== CH_BACKSLASH || i + 1 >= end) {
      scratch[n++] = c;
      continue;
    }
    const e = buf[i + 1];
    if (e === CH_BACKSLASH || e === 0x6e || (e === CH_QUOTE && mode !== Escapes.Help)) {
      scratch[n++] = e === 0x6e ? CH_LF : e;
      i++;
    } else if (mode === Escapes.Strict) {
      setScanError('invalid_escape', i, `expected an escape \\\\, \\" or \\n, found \\${describeRaw(e)}`);
      return null;
    } else {
      scratch[n++] = CH_BACKSLASH; // kept verbatim; the next byte is copied by the next iteration
    }
  }
  const s = decodeUtf8(scratch, 0, n);
  if (s === null) scanError.pos = start; // positions inside scratch mean nothing to the caller
  return s;
}

function describeRaw(c: number): string {
  return c > 0x20 && c < 0x7f ? String.fromCharCode(c) : `<byte 0x${c.toString(16).padStart(2, '0')}>`;
}

/**
 * A metric or label name written either bare (`up`) or quoted (`"my.metric"`, Prometheus 3's
 * UTF-8 names) at `i`. Sets `nameScan.value` and returns the index after it, or -1.
 */
export const nameScan = { value: '' };

export function parseName(buf: Uint8Array, i: number, end: number, kind: 'metric' | 'label', mode: Escapes): number {
  if (i < end && buf[i] === CH_QUOTE) {
    const close = skipQuoted(buf, i, end);
    if (close < 0) {
      return setScanError(`invalid_${kind}_name`, i, `expected a closing '"' after the quoted ${kind} name, found end of line`);
    }
    const value = decodeQuoted(buf, i + 1, close - 1, mode);
    if (value === null) return -1;
    if (value === '') return setScanError(`invalid_${kind}_name`, i, `expected a non-empty ${kind} name, found ""`);
    nameScan.value = value;
    return close;
  }
  const stop = kind === 'metric' ? scanMetricName(buf, i, end) : scanLabelName(buf, i, end);
  if (stop === i) {
    return setScanError(`invalid_${kind}_name`, i, `expected a ${kind} name, found ${describeAt(buf, i, end)}`);
  }
  nameScan.value = latin1(buf, i, stop);
  return stop;
}

/** ASCII-only bytes (already validated as a name) to a string. */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/**
 * Parses a label set at `i` (at `{`) into `out` as flat name/value pairs. A quoted string that is
 * not followed by `=` is the metric name (Prometheus 3: `{"my.metric", a="1"}`); it goes to
 * `labelSet.quotedName`, and a second one is an error. Blanks are accepted around every token
 * (VictoriaMetrics writes `, `), and one trailing comma is accepted. Returns the index after `}`.
 */
export const labelSet = { quotedName: '' };

export function parseLabelSet(buf: Uint8Array, i: number, end: number, mode: Escapes, out: string[]): number {
  labelSet.quotedName = '';
  let hasQuotedName = false;
  i = skipBlanks(buf, i + 1, end);
  while (true) {
    if (i >= end) return setScanError('unterminated_label_set', i, `expected a label name or '}', found end of line`);
    if (buf[i] === CH_BRACE_CLOSE) return i + 1;
    const nameStart = i;
    const quoted = buf[i] === CH_QUOTE;
    i = parseName(buf, i, end, 'label', mode);
    if (i < 0) return -1;
    const name = nameScan.value;
    i = skipBlanks(buf, i, end);
    if (quoted && i < end && (buf[i] === CH_COMMA || buf[i] === CH_BRACE_CLOSE)) {
      if (hasQuotedName) {
        return setScanError('invalid_metric_name', nameStart, `expected one metric name, found a second one "${name}"`);
      }
      hasQuotedName = true;
      labelSet.quotedName = name;
    } else {
      if (i >= end || buf[i] !== CH_EQUALS) {
        return setScanError('unexpected_character', i, `expected '=' after label name ${name}, found ${describeAt(buf, i, end)}`);
      }
      i = skipBlanks(buf, i + 1, end);
      if (i >= end || buf[i] !== CH_QUOTE) {
        return setScanError('invalid_label_value', i, `expected a label value in double quotes, found ${describeAt(buf, i, end)}`);
      }
      const close = skipQuoted(buf, i, end);
      if (close < 0) {
        return setScanError('unterminated_label_value', i, `expected a closing '"' for the value of label ${name}, found end of line`);
      }
      const value = decodeQuoted(buf, i + 1, close - 1, mode);
      if (value === null) return -1;
      for (let k = 0; k < out.length; k += 2) {
        if (out[k] === name) return setScanError('duplicate_label', nameStart, `expected unique label names, found ${name} twice`);
      }
      out.push(name, value);
      i = skipBlanks(buf, close, end);
    }
    if (i < end && buf[i] === CH_COMMA) i = skipBlanks(buf, i + 1, end);
    else if (i < end && buf[i] !== CH_BRACE_CLOSE) {
      return setScanError('unexpected_character', i, `expected ',' or '}' after a label, found ${describeAt(buf, i, end)}`);
    }
  }
}

/** The metric name found by the last successful `decodeSeries`. */
export const seriesScan = { name: '' };

/**
 * Decodes the series key `buf[keyStart, keyEnd)` (a bare name, optionally followed by a label
 * set, or a label set holding a quoted name) into a sorted label set with `__name__`.
 * `normalize` names the label whose value is rewritten the way Prometheus 3 normalises classic
 * histogram `le` and summary `quantile` values (`1` -> `1.0`), or is ''. Returns null on error.
 */
export function decodeSeries(
  buf: Uint8Array,
  keyStart: number,
  keyEnd: number,
  mode: Escapes,
  normalize: string,
): Labels | null {
  const pairs: string[] = [];
  let name = '';
  let i = keyStart;
  if (buf[i] !== CH_BRACE_OPEN) {
    const stop = scanMetricName(buf, i, keyEnd);
    name = latin1(buf, i, stop);
    i = skipBlanks(buf, stop, keyEnd);
  }
  if (i < keyEnd) {
    if (parseLabelSet(buf, i, keyEnd, mode, pairs) < 0) return null;
    if (labelSet.quotedName !== '') {
      if (name !== '') {
        setScanError('invalid_metric_name', keyStart, `expected one metric name, found ${name} and "${labelSet.quotedName}"`);
        return null;
      }
      name = labelSet.quotedName;
    }
  }
  if (name === '') {
    setScanError('invalid_metric_name', keyStart, 'expected a metric name, found none');
    return null;
  }
  const entries: [string, string][] = [[METRIC_NAME, name]];
  for (let k = 0; k < pairs.length; k += 2) {
    const label = pairs[k];
    if (label === METRIC_NAME) {
      setScanError('duplicate_label', keyStart, `expected the metric name once, found ${METRIC_NAME} as a label too`);
      return null;
    }
    let value = pairs[k + 1];
    if (label === normalize) value = normalizeFloatLabel(value);
    entries.push([label, value]);
  }
  seriesScan.name = name;
  return labelsFromPairs(entries);
}

const encoder = new TextEncoder();

function normalizeFloatLabel(value: string): string {
  const bytes = encoder.encode(value);
  const f = parseFloatBytes(bytes, 0, bytes.length);
  return numberStatus.ok ? formatOpenMetricsFloat(f) : value;
}

/** Records `scanError` in `errors` for the line `line` starting at byte `lineStart`. */
export function addScanError(errors: ErrorSink, line: number, lineStart: number): void {
  errors.add(line, scanError.pos - lineStart + 1, scanError.reason, scanError.message);
}

/**
 * Metadata of one family while a payload is parsed. Slots live as long as the target (one per
 * family, shared by the memoised HELP/TYPE/UNIT lines that name it), so a payload seen before
 * merges its metadata without map lookups, and `record` lets an unchanged family hand out the
 * same frozen `MetricMetadata` object again.
 */
export interface FamilySlot {
  readonly family: string;
  /** The collector that last used this slot; other values are stale. */
  gen: number;
  type: MetricType;
  help: string;
  unit: string;
  hasType: boolean;
  hasHelp: boolean;
  hasUnit: boolean;
  record: MetricMetadata | undefined;
}

/** The slot of `family` in a target's `slots`, created on first use (cache-miss path). */
export function slotOf(slots: Map<string, FamilySlot>, family: string): FamilySlot {
  let slot = slots.get(family);
  if (slot === undefined) {
    slot = { family, gen: 0, type: 'unknown', help: '', unit: '', hasType: false, hasHelp: false, hasUnit: false, record: undefined };
    slots.set(family, slot);
  }
  return slot;
}

let generation = 0;

/** Merges `# TYPE`, `# HELP` and `# UNIT` lines into one record per family, in first-seen order. */
export class MetadataCollector {
  private readonly gen = ++generation;
  private readonly used: FamilySlot[] = [];

  /** `slot` ready for this payload: cleared the first time this collector sees it. */
  use(slot: FamilySlot): FamilySlot {
    if (slot.gen !== this.gen) {
      slot.gen = this.gen;
      slot.type = 'unknown';
      slot.help = '';
      slot.unit = '';
      slot.hasType = false;
      slot.hasHelp = false;
      slot.hasUnit = false;
      this.used.push(slot);
    }
    return slot;
  }

  result(): MetricMetadata[] {
    const out: MetricMetadata[] = new Array(this.used.length);
    for (let k = 0; k < this.used.length; k++) {
      const s = this.used[k];
      let r = s.record;
      if (r === undefined || r.type !== s.type || r.help !== s.help || r.unit !== s.unit) {
        r = Object.freeze({ family: s.family, type: s.type, help: s.help, unit: s.unit });
        s.record = r;
      }
      out[k] = r;
    }
    return out;
  }
}

/**
 * Reads the `<name>` of a metadata line (`# HELP <name> ...`) at `i`, bare or quoted, into
 * `nameScan.value`; the name must be followed by a blank or the end of the line. Returns the
 * index after the name or -1.
 */
export function parseMetadataName(buf: Uint8Array, i: number, end: number, mode: Escapes, reason: string): number {
  const stop = parseName(buf, i, end, 'metric', mode);
  if (stop < 0) {
    if (scanError.reason !== 'invalid_utf8' && scanError.reason !== 'invalid_escape') scanError.reason = reason;
    return -1;
  }
  if (stop < end && !isBlank(buf[stop])) {
    return setScanError(reason, stop, `expected a blank after the metric name, found ${describeAt(buf, stop, end)}`);
  }
  return stop;
}

/** True when `buf[i, i + word.length)` spells `word` (ASCII) exactly. */
export function matchesWord(buf: Uint8Array, i: number, end: number, word: string): boolean {
  if (end - i < word.length) return false;
  for (let k = 0; k < word.length; k++) if (buf[i + k] !== word.charCodeAt(k)) return false;
  return true;
}

/** Trims trailing blanks: the end index of `buf[start, end)` without them. */
export function trimBlanksEnd(buf: Uint8Array, start: number, end: number): number {
  while (end > start && isBlank(buf[end - 1])) end--;
  return end;
}

export interface MemoEntry<T> {
  readonly key: DataView;
  readonly value: T;
  next: MemoEntry<T> | undefined;
  /** The memoised line that followed this one last time (see `LineMemo.matchAt`). */
  follower: MemoEntry<T> | undefined;
}

/**
 * Remembers what a whole line meant, keyed by its bytes, the way `SeriesKeyCache` remembers
 * series keys. The parsers keep one per `SeriesKeyCache` for metadata lines (`# HELP`, `# TYPE`,
 * `# UNIT`), so a payload seen before decodes no metadata text again. Cleared when it holds
 * `maxEntries` lines.
 *
 * Metadata lines are long (HELP text) and make up a large share of a payload's bytes, so they
 * are matched as cheaply as possible:
 * - prediction: exporters print their metadata in the same order every time, so each entry
 *   remembers its `follower` and the parser first compares the next line against the predicted
 *   entry (`matchAt`): one pass over the bytes, no newline search, no hash, no table lookup;
 * - otherwise `lookup` hashes only the length and the first and last 16 bytes (lines differing
 *   elsewhere just share a chain) and compares candidates;
 * - comparisons read four bytes per step through DataViews.
 */
export class LineMemo<T> {
  private readonly table = new Map<number, MemoEntry<T>>();
  private entries = 0;
  /** The first memoised line of the latest payload: the prediction for the next one. */
  first: MemoEntry<T> | undefined;

  constructor(private readonly maxEntries = 1 << 16) {}

  /** The entry for the line `buf[start, end)`; `view` covers the same bytes as `buf`. */
  lookup(view: DataView, buf: Uint8Array, start: number, end: number): MemoEntry<T> | undefined {
    for (let e = this.table.get(sampleHash(buf, start, end)); e !== undefined; e = e.next) {
      if (e.key.byteLength === end - start && sameBytes(e.key, view, buf, start)) return e;
    }
    return undefined;
  }

  /**
   * When the line starting at `start` is exactly `entry`'s, returns where its content ends (the
   * `\n`, a `\r` before it, or `len`); else -1. Needs no prior newline search.
   */
  matchAt(entry: MemoEntry<T>, view: DataView, buf: Uint8Array, start: number, len: number): number {
    const stop = start + entry.key.byteLength;
    if (stop > len || !sameBytes(entry.key, view, buf, start)) return -1;
    if (stop === len || buf[stop] === CH_LF) return stop;
    if (buf[stop] === CH_CR && (stop + 1 === len || buf[stop + 1] === CH_LF)) return stop;
    return -1;
  }

  insert(buf: Uint8Array, start: number, end: number, value: T): MemoEntry<T> {
    if (this.entries >= this.maxEntries) {
      this.table.clear();
      this.entries = 0;
      this.first = undefined;
    }
    const h = sampleHash(buf, start, end);
    const copy = buf.slice(start, end);
    const entry: MemoEntry<T> = { key: new DataView(copy.buffer), value, next: this.table.get(h), follower: undefined };
    this.table.set(h, entry);
    this.entries++;
    return entry;
  }
}

/** The metadata memo of one target: what its metadata lines meant, and its families' slots. */
export interface MetaMemo<T> {
  readonly lines: LineMemo<T>;
  readonly slots: Map<string, FamilySlot>;
}

/**
 * A lookup of metadata memos, one per series cache (i.e. per target), each dropped with its
 * cache. Every parser creates its own at module level: the same bytes mean different things in
 * the two formats (`# HELP x a\"b` keeps the backslash in 0.0.4 and not in OpenMetrics; the
 * memoised meanings even have different shapes), and one format's line order would spoil the
 * other's prediction, so a target parsed in both formats must get two memos.
 */
export function metaMemoLookup<T>(): (cache: SeriesKeyCache) => MetaMemo<T> {
  const memos = new WeakMap<SeriesKeyCache, MetaMemo<T>>();
  return (cache) => {
    let memo = memos.get(cache);
    if (memo === undefined) {
      memo = { lines: new LineMemo<T>(), slots: new Map() };
      memos.set(cache, memo);
    }
    return memo;
  };
}

/** `key` equals `buf[start, start + key.byteLength)`; the caller checks the bounds. */
function sameBytes(key: DataView, view: DataView, buf: Uint8Array, start: number): boolean {
  const len = key.byteLength;
  const words = len - 3;
  let j = 0;
  while (j < words && key.getUint32(j) === view.getUint32(start + j)) j += 4;
  if (j < words) return false;
  while (j < len && key.getUint8(j) === buf[start + j]) j++;
  return j === len;
}

/** FNV-1a over the length and at most the first and the last 16 bytes. */
function sampleHash(buf: Uint8Array, start: number, end: number): number {
  let h = Math.imul(0x811c9dc5 ^ (end - start), 0x01000193);
  const head = Math.min(end, start + 16);
  for (let i = start; i < head; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  for (let i = Math.max(head, end - 16); i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
  return h >>> 0;
}

/** A DataView over exactly the bytes of `buf`. */
export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
