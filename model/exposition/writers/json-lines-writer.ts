/**
 * JSON lines (the VictoriaMetrics `/api/v1/import` format, see ../json-lines.ts): one line per
 * series, in order of first appearance, with its samples in timestamp order:
 *
 *     {"metric":{"__name__":"up","job":"x"},"values":[1,"NaN"],"timestamps":[1700000000000,1700000001000]}
 *
 * Values are JSON numbers (`-0` kept as `-0`); NaN, +Inf and -Inf are the strings "NaN", "+Inf",
 * "-Inf". Timestamps are integer milliseconds (a fractional one is rounded). Stale NaN samples are
 * skipped (a series with only stale samples gets no line), as are series without a metric name.
 * Metadata has no place in this format and is ignored.
 */
import type { ExpositionWriter } from '../types.ts';
import { formatMillis, groupBySeries } from './common.ts';

export function formatJsonValue(v: number): string {
  if (v !== v) return '"NaN"';
  if (v === Infinity) return '"+Inf"';
  if (v === -Infinity) return '"-Inf"';
  if (v === 0 && 1 / v < 0) return '-0';
  return String(v);
}

const encoder = new TextEncoder();

export const jsonLinesWriter: ExpositionWriter = {
  contentType: 'application/x-ndjson',
  write(samples, labelsOf) {
    const { ts, values } = samples;
    let out = '';
    for (const s of groupBySeries(samples, labelsOf)) {
      let metric = '';
      for (let i = 0; i < s.labels.length; i += 2) {
        metric += `${metric === '' ? '' : ','}${JSON.stringify(s.labels[i])}:${JSON.stringify(s.labels[i + 1])}`;
      }
      let vs = '';
      let tss = '';
      for (const i of s.indices) {
        vs += `${vs === '' ? '' : ','}${formatJsonValue(values[i])}`;
        tss += `${tss === '' ? '' : ','}${formatMillis(ts[i])}`;
      }
      out += `{"metric":{${metric}},"values":[${vs}],"timestamps":[${tss}]}\n`;
    }
    return encoder.encode(out);
  },
};
