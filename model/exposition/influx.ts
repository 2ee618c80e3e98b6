/**
 * InfluxDB line protocol (as InfluxDB v1/v2 and Telegraf write it), parsed over bytes.
 *
 *     measurement[,tag=value...] field=value[,field=value...] [timestamp]
 *
 * Mapping to Prometheus series (the VictoriaMetrics mapping, with its default flags):
 * - every numeric field becomes one sample of the series `{measurement}_{field}`, the tags as
 *   labels. A field named `value` gets no special treatment (`cpu value=1` is `cpu_value`);
 *   VictoriaMetrics' ingestion works the same way. Telegraf's Prometheus output instead drops
 *   the `_value` suffix; we do not.
 * - an empty measurement (the line opens with `,` or a space) names the series by the field key
 *   alone, as VictoriaMetrics does. The Influx writer relies on this for metric names that have
 *   no inner `_` to split at.
 * - metric and label names are sanitized: every character outside `[a-zA-Z0-9_:]` (metric) or
 *   `[a-zA-Z0-9_]` (label), and a leading digit, becomes `_`. A tag whose sanitized key is
 *   `__name__` is ignored (the measurement and field name the series). Tags with an empty key or
 *   value are ignored, as VictoriaMetrics does; a later duplicate tag key wins.
 *
 * Escapes: in the measurement, tag keys, tag values and field keys a backslash before a space,
 * comma, `=` or backslash stands for that character; before anything else it is a literal
 * backslash. A backslash that ends the line is an `invalid_escape` error. String field values are
 * double-quoted with `\"` and `\\` escapes; they carry no number and are skipped (not an error,
 * not counted: `ParseResult` has no slot for them). A raw newline inside a string is not
 * supported: lines are split at every `\n`, so such a line ends in `unterminated_string`.
 *
 * Field values: floats (`1`, `-1.5`, `1e3`, `.5`, and `NaN`, `Inf`, `+Inf`, `-Inf`, `Infinity`
 * in any letter case, which VictoriaMetrics accepts and InfluxDB rejects), integers `12i`
 * (int64 range), unsigned `12u` (uint64 range), booleans `t T true True TRUE` (1) and
 * `f F false False FALSE` (0). A NaN is stored as Prometheus's normal NaN (`NORMAL_NAN`), as
 * every parser stores it.
 *
 * Timestamps are integer nanoseconds (the `precision` query parameter of the HTTP API is not
 * supported) converted to float milliseconds without going through a >2^53 integer: the digits
 * are split into a millisecond part and a sub-millisecond remainder, so whole-millisecond
 * timestamps come out exact. A line without one gets `options.defaultTimestampMs`.
 *
 * Blank lines and lines whose first non-blank byte is `#` are skipped. A malformed line adds no
 * sample: the whole line is validated before anything is appended.
 *
 * Hot path: a line's head (measurement and tags, as spelled) is hashed once and looked up in a
 * head index kept per target cache, which maps each field key seen with that head to its ref. A
 * field the index does not know is resolved through the target's `SeriesKeyCache` with the key
 * `head + " " + field key` built in a reused scratch buffer; only a miss there decodes strings and
 * builds labels. No allocation per line on the cached path.
 */
import { labelsFromPairs, METRIC_NAME } from '../labels.ts';
import { NORMAL_NAN } from '../stale-nan.ts';
import { ErrorSink } from './parse-errors.ts';
import type { SeriesKeyCache } from './series-key-cache.ts';
import type { ExpositionParser, ParseOptions, ParseResult, ParseTarget } from './types.ts';

const TAB = 9;
const LF = 10;
const CR = 13;
const SPACE = 32;
const QUOTE = 34;
const HASH = 35;
const PLUS = 43;
const COMMA = 44;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const EQUALS = 61;
const BACKSLASH = 92;

/** Exact powers of ten for the fast float path (10^22 is the largest exact double power). */
const POW10 = [
  1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];

const decoder = new TextDecoder('utf-8');

/**
 * Per-line scratch, reused across calls (parsing is synchronous): the numeric fields of the line
 * being parsed (key range and value) and the refs they resolve to.
 */
