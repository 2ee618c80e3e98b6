import { afterEach, beforeEach, expect, it } from 'vitest';
import { connect, type NatsConnection, type Msg } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { parseOpenMetrics } from '../../model/exposition/openmetrics.ts';
import { SeriesKeyCache } from '../../model/exposition/series-key-cache.ts';
import { BatchBuilder } from '../../model/sample-batch.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import { formatLabels } from '../../model/labels.ts';
import { startNats, type NatsFixture } from '../harness/nats.ts';
import { startTopology, type RunningTopology } from '../harness/topology.ts';
import { eventually } from '../harness/eventually.ts';

let nats: NatsFixture;
let nc: NatsConnection;
let topo: RunningTopology | undefined;

beforeEach(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.server.url });
});

afterEach(async () => {
  await topo?.runtime.stop();
  await nc.close();
  await nats.cleanup();
});

it('republishes relabeled batches as OpenMetrics on a per-tenant subject (JetStream-acknowledged)', async () => {
  topo = await startTopology(
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
    nats.server.url,
  );
  await (await jetstreamManager(nc)).streams.add({ name: 'CLEAN', subjects: ['clean.>'] });
  const received: Msg[] = [];
  const sub = nc.subscribe('clean.>', {
    callback: (_e, m) => {
      received.push(m);
    },
  });
  nc.publish('metrics.acme.influx', 'cpu,host=a usage=0.5,idle=99i 1700000000000000000\n');
  await nc.flush();
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
  await eventually(async () => (await topo!.value('sent', { component: 'again' })) === 2, 'the sink to count 2 samples sent');
});
