import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNats, type NatsFixture } from '../harness/nats.ts';
import { startTopology, type RunningTopology } from '../harness/topology.ts';
import { eventually } from '../harness/eventually.ts';

interface Line {
  tenant: string;
  labels: Record<string, string>;
  timestamp: number;
  value: number | string;
}

function readLines(path: string): Line[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
}

function pipeline(opts: { out: string; jetstream?: string; rules?: string }): string {
  return `
api: { enabled: false }
sources:
  ingest:
    type: nats
    subject: "metrics.>"
${opts.jetstream ? `    jetstream: ${opts.jetstream}` : ''}
operators:
  clean:
    type: relabel
    inputs: [ingest]
    rules:
${opts.rules ?? `      - { action: labeldrop, regex: "request_id" }
      - { source_labels: [__name__], regex: "(.*)_total", target_label: family, replacement: "$1" }`}
sinks:
  out:
    type: file
    inputs: [clean]
    path: ${opts.out}
`;
}

/** One exposition payload; sample values carry `seq` so every message's samples are identifiable. */
function payload(seq: number): string {
  return [
    '# TYPE http_requests_total counter',
    `http_requests_total{code="200",request_id="r${seq}"} ${seq}`,
    `http_requests_total{code="500"} ${seq + 0.5}`,
    '# TYPE temperature gauge',
    `temperature{room="a b \\"c\\""} -${seq}`,
  ].join('\n') + '\n';
}

describe('NATS -> relabel -> file, against a real nats-server', () => {
  let nats: NatsFixture;
  let nc: NatsConnection;
  let topo: RunningTopology | undefined;

  beforeEach(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  });

  afterEach(async () => {
    await topo?.runtime.stop();
    topo = undefined;
    if (!nc.isClosed()) await nc.close();
    await nats.cleanup();
  });

  it('ingests metrics.acme.prom through relabel into the file sink; a malformed line is counted and the rest kept', async () => {
    const out = join(nats.dir, 'out.jsonl');
    topo = await startTopology(pipeline({ out }), nats.server.url);
    const h = headers();
    h.set('Sluice-Timestamp', '1700000000000');
    nc.publish('metrics.acme.prom', payload(1), { headers: h });
    nc.publish('metrics.acme.prom', 'good_metric 1\nbad metric{ 2\nother_good{a="x"} 3 1700000005000\n', { headers: h });
    await nc.flush();

    const lines = await eventually(() => (readLines(out).length >= 5 ? readLines(out) : undefined), '5 samples in the file');
    expect(lines).toHaveLength(5);
    const byName = (name: string) => lines.filter((l) => l.labels.__name__ === name);
    expect(byName('http_requests_total')).toEqual([
      { tenant: 'acme', labels: { __name__: 'http_requests_total', code: '200', family: 'http_requests' }, timestamp: 1700000000000, value: 1 },
      { tenant: 'acme', labels: { __name__: 'http_requests_total', code: '500', family: 'http_requests' }, timestamp: 1700000000000, value: 1.5 },
    ]);
    expect(byName('temperature')[0].labels.room).toBe('a b "c"');
    expect(byName('good_metric')[0].value).toBe(1);
    expect(byName('other_good')[0]).toMatchObject({ timestamp: 1700000005000, value: 3 });
    expect(await topo.value('errors', { component: 'ingest' })).toBeGreaterThanOrEqual(1);
    expect(await topo.value('received', { component: 'ingest' })).toBe(5);
    // The lines can be read before the sink's fsync resolves and it counts them as sent.
    await eventually(async () => (await topo!.value('sent', { component: 'out' })) === 5, 'the sink to count 5 samples sent');
  });

  it('JetStream: a batch whose sink write fails is redelivered and lands once the sink recovers', async () => {
    const missing = join(nats.dir, 'not-yet');
    const out = join(missing, 'out.jsonl');
    topo = await startTopology(pipeline({ out, jetstream: '{ stream: M, durable: d, max_deliver: 100, ack_wait: 2s }' }), nats.server.url);
    const js = jetstream(nc);
    for (let seq = 1; seq <= 20; seq++) await js.publish('metrics.acme.prom', payload(seq));
    await eventually(async () => (await topo!.value('errors', { component: 'out', reason: 'write_failed' })) >= 2, 'failed writes');
    expect(readLines(out)).toHaveLength(0);
    mkdirSync(missing);
    const lines = await eventually(() => (readLines(out).length >= 60 ? readLines(out) : undefined), 'all 60 samples');
    // At-least-once: every sample of every message is there; nothing is lost.
    const seqs = new Set(lines.filter((l) => l.labels.code === '500').map((l) => Number(l.value) - 0.5));
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await eventually(async () => (await jetstreamManager(nc)).consumers.info('M', 'd').then((i) => i.num_ack_pending === 0 && i.num_pending === 0), 'all acked');
  });

  it('JetStream: a message that keeps failing is terminated after max_deliver and does not block the stream', async () => {
    const missing = join(nats.dir, 'later');
    const out = join(missing, 'out.jsonl');
    topo = await startTopology(pipeline({ out, jetstream: '{ stream: P, durable: d, max_deliver: 2, ack_wait: 1s }' }), nats.server.url);
    const js = jetstream(nc);
    await js.publish('metrics.acme.prom', payload(1));
    await eventually(async () => (await topo!.value('errors', { component: 'ingest', reason: 'poison_message' })) >= 1, 'poison counted', 30_000);
    // A payload with nothing parseable is terminated at once: redelivery could never help.
    await js.publish('metrics.acme.prom', 'not exposition text at all {{{\n');
    await eventually(async () => (await topo!.value('errors', { component: 'ingest', reason: 'message_terminated' })) >= 1, 'unparseable terminated');
    mkdirSync(missing);
    await js.publish('metrics.acme.prom', payload(7));
    const lines = await eventually(() => (readLines(out).length >= 3 ? readLines(out) : undefined), 'later message delivered');
    expect(lines.every((l) => l.labels.code !== '500' || l.value === 7.5)).toBe(true);
  });

  it('JetStream: a nats-server restart mid-stream loses nothing the server acknowledged', async () => {
    const out = join(nats.dir, 'out.jsonl');
    topo = await startTopology(pipeline({ out, jetstream: '{ stream: R, durable: d, ack_wait: 2s }' }), nats.server.url);
    const js = jetstream(nc);
    const acked: number[] = [];
    const publish = async (seq: number) => {
      for (;;) {
        try {
          await js.publish('metrics.acme.prom', payload(seq), { timeout: 1000 });
          acked.push(seq);
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 100)); // server down: publish again once it is back
        }
      }
    };
    for (let seq = 1; seq <= 50; seq++) await publish(seq);
    await nats.server.stop('SIGKILL');
    const restarting = new Promise((r) => setTimeout(r, 500)).then(() => nats.server.restart());
    for (let seq = 51; seq <= 100; seq++) await publish(seq);
    await restarting;
    const lines = await eventually(() => {
      const got = readLines(out);
      const seqs = new Set(got.filter((l) => l.labels.code === '500').map((l) => Number(l.value) - 0.5));
      return seqs.size >= acked.length ? seqs : undefined;
    }, 'every acknowledged message in the file', 60_000);
    for (const seq of acked) expect(lines.has(seq)).toBe(true);
    expect(acked).toHaveLength(100);
  }, 90_000);
});
