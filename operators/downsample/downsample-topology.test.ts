import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { startNats, type NatsFixture } from '../../test/harness/nats.ts';
import { startTopology, type RunningTopology } from '../../test/harness/topology.ts';
import { eventually } from '../../test/harness/eventually.ts';

const BASE = 1_699_999_800_000; // a 5m boundary
const S = 1000;

function topology(dataDir: string): string {
  return `
data_dir: ${dataDir}
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
    jetstream: { stream: METRICS, durable: sluice }
    allowed_lateness: 0s
operators:
  rollups:
    type: downsample
    inputs: [ingest]
sinks:
  out:
    type: blackhole
    inputs: [rollups]
`;
}

/** Three series of one tenant at time `t` (ms), exposition with explicit timestamps. */
const payload = (t: number, v: number) => ['a', 'b', 'c'].map((s) => `reqs_total{s="${s}"} ${v} ${t}`).join('\n') + '\n';

describe('downsample in a running topology (JetStream -> downsample -> blackhole)', () => {
  let nats: NatsFixture;
  let nc: NatsConnection;
  let topo: RunningTopology | undefined;

  beforeEach(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.server.url });
  });
  afterEach(async () => {
    await topo?.runtime.stop();
    topo = undefined;
    await nc.close();
    await nats.cleanup();
  });

  it('emits 5m rollups when the watermark passes a window, checkpoints at stop, and a restart continues the open window', async () => {
    const dataDir = join(nats.dir, 'data');
    topo = await startTopology(topology(dataDir), nats.server.url);
    const js = jetstream(nc);
    await js.publish('metrics.acme.prom', payload(BASE + 10 * S, 1));
    await js.publish('metrics.acme.prom', payload(BASE + 70 * S, 4));
    await js.publish('metrics.acme.prom', payload(BASE + 310 * S, 9)); // watermark past the first 5m window
    const value = (t: RunningTopology, metric: 'received' | 'sent' | 'discarded' | 'errors', labels: Record<string, string>) => t.value(metric, labels);
    await eventually(async () => (await value(topo!, 'received', { component: 'out' })) === 3, 'three 5m rollups at the sink');
    expect(await value(topo, 'received', { component: 'rollups' })).toBe(9);
    expect(await value(topo, 'sent', { component: 'rollups' })).toBe(3);
    await topo.runtime.stop();
    expect(topo.runtime.error).toBeUndefined();
    expect((await readdir(join(dataDir, 'rollups'))).sort()).toEqual(['snapshot']);

    // A second run over the same data dir: the [5m, 10m) window held the 310s samples.
    topo = await startTopology(topology(dataDir), nats.server.url);
    await js.publish('metrics.acme.prom', payload(BASE + 610 * S, 10));
    await eventually(async () => (await value(topo!, 'received', { component: 'out' })) === 3, 'the continued window closing');
    expect(await value(topo, 'received', { component: 'rollups' })).toBe(3); // only the new samples came in
  });
});