let fieldKeyStart = new Int32Array(16);
let fieldKeyEnd = new Int32Array(16);
let fieldValue = new Float64Array(16);
let fieldRef = new Int32Array(16);
/** The `SeriesKeyCache` key built on a head-index miss: the head, a space, the field key. */
let keyScratch = new Uint8Array(256);

function growFields(): void {
  const cap = fieldKeyStart.length * 2;
  const ks = new Int32Array(cap);
  ks.set(fieldKeyStart);
  const ke = new Int32Array(cap);
  ke.set(fieldKeyEnd);
  const fv = new Float64Array(cap);
  fv.set(fieldValue);
  fieldKeyStart = ks;
  fieldKeyEnd = ke;
  fieldValue = fv;
  fieldRef = new Int32Array(cap);
}

/**
 * Thrown only inside this module to abandon one malformed line and caught in the line loop; it
 * never escapes `parseInflux`. Not an `Error`: no stack trace is captured on this input path.
 */
class LineError {
  constructor(
    readonly offset: number,
    readonly reason: string,
    readonly message: string,
  ) {}
}

/** A line head (measurement and tags, as spelled) seen before, and the refs of its fields. */
interface HeadEntry {
  /** The head bytes, read four at a time. */
  readonly view: DataView;
  readonly fieldKeys: Uint8Array[];
  readonly refs: number[];
  next: HeadEntry | undefined;
}

const MAX_HEADS = 1 << 18;
const MAX_FIELDS_PER_HEAD = 64;

/**
 * A second-level index in front of the target's `SeriesKeyCache`: a line's head is hashed and
 * compared once, then each field is matched by its key alone, instead of hashing the head again
 * for every field (which tripled the per-sample cost on typical multi-field lines). Misses go
 * through the cache's `get` / `add` as usual; refs never go stale (the registry keeps them for
 * the life of the process), so this index only needs its own size bound.
 */
class HeadIndex {
  readonly table = new Map<number, HeadEntry>();
  private entries = 0;

  insert(hash: number, view: DataView): HeadEntry {
    if (this.entries >= MAX_HEADS) {
      this.table.clear();
      this.entries = 0;
    }
    const entry: HeadEntry = { view, fieldKeys: [], refs: [], next: this.table.get(hash) };
    this.table.set(hash, entry);
    this.entries++;
    return entry;
  }
}

/** One head index per target cache: the target labels a cache attaches are part of what a ref means. */
const headIndexes = new WeakMap<SeriesKeyCache, HeadIndex>();

/** Whether the run of backslashes ending just before `at` (and not before `start`) is odd. */
function oddBackslashRun(buf: Uint8Array, start: number, at: number): boolean {
  let i = at - 1;
  while (i >= start && buf[i] === BACKSLASH) i--;
  return ((at - 1 - i) & 1) === 1;
}

/** A hash of `[start, end)` taken four bytes at a time, kept a small integer (a fast Map key). */
function hashBytes(view: DataView, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) h = Math.imul(h ^ view.getUint32(i, true), 0x01000193) ^ (h >>> 15);
  for (; i < end; i++) h = Math.imul(h ^ view.getUint8(i), 0x01000193);
  return h & 0x3fffffff;
}

/** Whether `key` holds exactly the bytes `[start, end)` of `view`, compared four at a time. */
function viewsEqual(key: DataView, view: DataView, start: number, end: number): boolean {
  const len = end - start;
  if (key.byteLength !== len) return false;
  let i = 0;
  for (; i + 4 <= len; i += 4) if (key.getUint32(i, true) !== view.getUint32(start + i, true)) return false;
  for (; i < len; i++) if (key.getUint8(i) !== view.getUint8(start + i)) return false;
  return true;
}

function bytesEqual(key: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
  const len = end - start;
  if (key.length !== len) return false;
  for (let i = 0; i < len; i++) if (key[i] !== buf[start + i]) return false;
  return true;
}

/** Where `parseFieldValue` leaves its number, so the hot path returns a boolean and allocates nothing. */
let parsedValue = 0;

