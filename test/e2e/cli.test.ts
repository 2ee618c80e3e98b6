import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { freePort } from '../../pipelines/services/free-port.ts';
import { startNats, type NatsFixture } from '../harness/nats.ts';
import { eventually } from '../harness/eventually.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SLUICE = join(ROOT, 'bin/sluice');

function sluice(args: string[], env: Record<string, string> = {}) {
  return spawnSync(SLUICE, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
}

describe('sluice check', () => {
  it('accepts the default topology', () => {
    const r = sluice(['check', 'topology.yaml']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/topology\.yaml: ok \(1 sources, 2 operators, 2 sinks\)/);
    expect(r.status).toBe(0);
  });

  it('lists every error of a broken topology as file:line:col: message, and exits 1', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sluice-check-')), 'broken.yaml');
    writeFileSync(
      file,
      [
        'sources:',
        '  ingest:',
        '    type: natz',
        'operators:',
        '  clean:',
        '    type: relabel',
        '    inputs: [ingest]',
        '    rules:',
        '      - { action: replace, regex: "(" , target_label: x }',
        '    colour: blue',
        'sinks:',
        '  out:',
        '    type: file',
        '    inputs: [clen]',
        '    path: /tmp/x',
        '',
      ].join('\n'),
    );
    const r = sluice(['check', file]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    const located = lines.filter((l) => l.startsWith(`${file}:`));
    expect(located.length).toBeGreaterThanOrEqual(4);
    expect(r.stderr).toMatch(new RegExp(`${file}:3:\\d+: .*natz.*nats`));
    expect(r.stderr).toMatch(new RegExp(`${file}:9:\\d+: .*regex`));
    expect(r.stderr).toMatch(new RegExp(`${file}:10:\\d+: .*colour`));
    expect(r.stderr).toMatch(new RegExp(`${file}:14:\\d+: .*clen.*clean`));
  });
});

describe('sluice run', () => {
  let nats: NatsFixture;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats.cleanup();
  });

  it('runs a topology, serves /metrics, and drains on SIGTERM with every acknowledged sample written', async () => {
    const port = await freePort();
    const out = join(nats.dir, 'samples.jsonl');
    const file = join(nats.dir, 'topology.yaml');
    writeFileSync(
      file,
      `data_dir: ${join(nats.dir, 'data')}
api: { listen: "127.0.0.1:${port}" }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
    jetstream: { stream: CLI, durable: cli }
sinks:
  out:
    type: file
    inputs: [ingest]
    path: ${out}
`,
    );
    const child = spawn(SLUICE, ['run', file], { cwd: ROOT, env: { ...process.env, NATS_URL: nats.server.url }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/-/ready`)).status === 200, 'ready', 30_000);
      const nc = await connect({ servers: nats.server.url });
      const js = jetstream(nc);
      for (let i = 0; i < 100; i++) await js.publish('metrics.cli.prom', `requests_total{i="${i}"} ${i}\n`);
      await nc.close();
      const metrics = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /sluice_component_sent_samples_total\{component="out",type="file"\} 100/.test(text) ? text : undefined;
      }, 'sink sent 100 samples', 30_000);
      expect(metrics).toMatch(/sluice_component_received_samples_total\{component="ingest",type="nats"\} 100/);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const lines = readFileSync(out, 'utf8').trim().split('\n');
      expect(new Set(lines.map((l) => JSON.parse(l).labels.i)).size).toBe(100);
      expect(stderr).toMatch(/drained/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});
