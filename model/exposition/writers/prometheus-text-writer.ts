/**
 * Prometheus text exposition format 0.0.4.
 *
 * Samples are grouped by metric family: a sample belongs to the family of a `metadata` entry
 * named like it, or named like it minus a suffix that entry's type uses (`_total`, `_bucket`,
 * `_count`, ...); otherwise it forms a family of its own name without `# HELP` / `# TYPE`.
 * Within a family, series appear in batch order and each series' samples in timestamp order.
 * Every sample carries an explicit integer millisecond timestamp (a fractional one is rounded).
 *
 * Types outside 0.0.4 (`unknown`, `info`, `stateset`, `gaugehistogram`) are written `untyped`.
 * A counter family named without `_total` whose samples carry it is announced under the
 * `_total` name, the way 0.0.4 exposes counters.
 *
 * Stale NaN cannot be written (it would read back as an ordinary NaN, a wrong sample): stale
 * samples are skipped; `countStaleMarkers` (writers/index.ts) counts them. Series without a
 * metric name cannot be written either and are skipped.
 */
import type { MetricType } from '../../metadata.ts';
import type { ExpositionWriter } from '../types.ts';
import { formatFloat, formatLabelBraces, formatMillis, groupByFamily, groupBySeries } from './common.ts';

const PROM_TYPES: Record<MetricType, string> = {
  counter: 'counter',
  gauge: 'gauge',
  histogram: 'histogram',
  summary: 'summary',
  gaugehistogram: 'untyped',
  info: 'untyped',
  stateset: 'untyped',
  unknown: 'untyped',
};

function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

const encoder = new TextEncoder();

export const prometheusTextWriter: ExpositionWriter = {
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  write(samples, labelsOf, metadata) {
    const { ts, values } = samples;
    let out = '';
    for (const group of groupByFamily(groupBySeries(samples, labelsOf), metadata)) {
      const meta = group.meta;
      if (meta !== undefined) {
        let name = meta.family;
        if (meta.type === 'counter' && !name.endsWith('_total') && group.series.some((s) => s.name === `${name}_total`)) {
          name = `${name}_total`;
        }
        if (meta.help !== '') out += `# HELP ${name} ${escapeHelp(meta.help)}\n`;
        out += `# TYPE ${name} ${PROM_TYPES[meta.type]}\n`;
      }
      for (const s of group.series) {
        const head = `${s.name}${formatLabelBraces(s.labels)} `;
        for (const i of s.indices) out += `${head}${formatFloat(values[i])} ${formatMillis(ts[i])}\n`;
      }
    }
    return encoder.encode(out);
  },
};