export const parseInflux: ExpositionParser = (
  payload: Uint8Array,
  options: ParseOptions,
  target: ParseTarget,
): ParseResult => {
  const errors = new ErrorSink(options.maxErrorDetails);
  let samples = 0;
  const builder = target.builder;
  const series = target.series;
  const defaultTs = options.defaultTimestampMs;
  const n = payload.length;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let heads = headIndexes.get(series);
  if (heads === undefined) {
    heads = new HeadIndex();
    headIndexes.set(series, heads);
  }

  let lineNo = 0;
  let ls = 0;
  while (ls < n) {
    lineNo++;
    let nl = payload.indexOf(LF, ls);
    if (nl < 0) nl = n;
    let le = nl;
    if (le > ls && payload[le - 1] === CR) le--;
    const start = ls;
    ls = nl + 1;

    // Blank lines and comments.
    let p = start;
    while (p < le && (payload[p] === SPACE || payload[p] === TAB)) p++;
    if (p === le || payload[p] === HASH) continue;

    try {
      // Measurement and tags: up to the first unescaped space (one preceded by an even run of
      // backslashes). `indexOf` is native; heads rarely hold escapes.
      p = payload.indexOf(SPACE, start);
      while (p >= 0 && p < le && payload[p - 1] === BACKSLASH && oddBackslashRun(payload, start, p)) {
        p = payload.indexOf(SPACE, p + 1);
      }
      if (p < 0 || p > le) {
        p = le;
        if (payload[le - 1] === BACKSLASH && oddBackslashRun(payload, start, le)) {
          throw new LineError(le - 1, 'invalid_escape', 'backslash at the end of the line');
        }
      }
      const headEnd = p;
      while (p < le && payload[p] === SPACE) p++;
      if (p === le) {
        throw new LineError(headEnd, 'missing_fields', 'line has no field set (expected "measurement[,tags] field=value")');
      }

      // Fields.
      let numeric = 0;
      while (true) {
        const ks = p;
        while (p < le) {
          const b = payload[p];
          if (b === BACKSLASH) {
            if (p + 1 === le) throw new LineError(p, 'invalid_escape', 'backslash at the end of the line');
            p += 2;
            continue;
          }
          if (b === EQUALS || b === SPACE || b === COMMA) break;
          p++;
        }
        const ke = p;
        if (p === le || payload[p] !== EQUALS) {
          throw new LineError(ks, 'missing_field_value', `field "${snippet(payload, ks, ke)}" has no "=value"`);
        }
        if (ke === ks) throw new LineError(ks, 'missing_field_key', 'field with an empty key');
        const vs = ++p;
        if (vs === le || payload[vs] === SPACE || payload[vs] === COMMA) {
          throw new LineError(vs, 'missing_field_value', `field "${snippet(payload, ks, ke)}" has an empty value`);
        }
        if (payload[vs] === QUOTE) {
          // A string field: skipped, but it must be well formed.
          p = vs + 1;
          while (p < le) {
            const b = payload[p];
            if (b === BACKSLASH) {
              p += 2;
              continue;
            }
            if (b === QUOTE) break;
            p++;
          }
          if (p >= le) throw new LineError(vs, 'unterminated_string', `string value of field "${snippet(payload, ks, ke)}" has no closing quote`);
          p++;
          if (p < le && payload[p] !== SPACE && payload[p] !== COMMA) {
            throw new LineError(p, 'invalid_field_value', `unexpected byte after the string value of field "${snippet(payload, ks, ke)}"`);
          }
        } else {
          while (p < le && payload[p] !== SPACE && payload[p] !== COMMA) p++;
          if (!parseFieldValue(payload, vs, p)) {
            throw new LineError(
              vs,
              'invalid_field_value',
              `field "${snippet(payload, ks, ke)}" has an invalid value "${snippet(payload, vs, p)}"`,
            );
          }
          if (numeric === fieldKeyStart.length) growFields();
          fieldKeyStart[numeric] = ks;
          fieldKeyEnd[numeric] = ke;
          fieldValue[numeric] = parsedValue;
          numeric++;
        }
        if (p < le && payload[p] === COMMA) {
          p++;
          continue;
        }
        break;
      }

      // Timestamp.
      while (p < le && payload[p] === SPACE) p++;
      let ts = defaultTs;
      if (p < le) {
        const tsStart = p;
        ts = parseTimestamp(payload, p, le);
        if (ts !== ts) {
          throw new LineError(tsStart, 'invalid_timestamp', `invalid timestamp "${snippet(payload, tsStart, le)}" (want integer nanoseconds)`);
        }
      }

      // Resolve every field's series first: a line that fails here appends nothing. The head
      // index answers for heads and fields seen before; the rest goes through the target's cache.
      const h = hashBytes(view, start, headEnd);
      let entry = heads.table.get(h);
      while (entry !== undefined && !viewsEqual(entry.view, view, start, headEnd)) entry = entry.next;
      let head: Head | undefined;
      for (let f = 0; f < numeric; f++) {
        const ks = fieldKeyStart[f];
        const ke = fieldKeyEnd[f];
        let ref = -1;
        if (entry !== undefined) {
          const keys = entry.fieldKeys;
          if (f < keys.length && bytesEqual(keys[f], payload, ks, ke)) ref = entry.refs[f];
          else {
            for (let k = 0; k < keys.length; k++) {
              if (bytesEqual(keys[k], payload, ks, ke)) {
                ref = entry.refs[k];
                break;
              }
            }
          }
        }
        if (ref < 0) {
          // The cache key: the head, one space, the field key (as spelled).
          const headLen = headEnd - start;
          const len = headLen + 1 + (ke - ks);
          if (keyScratch.length < len) keyScratch = new Uint8Array(Math.max(len, keyScratch.length * 2));
          keyScratch.set(payload.subarray(start, headEnd), 0);
          keyScratch[headLen] = SPACE;
          keyScratch.set(payload.subarray(ks, ke), headLen + 1);
          ref = series.get(keyScratch, 0, len);
          if (ref < 0) {
            if (head === undefined) head = decodeHead(payload, start, headEnd);
            const field = unescapeKey(decoder.decode(payload.subarray(ks, ke)));
            ref = series.add(keyScratch, 0, len, labelsOf(head, field));
          }
          if (entry === undefined) entry = heads.insert(h, new DataView(payload.slice(start, headEnd).buffer));
          if (entry.fieldKeys.length < MAX_FIELDS_PER_HEAD) {
            entry.fieldKeys.push(payload.slice(ks, ke));
            entry.refs.push(ref);
          }
        }
        fieldRef[f] = ref;
      }
      for (let f = 0; f < numeric; f++) builder.append(fieldRef[f], ts, fieldValue[f]);
      samples += numeric;
    } catch (err) {
      if (!(err instanceof LineError)) throw err;
      errors.add(lineNo, err.offset - start + 1, err.reason, `line ${lineNo}: ${err.message}`);
    }
  }
  return { samples, errors: errors.errors, errorCount: errors.count, metadata: [], exemplars: [] };
};

