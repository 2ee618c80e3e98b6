import type { Labels } from '../../model/labels.ts';
import type { QueryValue } from '../promql/engine/types.ts';

/**
 * The JSON bodies of the HTTP API, byte for byte as Prometheus writes them (web/api/v1 with its
 * jsoniter codec): the envelope `{"status":"success","data":...,"warnings":[...],"infos":[...]}`
 * or `{"status":"error","errorType":"bad_data","error":"..."}`, sample values as strings in Go's
 * float formatting, timestamps as float seconds, strings escaped as Go's encoding/json escapes
 * them (`<`, `>`, `&` as \u003c, \u003e, \u0026). Label sets are written in label order.
 */

export type ErrorType = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'internal' | 'unavailable' | 'not_found';

/** A request that failed: the API answers it with an error body and the type's HTTP status. */
export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly errorType: ErrorType,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** HTTP status of an error type, as Prometheus maps them (499 is nginx's "client closed request"). */
export function statusCodeOf(type: ErrorType): number {
  switch (type) {
    case 'bad_data':
      return 400;
    case 'execution':
      return 422;
    case 'canceled':
      return 499;
    case 'timeout':
    case 'unavailable':
      return 503;
    case 'not_found':
      return 404;
    case 'internal':
      return 500;
  }
}

/** JSON text that is written as is (a pre-encoded fragment). */
export class RawJson {
  constructor(readonly json: string) {}
}

/** A sample value as Prometheus writes it: shortest round-trip decimal, `e` notation beyond 1e21 and below 1e-6. */
export function formatSampleValue(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  const abs = Math.abs(v);
  if (abs < 1e-6 || abs >= 1e21) {
    // Go's 'e' format writes at least two exponent digits (1e-07); JavaScript writes one.
    return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  // Within [1e-6, 1e21) JavaScript writes fixed notation with the shortest digits, as Go's 'f' does.
  return String(v);
}

/** A timestamp in ms as Prometheus writes it: seconds with three decimals when there is a fraction (`1435781451.780`). */
export function formatTimestamp(ms: number): string {
  let t = Math.round(ms);
  let sign = '';
  if (t < 0) {
    sign = '-';
    t = -t;
  }
  const seconds = Math.floor(t / 1000);
  const fraction = t - seconds * 1000;
  return fraction === 0 ? `${sign}${seconds}` : `${sign}${seconds}.${String(fraction).padStart(3, '0')}`;
}

const HEX = '0123456789abcdef';

/** A JSON string as Go's encoding/json writes it (HTML-safe; lone surrogates become U+FFFD). */
export function jsonString(s: string): string {
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20) {
      esc = c === 0x0a ? '\\n' : c === 0x0d ? '\\r' : c === 0x09 ? '\\t' : `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    } else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x3c) esc = '\\u003c';
    else if (c === 0x3e) esc = '\\u003e';
    else if (c === 0x26) esc = '\\u0026';
    else if (c === 0x2028) esc = '\\u2028';
    else if (c === 0x2029) esc = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdfff) {
      const paired =
        c <= 0xdbff ? i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 : i > 0 && (s.charCodeAt(i - 1) & 0xfc00) === 0xd800;
      if (!paired) esc = '\\ufffd';
    }
    if (esc !== undefined) {
      out += s.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return `${out}${s.slice(start)}"`;
}

/**
 * JSON of plain data (strings, finite numbers, booleans, null, arrays, objects in insertion
 * order, RawJson fragments) with Go's string escaping.
 */
export function toJson(value: unknown): string {
  if (value instanceof RawJson) return value.json;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`BUG: ${value} has no JSON form; format it as a string`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (Array.isArray(value)) return `[${value.map(toJson).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${jsonString(k)}:${toJson(v)}`);
    return `{${parts.join(',')}}`;
  }
  throw new Error(`BUG: ${typeof value} has no JSON form`);
}

/** A label set as a JSON object, in label order (names sorted). */
export function labelsJson(labels: Labels): string {
  const parts: string[] = [];
  for (let i = 0; i < labels.length; i += 2) parts.push(`${jsonString(labels[i])}:${jsonString(labels[i + 1])}`);
  return `{${parts.join(',')}}`;
}

function pointJson(t: number, v: number): string {
  return `[${formatTimestamp(t)},"${formatSampleValue(v)}"]`;
}

/** `data.result` of a query: vector, matrix, scalar or string, as Prometheus encodes each. */
export function queryValueJson(value: QueryValue): string {
  switch (value.type) {
    case 'vector':
      return `[${value.samples.map((s) => `{"metric":${labelsJson(s.labels)},"value":${pointJson(s.t, s.v)}}`).join(',')}]`;
    case 'matrix':
      return `[${value.series
        .map((s) => {
          const points: string[] = new Array(s.ts.length);
          for (let i = 0; i < s.ts.length; i++) points[i] = pointJson(s.ts[i], s.values[i]);
          return `{"metric":${labelsJson(s.labels)},"values":[${points.join(',')}]}`;
        })
        .join(',')}]`;
    case 'scalar':
      return pointJson(value.t, value.v);
    case 'string':
      return `[${formatTimestamp(value.t)},${jsonString(value.v)}]`;
  }
}

/** Annotations limited as Prometheus limits them: duplicates once, ten at most, then a count of the rest. */
export function limitAnnotations(list: readonly string[], kind: 'warning' | 'info', max = 10): string[] {
  const unique = [...new Set(list)];
  if (unique.length <= max) return unique;
  return [...unique.slice(0, max), `${unique.length - max} more ${kind} annotations omitted`];
}

/** The success envelope; empty warnings and infos are left out, as Go's omitempty does. */
export function successBody(data: unknown, warnings: readonly string[] = [], infos: readonly string[] = []): string {
  let body = `{"status":"success","data":${toJson(data)}`;
  const w = limitAnnotations(warnings, 'warning');
  const i = limitAnnotations(infos, 'info');
  if (w.length > 0) body += `,"warnings":${toJson(w)}`;
  if (i.length > 0) body += `,"infos":${toJson(i)}`;
  return `${body}}`;
}

export function errorBody(type: ErrorType, message: string): string {
  return `{"status":"error","errorType":"${type}","error":${jsonString(message)}}`;
}
