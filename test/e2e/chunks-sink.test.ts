import { expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { natsPerTest } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const t = natsPerTest();

it('NATS (JetStream) -> chunks: acknowledged once in the WAL; a redelivered message is a counted duplicate; tsdb dump reads it back', async () => {
  const path = join(t.nats.dir, 'chunks');
  const yaml = `
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
    jetstream: { stream: C, durable: d }
sinks:
  recent:
    type: chunks
    inputs: [ingest]
    path: ${path}
    block_duration: 1h
`;
  const topo = await t.startTopology(yaml);
  const js = jetstream(t.nc);
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 30; i++) {
    await js.publish('metrics.acme.prom', `temperature_celsius{room="lab"} ${20 + i / 4} ${t0 + i * 15_000}\nup 1 ${t0 + i * 15_000}\n`);
  }
  await eventually(async () => (await topo.value('sent', { component: 'recent' })) === 60, '60 samples stored');
  const jsm = await jetstreamManager(t.nc);
  await eventually(async () => (await jsm.consumers.info('C', 'd')).num_ack_pending === 0, 'all acknowledged');
  // The same payload again (a publisher retry): stored once, counted as duplicates.
  await js.publish('metrics.acme.prom', `up 1 ${t0}\n`);
  await eventually(async () => (await topo.value('discarded', { component: 'recent', reason: 'duplicate' })) === 1, 'duplicate counted');
  await topo.runtime.stop();

  const dump = spawnSync(join(ROOT, 'bin/sluice'), ['tsdb', 'dump', path, '{__name__="temperature_celsius"}'], { encoding: 'utf8', cwd: ROOT });
  expect(dump.stderr).toBe('');
  const lines = dump.stdout.trim().split('\n');
  expect(lines).toHaveLength(30);
  expect(lines[0]).toBe(`temperature_celsius{room="lab"} 20 ${t0}`);
  expect(lines[29]).toBe(`temperature_celsius{room="lab"} 27.25 ${t0 + 29 * 15_000}`);
  const stats = spawnSync(join(ROOT, 'bin/sluice'), ['tsdb', 'stats', path], { encoding: 'utf8', cwd: ROOT });
  expect(stats.status).toBe(0);
  expect(stats.stdout).toMatch(/series\s+2\n/);
  expect(stats.stdout).toMatch(/samples\s+60\n/);
  expect(stats.stdout).toMatch(/top metrics by series:\n\s+1\s+temperature_celsius\n\s+1\s+up/);
}, 60_000);