/** Measurement and tags of a line, decoded (slow path: cache misses only). */
interface Head {
  readonly measurement: string;
  readonly tags: (readonly [string, string])[];
}

function decodeHead(payload: Uint8Array, start: number, end: number): Head {
  // Split on unescaped commas and the first unescaped `=` of each tag, over bytes, so error
  // offsets stay byte offsets; strings are decoded per part.
  const parts: number[] = [start];
  for (let p = start; p < end; p++) {
    const b = payload[p];
    if (b === BACKSLASH) p++;
    else if (b === COMMA) parts.push(p + 1);
  }
  parts.push(end + 1);
  const measurement = unescapeKey(decoder.decode(payload.subarray(start, parts[1] - 1)));
  const tags: (readonly [string, string])[] = [];
  for (let t = 1; t + 1 < parts.length; t++) {
    const ts = parts[t];
    const te = parts[t + 1] - 1;
    let eq = -1;
    for (let p = ts; p < te; p++) {
      const b = payload[p];
      if (b === BACKSLASH) p++;
      else if (b === EQUALS) {
        eq = p;
        break;
      }
    }
    if (eq < 0) throw new LineError(ts, 'missing_tag_value', `tag "${snippet(payload, ts, te)}" has no "=value"`);
    const key = unescapeKey(decoder.decode(payload.subarray(ts, eq)));
    const value = unescapeKey(decoder.decode(payload.subarray(eq + 1, te)));
    if (key === '' || value === '') continue;
    const name = sanitizeLabelName(key);
    if (name === METRIC_NAME) continue;
    tags.push([name, value]);
  }
  return { measurement, tags };
}

