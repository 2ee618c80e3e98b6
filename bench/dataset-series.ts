import type { Labels } from '../model/labels.ts';
import { BatchBuilder } from '../model/sample-batch.ts';
import { SeriesRegistry } from '../model/series-registry.ts';
import type { SeriesKeyCache } from '../model/exposition/series-key-cache.ts';
import { parsePrometheusText } from '../model/exposition/prometheus-text.ts';
import type { ChunkStore } from '../sinks/chunks/chunk-store.ts';
import { loadExporterScrapes, targetCache } from './datasets.ts';

/** The recorded scrapes as per-series columns, the form storage benchmarks feed to every store. */
export interface DatasetSeries {
  readonly name: string;
  /** Scrape interval the timestamps were stretched to, in seconds. */
  readonly intervalSeconds: number;
  readonly labels: Labels[];
  readonly ts: Float64Array[];
  readonly values: Float64Array[];
  readonly samples: number;
  readonly minT: number;
  readonly maxT: number;
}

/**
 * Parses the 400 recorded scrapes and groups the samples per series, stretching time so the
 * scrapes are `intervalSeconds` apart (offsets from the first scrape multiplied; the recording's
 * own jitter is stretched with them). Series are in label order, samples in time order.
 */
export function loadDatasetSeries(intervalSeconds = 15): DatasetSeries {
  const scrapes = loadExporterScrapes();
  const registry = new SeriesRegistry();
  const builder = new BatchBuilder(1 << 20);
  const caches = new Map<string, SeriesKeyCache>();
  const t0 = scrapes[0].t;
  for (const scrape of scrapes) {
    const cache = targetCache(caches, registry, scrape);
    const t = t0 + Math.round((scrape.t - t0) * intervalSeconds);
    const result = parsePrometheusText(scrape.body, { defaultTimestampMs: t, exemplars: 'drop' }, { builder, series: cache });
    if (result.errorCount > 0) throw new Error(`dataset scrape at ${scrape.t} has ${result.errorCount} parse errors`);
  }
  const counts = new Uint32Array(registry.size);
  for (let i = 0; i < builder.length; i++) counts[builder.refs[i]]++;
  const ts = Array.from(counts, (n) => new Float64Array(n));
  const values = Array.from(counts, (n) => new Float64Array(n));
  const filled = new Uint32Array(registry.size);
  let minT = Infinity;
  let maxT = -Infinity;
  for (let i = 0; i < builder.length; i++) {
    const ref = builder.refs[i];
    const j = filled[ref]++;
    ts[ref][j] = builder.ts[i];
    values[ref][j] = builder.values[i];
    if (builder.ts[i] < minT) minT = builder.ts[i];
    if (builder.ts[i] > maxT) maxT = builder.ts[i];
  }
  const order = Array.from(counts.keys()).sort((a, b) => {
    const la = registry.labels(a).join('\u0000');
    const lb = registry.labels(b).join('\u0000');
    return la < lb ? -1 : la > lb ? 1 : 0;
  });
  return {
    name: 'exporters-400x1s',
    intervalSeconds,
    labels: order.map((ref) => registry.labels(ref)),
    ts: order.map((ref) => ts[ref]),
    values: order.map((ref) => values[ref]),
    samples: builder.length,
    minT,
    maxT,
  };
}

export interface ScrapeBatch {
  refs: Uint32Array;
  ts: Float64Array;
  values: Float64Array;
}

/** The dataset as the batches a sink receives: one per distinct timestamp (one scrape of one target). */
export function scrapeBatches(data: DatasetSeries): ScrapeBatch[] {
  const byTime = new Map<number, { refs: number[]; values: number[] }>();
  data.ts.forEach((ts, ref) => {
    for (let i = 0; i < ts.length; i++) {
      let b = byTime.get(ts[i]);
      if (!b) byTime.set(ts[i], (b = { refs: [], values: [] }));
      b.refs.push(ref);
      b.values.push(i); // the sample's index: values are copied below through typed arrays
    }
  });
  return [...byTime.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, b]) => ({
      refs: Uint32Array.from(b.refs),
      ts: new Float64Array(b.refs.length).fill(t),
      // Copied element by element through typed arrays so NaN payloads (stale markers) stay exact.
      values: (() => {
        const v = new Float64Array(b.refs.length);
        for (let k = 0; k < b.refs.length; k++) v[k] = data.values[b.refs[k]][b.values[k]];
        return v;
      })(),
    }));
}

/** Appends the dataset to a chunk store, scrape by scrape (refs index `data.labels`), and flushes the head into blocks. */
export async function fillStore(store: ChunkStore, data: DatasetSeries): Promise<void> {
  const labelsOf = (ref: number) => data.labels[ref];
  for (const b of scrapeBatches(data)) await store.append(b.refs, labelsOf, b.ts, b.values, b.refs.length);
  await store.flushHead();
}
