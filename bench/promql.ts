import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { labelsFromRecord, type Labels } from '../model/labels.ts';
import { formatLabelBraces } from '../model/exposition/writers/common.ts';
import { formatSeconds } from '../model/exposition/writers/openmetrics-writer.ts';
import { freePort } from '../pipelines/services/free-port.ts';
import { ChunkStore } from '../sinks/chunks/chunk-store.ts';
import type { BenchResult } from './bench-context.ts';
import { startPrometheusOverFile } from './peers/prometheus-server.ts';
import { seededRandom } from './seeded-random.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const QUERIES = ['sum by (job) (rate(m[5m]))', 'histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))'];
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
const INTERVAL_MS = 15_000;
const SPAN_MS = 3600_000 + 10 * 60_000; // the hour queried, plus the first window before it

/**
 * Generates the benchmark data: 10,000 counter series `m{job, instance}` (10 jobs x 1,000
 * instances) and 10,000 histogram bucket series `h_bucket{instance, le}` (1,000 instances x 10
 * buckets), one sample per 15 s over 70 minutes, seeded. Samples go into a sluice chunk store and,
 * as OpenMetrics streamed to disk, into Prometheus blocks.
 */
export async function generateBenchData(storeDir: string, omPath: string, t0: number): Promise<number> {
  const random = seededRandom(1234);
  const series: Array<{ labels: Labels; text: string; rate: number; value: number }> = [];
  for (let j = 0; j < 10; j++) {
    for (let i = 0; i < 1000; i++) {
      const labels = labelsFromRecord({ __name__: 'm', job: `job-${j}`, instance: `host-${i}:9100` });
      // Counters count events: whole numbers, as real request and byte counters are.
      series.push({ labels, text: `m${formatLabelBraces(labels)}`, rate: 1 + random() * 100, value: Math.floor(random() * 1000) });
    }
  }
  for (let i = 0; i < 1000; i++) {
    const perSecond = 1 + random() * 50;
    let cumulativeShare = 0;
    for (const le of BUCKETS) {
      cumulativeShare = le === '+Inf' ? 1 : Math.min(1, cumulativeShare + random() * 0.3);
      const labels = labelsFromRecord({ __name__: 'h_bucket', instance: `host-${i}:9100`, le });
      series.push({ labels, text: `h_bucket${formatLabelBraces(labels)}`, rate: perSecond * cumulativeShare, value: 0 });
    }
  }
  const store = await ChunkStore.open(storeDir, { logger: pino({ level: 'silent' }), fsync: 'never' });
  const out = createWriteStream(omPath);
  const write = (chunk: string) => (out.write(chunk) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  const refs = Uint32Array.from(series.keys());
  const labelsOf = (ref: number) => series[ref].labels;
  let samples = 0;
  // OpenMetrics wants each series' samples together: write per series, append per timestamp.
  const steps = Math.floor(SPAN_MS / INTERVAL_MS) + 1;
  const valuesByStep: Float64Array[] = [];
  for (let k = 0; k < steps; k++) {
    const values = new Float64Array(series.length);
    series.forEach((s, i) => {
      s.value += Math.round(s.rate * (INTERVAL_MS / 1000));
      values[i] = s.value;
    });
    valuesByStep.push(values);
    await store.append(refs, labelsOf, new Float64Array(series.length).fill(t0 + k * INTERVAL_MS), values, series.length);
    samples += series.length;
  }
  await store.flushHead();
  await store.close();
  for (let i = 0; i < series.length; i++) {
    let text = '';
    for (let k = 0; k < steps; k++) text += `${series[i].text} ${valuesByStep[k][i]} ${formatSeconds(t0 + k * INTERVAL_MS)}\n`;
    await write(text);
  }
  await write('# EOF\n');
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return samples;
}

async function timeQueries(base: string, start: number, end: number, runs: number): Promise<Map<string, number[]>> {
  const times = new Map<string, number[]>();
  for (const query of QUERIES) {
    const body = new URLSearchParams({ query, start: String(start / 1000), end: String(end / 1000), step: '15' });
    const one = async () => {
      const started = performance.now();
      const res = await fetch(`${base}/api/v1/query_range`, { method: 'POST', body });
      const json = (await res.json()) as { status: string; error?: string };
      if (json.status !== 'success') throw new Error(`${base}: ${query}: ${json.error}`);
      return (performance.now() - started) / 1000;
    };
    for (let i = 0; i < 3; i++) await one(); // warm-up
    const list: number[] = [];
    for (let i = 0; i < runs; i++) list.push(await one());
    times.set(query, list.sort((a, b) => a - b));
  }
  return times;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

/**
 * Range queries of one hour at a 15 s step over 10,000 series, through each system's HTTP API:
 * `sluice serve` over the chunk store, and Debian's Prometheus over promtool-built blocks of the
 * same samples, in the same run. p50 and p99 latency per query over `runs` runs.
 */
export async function benchPromql(options: { runs?: number } = {}): Promise<BenchResult[]> {
  const runs = options.runs ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-promql-'));
  const t0 = Date.UTC(2026, 0, 1);
  const results: BenchResult[] = [];
  try {
    const samples = await generateBenchData(join(dir, 'sluice'), join(dir, 'input.om'), t0);
    const start = t0 + 10 * 60_000;
    const end = start + 3600_000;
    const context = { series: 20_000, samples, range: '1h', step: '15s', runs };
    const port = await freePort();
    const child = spawn(join(ROOT, 'bin/sluice'), ['serve', '--tsdb', join(dir, 'sluice'), '--listen', `127.0.0.1:${port}`], { cwd: ROOT, stdio: 'ignore' });
    try {
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        try {
          if ((await fetch(`${base}/-/ready`)).ok) break;
        } catch {
          // starting
        }
        if (i > 600) throw new Error('sluice serve did not become ready');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [query, times] of await timeQueries(base, start, end, runs)) {
        results.push({ bench: 'promql', metric: 'p50_seconds', value: percentile(times, 0.5), unit: 's', query, ...context });
        results.push({ bench: 'promql', metric: 'p99_seconds', value: percentile(times, 0.99), unit: 's', query, ...context });
      }
    } finally {
      child.kill('SIGTERM');
    }
    const prom = await startPrometheusOverFile(join(dir, 'prometheus'), join(dir, 'input.om'));
    if (!prom) {
      for (const query of QUERIES) results.push({ bench: 'promql', metric: 'p50_seconds', value: -1, unit: 's', query, peer: 'prometheus', skipped: 'prometheus not installed' });
    } else {
      try {
        const sluiceP50 = new Map(results.filter((r) => r.metric === 'p50_seconds').map((r) => [r.query as string, r.value]));
        for (const [query, times] of await timeQueries(prom.url, start, end, runs)) {
          const p50 = percentile(times, 0.5);
          results.push({ bench: 'promql', metric: 'p50_seconds', value: p50, unit: 's', query, peer: 'prometheus', version: prom.version, ...context, sluice_ratio: Number(((sluiceP50.get(query) ?? NaN) / p50).toFixed(3)) });
          results.push({ bench: 'promql', metric: 'p99_seconds', value: percentile(times, 0.99), unit: 's', query, peer: 'prometheus', version: prom.version, ...context });
        }
      } finally {
        await prom.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}