function labelsOf(head: Head, field: string) {
  const raw = head.measurement === '' ? field : `${head.measurement}_${field}`;
  return labelsFromPairs([...head.tags, [METRIC_NAME, sanitizeMetricName(raw)]]);
}

/** Resolves `\ `, `\,`, `\=` and `\\`; any other backslash is literal. */
function unescapeKey(s: string): string {
  if (s.indexOf('\\') < 0) return s;
  return s.replace(/\\([ ,=\\])/g, '$1');
}

/** Every character outside `[a-zA-Z0-9_:]`, and a leading digit, becomes `_`. */
export function sanitizeMetricName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_:]/gu, '_').replace(/^[0-9]/, '_');
}

/** Every character outside `[a-zA-Z0-9_]`, and a leading digit, becomes `_`. */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/gu, '_').replace(/^[0-9]/, '_');
}

/** A short range of the payload as text, for error messages (cut at 64 bytes). */
function snippet(buf: Uint8Array, start: number, end: number): string {
  const stop = Math.min(end, start + 64);
  const s = decoder.decode(buf.subarray(start, stop));
  return stop < end ? `${s}...` : s;
}

function isDigit(b: number): boolean {
  return b >= ZERO && b <= NINE;
}

/** Parses one unquoted field value into `parsedValue`; false if it is not one. */
function parseFieldValue(buf: Uint8Array, start: number, end: number): boolean {
  const last = buf[end - 1];
  if (last === 105 /* i */) return parseInteger(buf, start, end - 1, true);
  if (last === 117 /* u */) return parseInteger(buf, start, end - 1, false);
  const len = end - start;
  const first = buf[start];
  if (len <= 5 && !isDigit(first) && first !== MINUS && first !== PLUS && first !== DOT) {
    const b = matchBoolean(buf, start, len);
    if (b >= 0) {
      parsedValue = b;
      return true;
    }
  }
  return parseFloatBytes(buf, start, end);
}

const TRUE_TOKENS = ['t', 'T', 'true', 'True', 'TRUE'];
const FALSE_TOKENS = ['f', 'F', 'false', 'False', 'FALSE'];

function matchBoolean(buf: Uint8Array, start: number, len: number): number {
  for (const tok of TRUE_TOKENS) if (tokenIs(buf, start, len, tok)) return 1;
  for (const tok of FALSE_TOKENS) if (tokenIs(buf, start, len, tok)) return 0;
  return -1;
}

function tokenIs(buf: Uint8Array, start: number, len: number, tok: string): boolean {
  if (tok.length !== len) return false;
  for (let i = 0; i < len; i++) if (buf[start + i] !== tok.charCodeAt(i)) return false;
  return true;
}

const INT64_MAX = '9223372036854775807';
const INT64_MIN_ABS = '9223372036854775808';
const UINT64_MAX = '18446744073709551615';

/** `-?digits` (signed) or `digits` (unsigned) within int64 / uint64 range. */
function parseInteger(buf: Uint8Array, start: number, end: number, signed: boolean): boolean {
  let p = start;
  let neg = false;
  if (signed && p < end && buf[p] === MINUS) {
    neg = true;
    p++;
  }
  const digits = end - p;
  if (digits === 0) return false;
  let v = 0;
  for (let i = p; i < end; i++) {
    const b = buf[i];
    if (!isDigit(b)) return false;
    v = v * 10 + (b - ZERO);
  }
  if (digits > 15) {
    // Beyond exact accumulation: check the range on the digit string and round once.
    let s = '';
    let i = p;
    while (i < end - 1 && buf[i] === ZERO) i++;
    for (; i < end; i++) s += String.fromCharCode(buf[i]);
    const max = signed ? (neg ? INT64_MIN_ABS : INT64_MAX) : UINT64_MAX;
    if (s.length > max.length || (s.length === max.length && s > max)) return false;
    v = Number(s);
  }
  parsedValue = neg ? -v : v;
  return true;
}

/**
 * `[+-]?(digits[.digits]|.digits)([eE][+-]?digits)?` or a NaN / Inf token. Up to 15 significant
 * digits with a small exponent take the exact fast path (one correctly rounded multiply or
 * divide by an exact power of ten); anything else is validated here and rounded by `Number`.
 */
