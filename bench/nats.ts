import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connect, headers } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { SelfMetrics } from '../pipelines/self-metrics.ts';
import { ComponentRegistry } from '../pipelines/registry.ts';
import { TopologyRuntime } from '../pipelines/runtime/topology-runtime.ts';
import { compileTopology } from '../pipelines/topology/compile.ts';
import { LocalNatsServer } from '../pipelines/services/nats-server.ts';
import { FORMAT_HEADER, LABELS_HEADER, TIMESTAMP_HEADER } from '../sources/nats/message-routing.ts';
import type { BenchResult } from './bench-context.ts';
import { loadExporterScrapes } from './datasets.ts';

const TOPOLOGY = (url: string, jetstreamBlock: string) => `
api: { enabled: false }
sources:
  ingest:
    type: nats
    url: ${url}
    subject: "metrics.>"
${jetstreamBlock}
operators:
  clean:
    type: relabel
    inputs: [ingest]
    rules:
      - { action: labeldrop, regex: "pod_uid|request_id" }
sinks:
  out:
    type: blackhole
    inputs: [clean]
`;

/**
 * Publish-to-sink throughput through a real nats-server: the recorded scrapes are published as
 * services would (one message per scrape on metrics.bench.prom, target labels in a header) and a
 * topology nats -> relabel -> blackhole consumes them. The clock runs from the first publish until
 * the sink has received every sample, so it covers NATS transport, parsing, relabeling and the
 * runtime; with JetStream it also covers persistence on the server and acknowledgements.
 */
export async function benchNats(options: { rounds?: number } = {}): Promise<BenchResult[]> {
  const rounds = options.rounds ?? 5;
  const scrapes = loadExporterScrapes();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-nats-'));
  const server = await LocalNatsServer.start({ storeDir: join(dir, 'js') });
  const results: BenchResult[] = [];
  try {
    for (const mode of ['core', 'jetstream'] as const) {
      const fetchBatch = 64;
      const block = mode === 'jetstream' ? `    jetstream: { stream: BENCH, durable: bench, fetch_batch: ${fetchBatch} }` : '';
      const compiled = compileTopology(TOPOLOGY(server.url, block), 'bench.yaml', new ComponentRegistry(), {});
      if (!compiled.ok) throw new Error(`bug: bench topology invalid: ${JSON.stringify(compiled.errors)}`);
      const metrics = new SelfMetrics();
      const runtime = new TopologyRuntime(compiled.topology, {
        logger: pino({ level: 'warn' }),
        metrics,
        services: { natsUrl: async () => server.url },
      });
      await runtime.start();
      const nc = await connect({ servers: server.url });
      const js = jetstream(nc);
      const sinkSamples = async () => {
        const got = await metrics.sent.get();
        return got.values.find((v) => v.labels.component === 'out')?.value ?? 0;
      };
      // One warm-up round so parse and relabel caches are filled, as in steady state.
      let expected = 0;
      const publishRound = async (round: number) => {
        const acks: Array<Promise<unknown>> = [];
        for (const scrape of scrapes) {
          const h = headers();
          h.set(FORMAT_HEADER, 'prom');
          h.set(TIMESTAMP_HEADER, String(scrape.t + round * 400_000));
          h.set(LABELS_HEADER, `job=${scrape.job},instance=${scrape.instance}`);
          if (mode === 'jetstream') acks.push(js.publish('metrics.bench.prom', scrape.body, { headers: h }));
          else nc.publish('metrics.bench.prom', scrape.body, { headers: h });
          if (acks.length >= 256) await Promise.all(acks.splice(0));
        }
        await Promise.all(acks);
        await nc.flush();
      };
      const waitFor = async (target: number, timeoutMs = 120_000) => {
        const deadline = Date.now() + timeoutMs;
        while ((await sinkSamples()) < target) {
          if (Date.now() > deadline) throw new Error(`${mode}: sink saw ${await sinkSamples()} of ${target} samples`);
          await new Promise((r) => setTimeout(r, 2));
        }
      };
      await publishRound(0);
      expected = await waitForStable(sinkSamples);
      const perRound = expected;
      const started = performance.now();
      for (let r = 1; r <= rounds; r++) await publishRound(r);
      await waitFor(perRound * (rounds + 1));
      const seconds = (performance.now() - started) / 1000;
      await nc.drain();
      await runtime.stop();
      results.push({
        bench: 'nats',
        metric: 'samples_per_second',
        value: Math.round((perRound * rounds) / seconds),
        unit: 'samples/s',
        mode,
        dataset: 'exporters-400x1s',
        messages: scrapes.length * rounds,
        samples_per_message: Math.round(perRound / scrapes.length),
        ...(mode === 'jetstream' ? { fetch_batch: fetchBatch } : {}),
        max_batch_samples: 50_000,
      });
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

/** Waits until a growing count stops changing for a while; returns it. */
async function waitForStable(read: () => Promise<number>, quietMs = 500): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const now = await read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (now > 0 && Date.now() - since >= quietMs) return now;
    await new Promise((r) => setTimeout(r, 20));
  }
}
