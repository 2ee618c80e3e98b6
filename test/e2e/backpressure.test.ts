import { expect, it } from 'vitest';
import { z } from 'zod';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { SampleBatch } from '../../model/sample-batch.ts';
import type { SinkComponent } from '../../pipelines/component.ts';
import { COMPONENTS, ComponentRegistry } from '../../pipelines/registry.ts';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';

/** A sink whose writes complete only when the test lets them: a stand-in for a slow database. */
function heldSink() {
  const held: Array<{ batch: SampleBatch; release: () => void }> = [];
  const component: SinkComponent<Record<string, never>> = {
    kind: 'sink',
  accepts: ['samples'],
    type: 'held',
    description: 'test sink whose writes wait for the test',
    schema: z.strictObject({}),
    build: () => ({
      // Writes run concurrently, so every batch the source lets through shows up here at once.
      concurrency: 16,
      start: async () => {},
      write: (batch) => new Promise<void>((release) => held.push({ batch, release })),
      close: async () => {},
    }),
  };
  return { component, held };
}

const t = natsPerTest();

it('a slow sink holds the source to max_in_flight unacknowledged batches (plus fetch_batch asked ahead); JetStream keeps the rest', async () => {
  const sink = heldSink();
  const registry = new ComponentRegistry([...COMPONENTS, sink.component]);
  const topo = await t.startTopology(
    `
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
    max_in_flight: 2
    jetstream: { stream: B, durable: d, fetch_batch: 1, ack_wait: 30s }
sinks:
  slow:
    type: held
    inputs: [ingest]
`,
    registry,
  );
  const js = jetstream(t.nc);
  for (let i = 0; i < 10; i++) await js.publish('metrics.t.prom', `m ${i}\n`);
  await eventually(() => sink.held.length === 2, 'two writes under way');
  await new Promise((r) => setTimeout(r, 1500)); // time enough to pull more, were it allowed to
  expect(sink.held.length).toBe(2);
  const jsm = await jetstreamManager(t.nc);
  // Outstanding at the server: the two batches under way plus at most fetch_batch (1) message
  // the client has asked for ahead; the other seven stay in the stream.
  expect((await jsm.consumers.info('B', 'd')).num_ack_pending).toBeLessThanOrEqual(3);
  expect((await jsm.consumers.info('B', 'd')).num_pending).toBeGreaterThanOrEqual(7);

  // Releasing writes lets the source pull again, two at a time, until all ten are through.
  let released = 0;
  while (released < 10) {
    await eventually(() => sink.held.length > released, `write ${released + 1}`);
    sink.held[released++].release();
  }
  await eventually(async () => (await jsm.consumers.info('B', 'd')).num_ack_pending === 0, 'all acknowledged');
  const values = sink.held.map((h) => h.batch.values[0]).sort((a, b) => a - b);
  expect(values).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await topo.runtime.stop();
});