function parseFloatBytes(buf: Uint8Array, start: number, end: number): boolean {
  let p = start;
  let neg = false;
  const s0 = buf[p];
  if (s0 === MINUS || s0 === PLUS) {
    neg = s0 === MINUS;
    p++;
  }
  if (p < end && !isDigit(buf[p]) && buf[p] !== DOT) return parseSpecial(buf, p, end, neg);
  let mantissa = 0;
  let sig = 0;
  let intDigits = 0;
  let fracDigits = 0;
  let dropped = false;
  while (p < end && isDigit(buf[p])) {
    const d = buf[p] - ZERO;
    if (sig > 0 || d !== 0) {
      if (sig < 15) mantissa = mantissa * 10 + d;
      else dropped = true;
      sig++;
    }
    intDigits++;
    p++;
  }
  let scale = 0; // decimal exponent adjustment from digits not accumulated
  if (sig > 15) scale += sig - 15;
  if (p < end && buf[p] === DOT) {
    p++;
    while (p < end && isDigit(buf[p])) {
      const d = buf[p] - ZERO;
      if (sig > 0 || d !== 0) {
        if (sig < 15) {
          mantissa = mantissa * 10 + d;
          scale--;
        } else dropped = true;
        sig++;
      } else scale--;
      fracDigits++;
      p++;
    }
  }
  if (intDigits + fracDigits === 0) return false;
  let exp = 0;
  if (p < end && (buf[p] === 101 || buf[p] === 69) /* e E */) {
    p++;
    let eneg = false;
    if (p < end && (buf[p] === MINUS || buf[p] === PLUS)) {
      eneg = buf[p] === MINUS;
      p++;
    }
    if (p === end) return false;
    while (p < end && isDigit(buf[p])) {
      if (exp < 100000) exp = exp * 10 + (buf[p] - ZERO);
      p++;
    }
    if (eneg) exp = -exp;
  }
  if (p !== end) return false;
  const k = exp + scale;
  let v: number;
  if (!dropped && k >= 0 && k <= 22) v = mantissa * POW10[k];
  else if (!dropped && k < 0 && k >= -22) v = mantissa / POW10[-k];
  else if (mantissa === 0 && !dropped) v = 0;
  else v = Math.abs(Number(latin1Full(buf, start, end)));
  parsedValue = neg ? -v : v;
  return true;
}

function latin1Full(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** `nan`, `inf`, `infinity` in any letter case (the sign was consumed by the caller). */
function parseSpecial(buf: Uint8Array, start: number, end: number, neg: boolean): boolean {
  const len = end - start;
  if (len !== 3 && len !== 8) return false;
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i] | 0x20);
  if (s === 'nan') {
    parsedValue = NORMAL_NAN;
    return true;
  }
  if (s === 'inf' || s === 'infinity') {
    parsedValue = neg ? -Infinity : Infinity;
    return true;
  }
  return false;
}

/**
 * `-?digits` nanoseconds (at most 19 digits) to milliseconds, or NaN. The last six digits are the
 * sub-millisecond remainder, the rest an exact integer count of milliseconds.
 */
function parseTimestamp(buf: Uint8Array, start: number, end: number): number {
  let p = start;
  let neg = false;
  if (buf[p] === MINUS) {
    neg = true;
    p++;
  }
  let digitsEnd = p;
  while (digitsEnd < end && isDigit(buf[digitsEnd])) digitsEnd++;
  let tail = digitsEnd;
  while (tail < end && (buf[tail] === SPACE || buf[tail] === TAB)) tail++;
  const digits = digitsEnd - p;
  if (digits === 0 || digits > 19 || tail !== end) return NaN;
  const split = Math.max(p, digitsEnd - 6);
  let ms = 0;
  for (let i = p; i < split; i++) ms = ms * 10 + (buf[i] - ZERO);
  let rem = 0;
  for (let i = split; i < digitsEnd; i++) rem = rem * 10 + (buf[i] - ZERO);
  const v = rem === 0 ? ms : ms + rem / 1e6;
  return neg ? -v : v;
}
