import { Subject, type SchedulerLike, type Subscription } from 'rxjs';
import { pino } from 'pino';
import { AckHandle } from '../../model/ack.ts';
import { labelsFromRecord } from '../../model/labels.ts';
import { MetadataStore } from '../../model/metadata.ts';
import type { Rollup, RollupBatch } from '../../model/rollup-batch.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import { STALE_NAN } from '../../model/stale-nan.ts';
import type { ComponentContext } from '../../pipelines/component.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { downsampleConfigSchema, type DownsampleConfigInput } from '../../schemas/downsample.ts';
import { createDownsample } from './downsample.ts';

/**
 * Test support for the downsample operator: drives one instance through a Subject of sample
 * batches (virtual inputs) and plays the sink, settling each emitted rollup batch's ack as a
 * policy says. Series are named `s<N>`; a value of NaN in a row stands for the stale marker.
 */

export type AckPolicy = (batch: RollupBatch, attempt: number) => 'ok' | 'fail' | 'hold';

/** An acknowledged rollup, its series named by labels (refs differ between runs). */
export interface AckedRollup {
  readonly key: string;
  readonly rollup: Omit<Rollup, 'ref'>;
}

export interface InputTracker {
  outcome: 'pending' | 'ok' | 'failed';
  readonly batch: SampleBatch;
}

export function seriesLabels(n: number) {
  return labelsFromRecord({ __name__: 'requests_total', series: `s${n}` });
}

export function startDownsample(options: { dir: string; config?: DownsampleConfigInput; scheduler?: SchedulerLike; policy?: AckPolicy; name?: string }) {
  const registry = new SeriesRegistry();
  const self = new SelfMetrics();
  const name = options.name ?? 'rollup';
  const ctx: ComponentContext = {
    name,
    registry,
    metadata: new MetadataStore(),
    metrics: self.forComponent(name, 'downsample'),
    logger: pino({ level: process.env.SLUICE_TEST_LOG ?? 'silent' }),
    dataDir: options.dir,
    services: { natsUrl: async () => 'nats://127.0.0.1:4222' },
  };
  const config = downsampleConfigSchema.parse(options.config ?? {});
  const instance = createDownsample(config, ctx, options.scheduler ? { scheduler: options.scheduler } : {});
  const input = new Subject<SampleBatch>();
  const emitted: RollupBatch[] = [];
  const acked: AckedRollup[] = [];
  const held: RollupBatch[] = [];
  const attempts = new Map<string, number>();
  const policy: AckPolicy = options.policy ?? (() => 'ok');
  let error: unknown;
  let completed = false;

  const sub: Subscription = instance.apply(input).subscribe({
    next: (batch) => {
      emitted.push(batch);
      const id = `${batch.tenant}/${batch.resolutionMs}/${batch.rollups.map((r) => `${r.ref}@${r.start}`).join(',')}`;
      const attempt = attempts.get(id) ?? 0;
      attempts.set(id, attempt + 1);
      const decision = policy(batch, attempt);
      if (decision === 'hold') {
        held.push(batch);
        return;
      }
      // Settle later, as a sink would after its write.
      queueMicrotask(() => {
        if (decision === 'fail') {
          batch.ack.fail(new Error('test sink: write refused'));
          return;
        }
        for (const r of batch.rollups) {
          const { ref, ...rest } = r;
          acked.push({ key: rollupKey(batch.tenant, batch.resolutionMs, registry.labels(ref).join(','), r.start), rollup: rest });
        }
        batch.ack.done();
      });
    },
    error: (e) => (error = e),
    complete: () => (completed = true),
  });

  const inputs: InputTracker[] = [];
  /** Sends one batch of rows [series, t, v]; NaN values become stale markers. */
  const send = (tenant: string, rows: ReadonlyArray<readonly number[]>, watermark: number): InputTracker => {
    const refs = Uint32Array.from(rows, (r) => registry.intern(seriesLabels(r[0])));
    const ts = Float64Array.from(rows, (r) => r[1]);
    const values = new Float64Array(rows.length);
    rows.forEach((r, i) => (values[i] = Number.isNaN(r[2]) ? STALE_NAN : r[2]));
    const tracker: InputTracker = { outcome: 'pending', batch: undefined as unknown as SampleBatch };
    const ack = new AckHandle((o) => (tracker.outcome = o.ok ? 'ok' : 'failed'));
    const batch: SampleBatch = { kind: 'samples', refs, ts, values, length: rows.length, tenant, ack, watermark };
    (tracker as { batch: SampleBatch }).batch = batch;
    inputs.push(tracker);
    input.next(batch);
    return tracker;
  };

  const metric = async (metricName: string, labels: Record<string, string> = {}) => {
    const m = (await self.registry.getMetricsAsJSON()).find((x) => x.name === metricName);
    let sum = 0;
    for (const v of m?.values ?? []) if (Object.entries(labels).every(([k, x]) => v.labels[k] === x)) sum += v.value;
    return sum;
  };

  return {
    registry,
    instance,
    input,
    inputs,
    emitted,
    acked,
    held,
    send,
    metric,
    get error() {
      return error;
    },
    get completed() {
      return completed;
    },
    /** Ends the input (a graceful stop) and waits until the operator closed its files. */
    async stop() {
      input.complete();
      await instance.closed();
    },
    /** Drops the operator without a graceful stop: the files stay as they are on disk. */
    async kill() {
      sub.unsubscribe();
      await instance.closed();
    },
  };
}

export function rollupKey(tenant: string, resolutionMs: number, labels: string, start: number): string {
  return `${tenant}|${resolutionMs}|${labels}|${start}`;
}
