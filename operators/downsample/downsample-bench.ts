import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { AckHandle } from '../../model/ack.ts';
import { labelsFromRecord } from '../../model/labels.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import { downsampleConfigSchema } from '../../schemas/downsample.ts';
import { benchContext, type BenchResult } from '../../bench/bench-context.ts';
import { seededRandom } from '../../bench/seeded-random.ts';
import { createDownsample } from './downsample.ts';
import { DownsampleState } from './downsample-state.ts';

/**
 * The downsample operator on fixed data (seed 42): 2,000 counter series scraped every 15s for
 * 2h10m, one batch per scrape round, into 5m and 1h rollups.
 * - `state`: the pure state machine alone (no files): samples/s;
 * - `operator`: the whole operator with its input log, group commits and a snapshot per close,
 *   fed like a source with at most 16 unacknowledged batches: samples/s, snapshot size and time,
 *   log bytes per sample;
 * - `recovery`: a new operator over the files a killed one left (snapshot + log replay) until it
 *   is ready: seconds.
 */
const SERIES = 2_000;
const ROUNDS = (130 * 60) / 15;
const IN_FLIGHT = 16;

function rounds(registry: SeriesRegistry): Array<{ refs: Uint32Array; ts: Float64Array; values: Float64Array }> {
  const rnd = seededRandom(42);
  const refs = Uint32Array.from({ length: SERIES }, (_, i) => registry.intern(labelsFromRecord({ __name__: 'http_requests_total', instance: `host-${i % 50}`, path: `/p${i}` })));
  const counters = new Float64Array(SERIES);
  const out = [];
  for (let k = 0; k < ROUNDS; k++) {
    const ts = new Float64Array(SERIES);
    const values = new Float64Array(SERIES);
    for (let i = 0; i < SERIES; i++) {
      ts[i] = k * 15_000 + Math.floor(rnd() * 1000);
      counters[i] = rnd() < 0.001 ? 0 : counters[i] + Math.floor(rnd() * 20);
      values[i] = counters[i];
    }
    out.push({ refs, ts, values });
  }
  return out;
}

export async function benchDownsample(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const context = { series: SERIES, samples: SERIES * ROUNDS, resolutions: '5m,1h', seed: 42 };
  const push = (metric: string, value: number, unit: string, extra: Record<string, string | number> = {}) =>
    results.push({ bench: 'downsample', metric, value, unit, ...context, ...extra });

  // The pure state machine.
  {
    const registry = new SeriesRegistry();
    const data = rounds(registry);
    const state = new DownsampleState([300_000, 3_600_000]);
    const started = performance.now();
    let maxT = -Infinity;
    for (const r of data) {
      maxT = Math.max(maxT, r.ts[r.ts.length - 1]);
      state.ingest('t', r.refs, r.ts, r.values, SERIES, maxT - 60_000);
    }
    push('samples_per_second', Math.round((SERIES * ROUNDS) / ((performance.now() - started) / 1000)), 'samples/s', { stage: 'state' });
  }

  // The operator with its files.
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-downsample-'));
  try {
    const registry = new SeriesRegistry();
    const data = rounds(registry);
    const ctx = { ...benchContext('rollup', 'downsample', registry), dataDir: dir };
    const config = downsampleConfigSchema.parse({});
    const op = createDownsample(config, ctx);
    const input = new Subject<SampleBatch>();
    const sub = op.apply(input).subscribe((b) => b.ack.done());
    let unacked = 0;
    const started = performance.now();
    let maxT = -Infinity;
    // Stop mid-hour (2h10m of data) so the files hold open windows for the recovery run.
    for (const r of data) {
      while (unacked >= IN_FLIGHT) await new Promise((resolve) => setImmediate(resolve));
      maxT = Math.max(maxT, r.ts[r.ts.length - 1]);
      unacked++;
      const ack = new AckHandle(() => unacked--);
      input.next({ kind: 'samples', refs: r.refs, ts: r.ts, values: r.values, length: SERIES, tenant: 't', ack, watermark: maxT - 60_000 });
    }
    while (unacked > 0) await new Promise((resolve) => setImmediate(resolve));
    const seconds = (performance.now() - started) / 1000;
    push('samples_per_second', Math.round((SERIES * ROUNDS) / seconds), 'samples/s', { stage: 'operator', in_flight: IN_FLIGHT });
    const json = await ctx.metrics.registry.getMetricsAsJSON();
    const find = (name: string) => json.find((m) => m.name === name);
    const hist = find('sluice_downsample_checkpoint_duration_seconds');
    // A histogram's JSON values carry the series name (`..._sum`, `..._count`) beside the labels.
    const named = (suffix: string) => hist?.values.find((v) => (v as { metricName?: string }).metricName?.endsWith(suffix))?.value ?? 0;
    const sum = named('_sum');
    const count = named('_count');
    push('checkpoints', count, 'snapshots');
    push('checkpoint_mean_seconds', count > 0 ? sum / count : 0, 's');
    push('checkpoint_bytes', find('sluice_downsample_checkpoint_bytes')?.values[0]?.value ?? 0, 'bytes', { note: 'the last snapshot: the open 5m windows (raw samples) and the 5m rollups held for the open hour' });
    sub.unsubscribe(); // a kill: the files stay as they are
    await op.closed();

    const registry2 = new SeriesRegistry();
    const ctx2 = { ...benchContext('rollup', 'downsample', registry2), dataDir: dir };
    const op2 = createDownsample(config, ctx2);
    const input2 = new Subject<SampleBatch>();
    const t0 = performance.now();
    let ready!: () => void;
    const recovered = new Promise<void>((resolve) => (ready = resolve));
    const sub2 = op2.apply(input2).subscribe((b) => b.ack.done());
    // The first input is acknowledged once the operator recovered and logged it.
    input2.next({ kind: 'samples', refs: new Uint32Array(0), ts: new Float64Array(0), values: new Float64Array(0), length: 0, tenant: 't', ack: new AckHandle(() => ready()), watermark: -Infinity });
    await recovered;
    push('recovery_seconds', (performance.now() - t0) / 1000, 's', { series_restored: registry2.size });
    input2.complete();
    await op2.closed();
    sub2.unsubscribe();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await benchDownsample()) console.log(JSON.stringify(r));
}
