import { Subject } from 'rxjs';
import { AckHandle } from '../model/ack.ts';
import { BatchBuilder, type SampleBatch } from '../model/sample-batch.ts';
import { SeriesRegistry } from '../model/series-registry.ts';
import type { SeriesKeyCache } from '../model/exposition/series-key-cache.ts';
import { parsePrometheusText } from '../model/exposition/prometheus-text.ts';
import { relabelOperator } from '../operators/relabel/relabel.ts';
import { benchContext, type BenchResult } from './bench-context.ts';
import { loadExporterScrapes, targetCache } from './datasets.ts';

/** Rules of the kind a real topology has: drop noisy labels, drop a family, derive a label, keep the rest. */
const RELABEL_RULES = [
  { action: 'labeldrop', regex: 'pod_uid|request_id' },
  { action: 'drop', source_labels: ['__name__'], regex: 'go_gc_duration_seconds.*' },
  { source_labels: ['job', 'instance'], separator: '/', target_label: 'target', replacement: '$1/$2', regex: '(.*)/(.*)' },
  { action: 'hashmod', source_labels: ['instance'], modulus: 4, target_label: '__tmp_shard' },
  { action: 'labeldrop', regex: '__tmp_.*' },
];

/**
 * Parse + relabel over the recorded exporter scrapes, on one core: every scrape body is parsed
 * into a batch (series resolved through a per-target key cache) and passed through the relabel
 * operator (results cached per series ref), as a NATS source and a relabel stage do it. The first
 * round fills the caches (reported as the cold figure); the steady-state figure is over the next
 * rounds, each re-parsing all 400 scrapes with later timestamps.
 */
export async function benchIngest(options: { rounds?: number } = {}): Promise<BenchResult[]> {
  const rounds = options.rounds ?? 5;
  const scrapes = loadExporterScrapes();
  const registry = new SeriesRegistry();
  const relabel = relabelOperator.build(relabelOperator.schema.parse({ rules: RELABEL_RULES }), benchContext('bench', 'relabel', registry));
  const input = new Subject<SampleBatch>();
  let out = 0;
  relabel.apply(input).subscribe((batch) => {
    out += batch.length;
    batch.ack.done();
  });
  const caches = new Map<string, SeriesKeyCache>();
  const builder = new BatchBuilder(8192);
  let errors = 0;

  const round = (offsetMs: number): number => {
    let samples = 0;
    for (const scrape of scrapes) {
      const cache = targetCache(caches, registry, scrape);
      const result = parsePrometheusText(scrape.body, { defaultTimestampMs: scrape.t + offsetMs, exemplars: 'drop' }, { builder, series: cache });
      errors += result.errorCount;
      samples += result.samples;
      input.next(builder.finish({ tenant: 'bench', ack: AckHandle.none() }));
    }
    return samples;
  };

  let started = performance.now();
  const coldSamples = round(0);
  const coldSeconds = (performance.now() - started) / 1000;
  let samples = 0;
  started = performance.now();
  for (let r = 1; r <= rounds; r++) samples += round(r * 400_000);
  const seconds = (performance.now() - started) / 1000;
  if (errors > 0) throw new Error(`the dataset produced ${errors} parse errors`);
  const context = {
    dataset: 'exporters-400x1s',
    format: 'prom',
    relabel_rules: RELABEL_RULES.length,
    series: registry.size,
    samples_per_round: coldSamples,
    samples_out_per_round: Math.round(out / (rounds + 1)),
  };
  return [
    { bench: 'ingest', metric: 'samples_per_second', value: Math.round(samples / seconds), unit: 'samples/s', rounds, ...context },
    { bench: 'ingest', metric: 'cold_samples_per_second', value: Math.round(coldSamples / coldSeconds), unit: 'samples/s', rounds: 1, ...context },
  ];
}
