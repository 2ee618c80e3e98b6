import { firstValueFrom, from, toArray } from 'rxjs';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { AckHandle, type AckOutcome } from '../../model/ack.ts';
import { labelsFromRecord, labelsToRecord } from '../../model/labels.ts';
import { MetadataStore } from '../../model/metadata.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import { STALE_NAN, float64Bits } from '../../model/stale-nan.ts';
import type { ComponentContext } from '../../pipelines/component.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { relabelOperator } from './relabel.ts';

function setup(rules: unknown[]) {
  const registry = new SeriesRegistry();
  const self = new SelfMetrics();
  const ctx: ComponentContext = {
    name: 'clean',
    registry,
    metadata: new MetadataStore(),
    metrics: self.forComponent('clean', 'relabel'),
    logger: pino({ level: 'silent' }),
    dataDir: '/nonexistent',
    services: { natsUrl: async () => 'nats://127.0.0.1:4222' },
  };
  const config = relabelOperator.schema.parse({ rules });
  const instance = relabelOperator.build(config, ctx);
  const run = (batches: SampleBatch[]) => firstValueFrom(instance.apply(from(batches)).pipe(toArray()));
  const counter = async (name: string, labels: Record<string, string>) => {
    const metric = (await self.registry.getMetricsAsJSON()).find((m) => m.name === name);
    const value = metric?.values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x));
    return value?.value ?? 0;
  };
  return { registry, run, counter, self };
}

function batch(
  refs: number[],
  values: number[],
  ack: AckHandle = AckHandle.none(),
  extra: Partial<Omit<SampleBatch, 'kind'>> = {},
): SampleBatch {
  return {
    kind: 'samples',
    refs: Uint32Array.from(refs),
    ts: Float64Array.from(refs.map((_, i) => 1000 + i)),
    values: Float64Array.from(values),
    length: refs.length,
    tenant: 't1',
    ack,
    watermark: 500,
    ...extra,
  };
}

function trackedAck() {
  const outcomes: AckOutcome[] = [];
  return { ack: new AckHandle((o) => outcomes.push(o)), outcomes };
}

const rules = [
  { source_labels: ['__name__'], regex: 'debug_.*', action: 'drop' },
  { source_labels: ['instance'], regex: '([^:]+):.*', target_label: 'host' },
  { regex: 'instance', action: 'labeldrop' },
];

