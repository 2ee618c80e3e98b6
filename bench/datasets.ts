import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { labelsFromPairs } from '../model/labels.ts';
import type { SeriesRegistry } from '../model/series-registry.ts';
import { SeriesKeyCache } from '../model/exposition/series-key-cache.ts';

export interface RecordedScrape {
  readonly job: string;
  readonly instance: string;
  /** Scrape time, unix ms. */
  readonly t: number;
  readonly body: Uint8Array;
}

/** `../shared/datasets/` beside the repository (the layout CI and developers share). */
export const DATASETS_DIR = fileURLToPath(new URL('../../shared/datasets/', import.meta.url));

/** The recorded exporter scrapes: 400 scrapes, one second apart, of four real exporters. */
export function loadExporterScrapes(file = `${DATASETS_DIR}exporters-400x1s.jsonl.gz`): RecordedScrape[] {
  const text = gunzipSync(readFileSync(file)).toString('utf8');
  const encoder = new TextEncoder();
  const out: RecordedScrape[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const row = JSON.parse(line) as { job: string; instance: string; t: number; body: string };
    out.push({ job: row.job, instance: row.instance, t: row.t, body: encoder.encode(row.body) });
  }
  return out;
}

/** The series-key cache of a scrape's target (job, instance), made on first use: one per target, as a scraper keeps them. */
export function targetCache(caches: Map<string, SeriesKeyCache>, registry: SeriesRegistry, scrape: RecordedScrape): SeriesKeyCache {
  const key = `${scrape.job}\u0000${scrape.instance}`;
  let cache = caches.get(key);
  if (!cache) {
    cache = new SeriesKeyCache(registry, labelsFromPairs([['job', scrape.job], ['instance', scrape.instance]]));
    caches.set(key, cache);
  }
  return cache;
}
