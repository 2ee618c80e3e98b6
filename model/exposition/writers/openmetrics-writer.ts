/**
 * OpenMetrics 1.0 text format.
 *
 * Grouping and sample lines as in the Prometheus text writer, with these differences:
 * - timestamps are seconds, written as the exact decimal of the millisecond value
 *   (`1700000000123` ms is `1700000000.123`), so no binary rounding happens on the way out;
 * - a family is announced with `# TYPE`, `# HELP` (escaping `\\`, `\n`, `\"`) and, when the
 *   metadata has one and the family name ends in `_<unit>` as OpenMetrics requires, `# UNIT`;
 * - a counter family recorded with its `_total` suffix is announced without it;
 * - if a family's sample names do not fit its type's naming rules (a counter sample without
 *   `_total`, say, which the 0.0.4 format allows), its metadata is dropped and each sample name
 *   forms its own family of type unknown (no `# TYPE` line), so the output stays valid;
 * - the payload ends with `# EOF`.
 * Stale NaN samples and unnamed series are skipped, as in every writer.
 */
import type { MetricMetadata } from '../../metadata.ts';
import type { ExpositionWriter } from '../types.ts';
import {
  formatFloat,
  formatLabelBraces,
  groupByFamily,
  groupBySeries,
  typeSuffixes,
  type FamilyGroup,
  type SeriesSamples,
} from './common.ts';

/** Exact decimal seconds of a millisecond timestamp. */
export function formatSeconds(ms: number): string {
  if (!Number.isSafeInteger(ms)) return formatFloat(ms / 1000);
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  const whole = Math.floor(abs / 1000);
  const frac = abs % 1000;
  if (frac === 0) return whole === 0 ? '0' : `${sign}${whole}`;
  return `${sign}${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}`;
}

function escapeHelp(help: string): string {
  return help.replace(/[\\\n"]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function fitsType(meta: MetricMetadata, family: string, series: readonly SeriesSamples[]): boolean {
  const suffixes = typeSuffixes(meta.type);
  // Counters and info metrics have no sample named exactly like the family.
  const bareAllowed = meta.type !== 'counter' && meta.type !== 'info' && meta.type !== 'histogram' && meta.type !== 'gaugehistogram';
  for (const s of series) {
    if (s.name === family) {
      if (!bareAllowed) return false;
      continue;
    }
    if (!s.name.startsWith(family) || !suffixes.includes(s.name.slice(family.length))) return false;
  }
  return true;
}

const encoder = new TextEncoder();

export const openMetricsWriter: ExpositionWriter = {
  contentType: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
  write(samples, labelsOf, metadata) {
    const { ts, values } = samples;
    let out = '';
    const writeSeries = (series: readonly SeriesSamples[]): void => {
      for (const s of series) {
        const head = `${s.name}${formatLabelBraces(s.labels)} `;
        for (const i of s.indices) out += `${head}${formatFloat(values[i])} ${formatSeconds(ts[i])}\n`;
      }
    };
    const plain = (group: FamilyGroup): void => {
      // One family per sample name, no metadata.
      const byName = new Map<string, SeriesSamples[]>();
      for (const s of group.series) {
        const list = byName.get(s.name);
        if (list === undefined) byName.set(s.name, [s]);
        else list.push(s);
      }
      for (const list of byName.values()) writeSeries(list);
    };
    for (const group of groupByFamily(groupBySeries(samples, labelsOf), metadata)) {
      const meta = group.meta;
      if (meta === undefined) {
        plain(group);
        continue;
      }
      let family = meta.family;
      if (meta.type === 'counter' && family.endsWith('_total')) family = family.slice(0, -'_total'.length);
      if (!fitsType(meta, family, group.series)) {
        plain(group);
        continue;
      }
      out += `# TYPE ${family} ${meta.type}\n`;
      if (meta.unit !== '' && family.endsWith(`_${meta.unit}`)) out += `# UNIT ${family} ${meta.unit}\n`;
      if (meta.help !== '') out += `# HELP ${family} ${escapeHelp(meta.help)}\n`;
      writeSeries(group.series);
    }
    out += '# EOF\n';
    return encoder.encode(out);
  },
};
