import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { labelsFromRecord, metricName } from '../labels.ts';
import { BatchBuilder } from '../sample-batch.ts';
import { SeriesRegistry } from '../series-registry.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { SeriesKeyCache } from './series-key-cache.ts';

/** Recorded scrapes of four real exporters (see ../shared/datasets/README.md), beside the repo. */
const DATASET = new URL('../../../shared/datasets/exporters-400x1s.jsonl.gz', import.meta.url);

interface Scrape {
  job: string;
  instance: string;
  t: number;
  body: string;
}

/** Sample lines counted without the parser: non-empty lines that are not `#` comments. */
function countSampleLines(body: string): number {
  let n = 0;
  for (const line of body.split('\n')) if (line.trim() !== '' && !line.trimStart().startsWith('#')) n++;
  return n;
}

describe('Prometheus text parser on recorded exporter scrapes', () => {
  it('parses every body without errors and yields every sample', () => {
    const scrapes = gunzipSync(readFileSync(DATASET))
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Scrape);
    expect(scrapes).toHaveLength(1600);

    const registry = new SeriesRegistry();
    const caches = new Map<string, SeriesKeyCache>();
    const encoder = new TextEncoder();
    let samples = 0;
    let expected = 0;
    let errors = 0;
    let metadata = 0;
    for (const s of scrapes) {
      const key = `${s.job}\u0000${s.instance}`;
      let cache = caches.get(key);
      if (cache === undefined) {
        cache = new SeriesKeyCache(registry, labelsFromRecord({ job: s.job, instance: s.instance }));
        caches.set(key, cache);
      }
      const builder = new BatchBuilder(1024);
      const result = parsePrometheusText(encoder.encode(s.body), { defaultTimestampMs: s.t, exemplars: 'drop' }, { builder, series: cache });
      errors += result.errorCount;
      if (result.errorCount > 0) console.error(s.job, result.errors.slice(0, 3));
      samples += result.samples;
      expected += countSampleLines(s.body);
      metadata += result.metadata.length;
      expect(builder.length).toBe(result.samples);
      for (let i = 0; i < builder.length; i++) expect(builder.ts[i]).toBe(s.t);
    }

    expect(errors).toBe(0);
    expect(samples).toBe(expected);
    expect(samples).toBe(691_994);
    expect(caches.size).toBe(4);
    expect(registry.size).toBe(1734);
    expect(metadata).toBeGreaterThan(0);
    // Every series carries its target's labels and a metric name.
    for (let ref = 0; ref < registry.size; ref++) {
      const labels = registry.labels(ref);
      expect(metricName(labels)).not.toBe('');
      expect(labels).toContain('job');
      expect(labels).toContain('instance');
    }
  }, 120_000);
});