describe('relabelOperator', () => {
  it('has the component contract', () => {
    expect(relabelOperator.kind).toBe('operator');
    expect(relabelOperator.type).toBe('relabel');
    expect(relabelOperator.description).not.toBe('');
    expect(relabelOperator.schema.safeParse({ rules: [], nope: 1 }).success).toBe(false);
  });

  it('rewrites series, drops samples of dropped series, keeps batch properties', async () => {
    const { registry, run, counter, self } = setup(rules);
    const a = registry.intern(labelsFromRecord({ __name__: 'up', instance: 'h1:9100' }));
    const d = registry.intern(labelsFromRecord({ __name__: 'debug_x', instance: 'h1:9100' }));
    const b = registry.intern(labelsFromRecord({ __name__: 'up', instance: 'h2:9100' }));
    const metadata = [{ metric: 'up', type: 'gauge', help: '', unit: '' }] as unknown as SampleBatch['metadata'];
    const input = batch([a, d, b, a], [1, 2, 3, 4], AckHandle.none(), { metadata });
    const [out] = await run([input]);
    expect(out.length).toBe(3);
    expect([...out.refs].map((r) => labelsToRecord(registry.labels(r)))).toEqual([
      { __name__: 'up', host: 'h1' },
      { __name__: 'up', host: 'h2' },
      { __name__: 'up', host: 'h1' },
    ]);
    expect([...out.values]).toEqual([1, 3, 4]);
    expect([...out.ts]).toEqual([1000, 1002, 1003]);
    expect(out.tenant).toBe('t1');
    expect(out.ack).toBe(input.ack);
    expect(out.watermark).toBe(500);
    expect(out.metadata).toBe(metadata);
    expect(await counter('sluice_component_received_samples_total', { component: 'clean' })).toBe(4);
    expect(await counter('sluice_component_sent_samples_total', { component: 'clean' })).toBe(3);
    expect(await counter('sluice_component_discarded_samples_total', { reason: 'relabel_dropped' })).toBe(1);
    const histogram = (await self.registry.getMetricsAsJSON()).find((m) => m.name === 'sluice_component_batch_duration_seconds');
    const count = histogram?.values.find((v) => (v as { metricName?: string }).metricName === 'sluice_component_batch_duration_seconds_count');
    expect(count?.value).toBe(1);
  });

  it('relabels each ref once and caches the result (also across batches)', async () => {
    const { registry, run } = setup(rules);
    const refs = Array.from({ length: 3000 }, (_, i) =>
      registry.intern(labelsFromRecord({ __name__: i % 2 ? 'up' : 'debug_y', instance: `h${i}:1` })),
    );
    const labelsSpy = vi.spyOn(registry, 'labels');
    const input = [...refs, ...refs].reverse(); // the largest ref first grows the cache once
    const out = await run([batch(input, input.map(() => 1)), batch(refs, refs.map(() => 2))]);
    const relabelCalls = labelsSpy.mock.calls.length;
    expect(relabelCalls).toBe(refs.length); // one lookup per distinct input ref, never per sample
    expect(out.map((b) => b.length)).toEqual([3000, 1500]);
  });

  it('does not emit a batch whose samples are all dropped, and releases its ack', async () => {
    const { registry, run, counter } = setup(rules);
    const d = registry.intern(labelsFromRecord({ __name__: 'debug_x' }));
    const kept = trackedAck();
    const dropped = trackedAck();
    const a = registry.intern(labelsFromRecord({ __name__: 'up' }));
    const out = await run([batch([d, d, d], [1, 2, 3], dropped.ack), batch([a], [1], kept.ack)]);
    expect(out).toHaveLength(1);
    expect(out[0].ack).toBe(kept.ack);
    expect(dropped.outcomes).toEqual([{ ok: true }]);
    expect(kept.outcomes).toEqual([]); // still owned by downstream
    expect(await counter('sluice_component_discarded_samples_total', { reason: 'relabel_dropped' })).toBe(3);
  });

  it('passes stale NaN and other NaN payloads through bit-exactly', async () => {
    const { registry, run } = setup(rules);
    const a = registry.intern(labelsFromRecord({ __name__: 'up', instance: 'h:1' }));
    const d = registry.intern(labelsFromRecord({ __name__: 'debug_x' }));
    const values = new Float64Array(4);
    values[0] = STALE_NAN;
    values[2] = STALE_NAN;
    new Uint32Array(values.buffer).set([0x00000001, 0x7ff80000], 6); // a non-canonical quiet NaN
    const input: SampleBatch = { ...batch([a, d, a, a], [0, 0, 0, 0]), values };
    const inputAll: SampleBatch = { ...batch([a, a, a, a], [0, 0, 0, 0]), values };
    const [partial, whole] = await run([input, inputAll]);
    expect([...partial.values].map(float64Bits)).toEqual(['7ff0000000000002', '7ff0000000000002', '7ff8000000000001']);
    expect([...whole.values].map(float64Bits)).toEqual([
      '7ff0000000000002',
      '0000000000000000',
      '7ff0000000000002',
      '7ff8000000000001',
    ]);
  });

  it('never mutates the input batch', async () => {
    const { registry, run } = setup(rules);
    const a = registry.intern(labelsFromRecord({ __name__: 'up', instance: 'h:1' }));
    const d = registry.intern(labelsFromRecord({ __name__: 'debug_x' }));
    const input = batch([a, d, a], [1, 2, 0]);
    (input.values as Float64Array)[2] = STALE_NAN; // a typed store keeps the marker's bits
    const before = { refs: [...input.refs], ts: [...input.ts], values: [...input.values].map(float64Bits) };
    const frozen = Object.freeze(input);
    const [out] = await run([frozen]);
    expect({ refs: [...input.refs], ts: [...input.ts], values: [...input.values].map(float64Bits) }).toEqual(before);
    expect(out.refs).not.toBe(input.refs);
    expect(out.values.buffer).not.toBe(input.values.buffer);
  });

  it('handles typed arrays that are views into a larger buffer', async () => {
    const { registry, run } = setup(rules);
    const a = registry.intern(labelsFromRecord({ __name__: 'up' }));
    const d = registry.intern(labelsFromRecord({ __name__: 'debug_x' }));
    const big = new Float64Array([9, 9, 1, 2, 3, 9]);
    const input: SampleBatch = { ...batch([a, d, a], [0, 0, 0]), values: big.subarray(2, 5) };
    const [out] = await run([input]);
    expect([...out.values]).toEqual([1, 3]);
  });

  it('passes an empty batch on (it may carry a watermark)', async () => {
    const { run } = setup(rules);
    const out = await run([batch([], [])]);
    expect(out).toHaveLength(1);
    expect(out[0].length).toBe(0);
    expect(out[0].watermark).toBe(500);
  });
});
