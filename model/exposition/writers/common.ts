/**
 * The pieces several writers share: float and timestamp formatting, and grouping a batch's
 * samples by series and by metric family. The grouping rules are documented in
 * prometheus-text-writer.ts; the OpenMetrics and JSON lines writers follow them.
 */
import { escapeLabelValue, METRIC_NAME, metricName, type Labels } from '../../labels.ts';
import type { MetricMetadata, MetricType } from '../../metadata.ts';
import { isStaleNaN } from '../../stale-nan.ts';
import type { ExpositionWriter } from '../types.ts';

export type WriterSamples = Parameters<ExpositionWriter['write']>[0];

/** Shortest text that parses back to the same float64; `NaN`, `+Inf`, `-Inf`, `-0` as Prometheus writes them. */
export function formatFloat(v: number): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0 && 1 / v < 0) return '-0';
  return String(v);
}

/** A timestamp as integer milliseconds (a fractional one is rounded). */
export function formatMillis(ms: number): string {
  const r = Math.round(ms);
  return r === 0 ? '0' : String(r);
}

/** One series of a batch: its labels and the indices of its (non-stale) samples, by timestamp. */
export interface SeriesSamples {
  readonly ref: number;
  readonly labels: Labels;
  readonly name: string;
  readonly indices: number[];
}

/**
 * The batch's series in order of first appearance, stale samples and unnamed series left out,
 * each series' sample indices sorted by timestamp (stable).
 */
export function groupBySeries(samples: WriterSamples, labelsOf: (ref: number) => Labels): SeriesSamples[] {
  const byRef = new Map<number, SeriesSamples | null>();
  const out: SeriesSamples[] = [];
  for (let i = 0; i < samples.length; i++) {
    if (isStaleNaN(samples.values[i])) continue;
    const ref = samples.refs[i];
    let s = byRef.get(ref);
    if (s === undefined) {
      const labels = labelsOf(ref);
      const name = metricName(labels);
      s = name === '' ? null : { ref, labels, name, indices: [] };
      byRef.set(ref, s);
      if (s !== null) out.push(s);
    }
    if (s !== null) s.indices.push(i);
  }
  for (const s of out) {
    const idx = s.indices;
    let sorted = true;
    for (let j = 1; j < idx.length && sorted; j++) if (samples.ts[idx[j]] < samples.ts[idx[j - 1]]) sorted = false;
    if (!sorted) idx.sort((a, b) => samples.ts[a] - samples.ts[b] || a - b);
  }
  return out;
}

/** Sample-name suffixes each metric type uses besides the bare family name. */
const TYPE_SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: ['_total', '_created'],
  gauge: [],
  histogram: ['_bucket', '_count', '_sum', '_created'],
  gaugehistogram: ['_bucket', '_gcount', '_gsum'],
  summary: ['_count', '_sum', '_created'],
  info: ['_info'],
  stateset: [],
  unknown: [],
};

export function typeSuffixes(type: MetricType): readonly string[] {
  return TYPE_SUFFIXES[type];
}

/** A family and its series, in order of first appearance. */
export interface FamilyGroup {
  readonly family: string;
  readonly meta: MetricMetadata | undefined;
  readonly series: SeriesSamples[];
}

export function groupByFamily(series: readonly SeriesSamples[], metadata: readonly MetricMetadata[] | undefined): FamilyGroup[] {
  const metaByFamily = new Map<string, MetricMetadata>();
  for (const m of metadata ?? []) metaByFamily.set(m.family, m);
  const groups = new Map<string, { family: string; meta: MetricMetadata | undefined; series: SeriesSamples[] }>();
  for (const s of series) {
    const meta = familyOf(s.name, metaByFamily);
    const family = meta?.family ?? s.name;
    let g = groups.get(family);
    if (g === undefined) {
      g = { family, meta, series: [] };
      groups.set(family, g);
    }
    g.series.push(s);
  }
  return [...groups.values()];
}

function familyOf(name: string, metaByFamily: ReadonlyMap<string, MetricMetadata>): MetricMetadata | undefined {
  const exact = metaByFamily.get(name);
  if (exact !== undefined) return exact;
  const cut = name.lastIndexOf('_');
  if (cut <= 0) return undefined;
  const meta = metaByFamily.get(name.slice(0, cut));
  if (meta !== undefined && TYPE_SUFFIXES[meta.type].includes(name.slice(cut))) return meta;
  return undefined;
}

/** `{a="1",b="2"}` without `__name__`, or '' when the series has no other label. */
export function formatLabelBraces(labels: Labels): string {
  let out = '';
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] === METRIC_NAME) continue;
    out += `${out === '' ? '{' : ','}${labels[i]}="${escapeLabelValue(labels[i + 1])}"`;
  }
  return out === '' ? '' : `${out}}`;
}
