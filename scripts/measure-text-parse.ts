/**
 * Measures the Prometheus text parser over the recorded exporter scrapes
 * (`../shared/datasets/exporters-400x1s.jsonl.gz`): samples per second on one core, parse only.
 *
 * Each (job, instance) gets its own SeriesKeyCache, as a scraper keeps one per target. Round 1
 * is a warm-up (it fills the caches and lets V8 optimise); the following rounds parse all 400
 * bodies again and are timed, so the figure is the steady state of a scraper that has seen its
 * targets before. Usage: `npx tsx scripts/measure-text-parse.ts [rounds]`; with
 * `STRIP_COMMENTS=1` the HELP/TYPE lines are removed first, to see the cost of samples alone.
 * Besides wall-clock rates it prints the rate per CPU second of this process, which is the
 * fairer figure on a machine shared with other work.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { labelsFromRecord } from '../model/labels.ts';
import { BatchBuilder } from '../model/sample-batch.ts';
import { SeriesRegistry } from '../model/series-registry.ts';
import { parsePrometheusText } from '../model/exposition/prometheus-text.ts';
import { SeriesKeyCache } from '../model/exposition/series-key-cache.ts';

interface Scrape {
  job: string;
  instance: string;
  t: number;
  body: string;
}

const datasetUrl = new URL('../../shared/datasets/exporters-400x1s.jsonl.gz', import.meta.url);
const rounds = Number(process.argv[2] ?? 10);

const encoder = new TextEncoder();
const scrapes = gunzipSync(readFileSync(datasetUrl))
  .toString('utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => JSON.parse(l) as Scrape);
const strip = process.env.STRIP_COMMENTS === '1';
const bodies = scrapes.map((s) =>
  encoder.encode(strip ? s.body.split('\n').filter((l) => !l.startsWith('#')).join('\n') : s.body),
);
const bytes = bodies.reduce((n, b) => n + b.length, 0);

const registry = new SeriesRegistry();
const caches = new Map<string, SeriesKeyCache>();
const cacheOf = scrapes.map((s) => {
  const key = `${s.job}\u0000${s.instance}`;
  let cache = caches.get(key);
  if (cache === undefined) {
    cache = new SeriesKeyCache(registry, labelsFromRecord({ job: s.job, instance: s.instance }));
    caches.set(key, cache);
  }
  return cache;
});
const builder = new BatchBuilder(4096);

function round(): { samples: number; errors: number; ms: number } {
  let samples = 0;
  let errors = 0;
  const start = process.hrtime.bigint();
  for (let k = 0; k < bodies.length; k++) {
    builder.length = 0; // reuse the columns: the figure is the parser's, not the allocator's
    const r = parsePrometheusText(
      bodies[k],
      { defaultTimestampMs: scrapes[k].t, exemplars: 'drop' },
      { builder, series: cacheOf[k] },
    );
    samples += r.samples;
    errors += r.errorCount;
  }
  return { samples, errors, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

const warm = round();
console.log(
  `warm-up: ${warm.samples} samples, ${warm.errors} errors, ${registry.size} series, ` +
    `${(warm.samples / warm.ms / 1000).toFixed(2)} M samples/s (cold caches)`,
);
const rates: number[] = [];
let total = 0;
const cpuStart = process.cpuUsage();
for (let r = 0; r < rounds; r++) {
  const { samples, ms } = round();
  total += samples;
  rates.push(samples / ms / 1000);
}
const cpu = process.cpuUsage(cpuStart);
const cpuMs = (cpu.user + cpu.system) / 1000;
rates.sort((a, b) => a - b);
const median = rates[Math.floor(rates.length / 2)];
console.log(
  `${rounds} rounds x ${bodies.length} bodies (${(bytes / 1e6).toFixed(1)} MB, ${warm.samples} samples each round): ` +
    `median ${median.toFixed(2)} M samples/s, min ${rates[0].toFixed(2)}, max ${rates[rates.length - 1].toFixed(2)}; ` +
    `${(((bytes / 1e6) * median * 1e6) / warm.samples).toFixed(0)} MB/s; ` +
    `${(total / cpuMs / 1000).toFixed(2)} M samples per CPU second`,
);
