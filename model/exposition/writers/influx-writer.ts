/**
 * InfluxDB line protocol, mapped so that `parseInflux` (../influx.ts) reads every line back to the
 * same label set:
 *
 * - the metric name is split at its last `_` that has a character on both sides: the part before
 *   is the measurement, the part after the one field (`http_requests_total` is measurement
 *   `http_requests`, field `total`), which the parser joins back as `{measurement}_{field}`;
 * - a name with no such `_` (`up`, `_x`) is written with an empty measurement and the whole name
 *   as the field key (`,job=a up=1 ...`, or ` up=1 ...` without tags), which the parser, like
 *   VictoriaMetrics, names by the field key alone. InfluxDB itself rejects such lines.
 * - the other labels are tags, in label-set (sorted) order; timestamps are integer nanoseconds
 *   (exact for whole milliseconds, sub-millisecond parts rounded to the nanosecond);
 * - values are floats: `String(v)`, `-0`, and `NaN`, `+Inf`, `-Inf` for the non-finite ones
 *   (VictoriaMetrics and `parseInflux` accept those; InfluxDB rejects them).
 *
 * Escapes: backslash before space, comma, `=` and backslash in tag keys, tag values and field
 * keys, before space, comma and backslash in the measurement. The format cannot carry a newline
 * in a tag value: it is written as the two characters `\n` (as Telegraf does) and reads back as
 * those two characters, so such a label value does not round-trip.
 *
 * Stale NaN samples are skipped (counted by `countStaleMarkers`), as are series without a metric
 * name. Metadata has no place in this format and is ignored.
 */
import { METRIC_NAME, metricName, type Labels } from '../../labels.ts';
import { isStaleNaN } from '../../stale-nan.ts';
import type { ExpositionWriter } from '../types.ts';

function escapeMeasurement(s: string): string {
  return s.replace(/[ ,\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function escapeKey(s: string): string {
  return s.replace(/[ ,=\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** `measurement[,tags] field=` for a series, or null when it has no metric name. */
export function influxLinePrefix(labels: Labels): string | null {
  const name = metricName(labels);
  if (name === '') return null;
  const cut = name.lastIndexOf('_', name.length - 2);
  let out = cut >= 1 ? escapeMeasurement(name.slice(0, cut)) : '';
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] === METRIC_NAME) continue;
    out += `,${escapeKey(labels[i])}=${escapeKey(labels[i + 1])}`;
  }
  return `${out} ${escapeKey(cut >= 1 ? name.slice(cut + 1) : name)}=`;
}

export function formatInfluxValue(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0 && 1 / v < 0) return '-0';
  return String(v);
}

/** Integer nanoseconds of a millisecond timestamp, as decimal digits. */
export function formatNanoseconds(ms: number): string {
  if (Number.isSafeInteger(ms)) return ms === 0 ? '0' : `${ms}000000`;
  if (!Number.isFinite(ms)) return '0';
  const sign = ms < 0 ? '-' : '';
  let whole = Math.floor(Math.abs(ms));
  let ns = Math.round((Math.abs(ms) - whole) * 1e6);
  if (ns === 1e6) {
    whole++;
    ns = 0;
  }
  if (whole === 0) return ns === 0 ? '0' : `${sign}${ns}`;
  return `${sign}${BigInt(whole)}${String(ns).padStart(6, '0')}`;
}

const encoder = new TextEncoder();

export const influxWriter: ExpositionWriter = {
  contentType: 'text/plain; charset=utf-8',
  write(samples, labelsOf) {
    const { refs, ts, values } = samples;
    const prefixes = new Map<number, string | null>();
    let out = '';
    for (let i = 0; i < samples.length; i++) {
      const v = values[i];
      if (isStaleNaN(v)) continue;
      const ref = refs[i];
      let prefix = prefixes.get(ref);
      if (prefix === undefined) {
        prefix = influxLinePrefix(labelsOf(ref));
        prefixes.set(ref, prefix);
      }
      if (prefix === null) continue;
      out += `${prefix}${formatInfluxValue(v)} ${formatNanoseconds(ts[i])}\n`;
    }
    return encoder.encode(out);
  },
};
