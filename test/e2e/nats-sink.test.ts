import { expect, it } from 'vitest';
import type { Msg } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { parseOpenMetrics } from '../../model/exposition/openmetrics.ts';
import { SeriesKeyCache } from '../../model/exposition/series-key-cache.ts';
import { BatchBuilder } from '../../model/sample-batch.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import { formatLabels } from '../../model/labels.ts';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';

const t = natsPerTest();

it('republishes relabeled batches as OpenMetrics on a per-tenant subject (JetStream-acknowledged)', async () => {
  const topo = await t.startTopology(
    `
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
operators:
  clean:
    type: relabel
    inputs: [ingest]
    rules:
      - { target_label: env, replacement: prod }
sinks:
  again:
    type: nats
    inputs: [clean]
    subject: "clean.{tenant}.{format}"
    format: openmetrics
    jetstream: true
`,
  );
  await (await jetstreamManager(t.nc)).streams.add({ name: 'CLEAN', subjects: ['clean.>'] });
  const received: Msg[] = [];
  const sub = t.nc.subscribe('clean.>', {
    callback: (_e, m) => {
      received.push(m);
    },
  });
  t.nc.publish('metrics.acme.influx', 'cpu,host=a usage=0.5,idle=99i 1700000000000000000\n');
  await t.nc.flush();
  await eventually(() => received.length > 0, 'a republished message');
  sub.unsubscribe();
  const msg = received[0];
  expect(msg.subject).toBe('clean.acme.openmetrics');
  expect(msg.headers?.get('Sluice-Format')).toBe('openmetrics');
  // The payload is valid OpenMetrics: our own parser reads it back without an error.
  const registry = new SeriesRegistry();
  const builder = new BatchBuilder();
  const result = parseOpenMetrics(msg.data, { defaultTimestampMs: 0, exemplars: 'drop' }, { builder, series: new SeriesKeyCache(registry) });
  expect(result.errors).toEqual([]);
  const got = Array.from({ length: builder.length }, (_, i) => `${formatLabels(registry.labels(builder.refs[i]))} ${builder.values[i]} ${builder.ts[i]}`).sort();
  expect(got).toEqual(['cpu_idle{env="prod", host="a"} 99 1700000000000', 'cpu_usage{env="prod", host="a"} 0.5 1700000000000']);
  // Counted once JetStream acknowledged the publish, which may come after the subscriber saw it.
  await eventually(async () => (await topo.value('sent', { component: 'again' })) === 2, 'the sink to count 2 samples sent');
});
