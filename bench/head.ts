import v8 from 'node:v8';
import vm from 'node:vm';
import { labelsFromRecord, type Labels } from '../model/labels.ts';
import { LabelMatcher } from '../model/matchers.ts';
import { Head } from '../sinks/chunks/head.ts';
import { HeadQuerier } from '../sinks/chunks/head-querier.ts';
import type { BenchResult } from './bench-context.ts';
import { seededRandom } from './seeded-random.ts';

/**
 * The chunk store's head on one core, on synthetic scrape-like data with a fixed seed: 10,000
 * series (40% counters, 40% gauges, 20% constants) scraped every 15s with occasional millisecond
 * jitter, 240 samples each, appended in batches of 10,000 (one batch per scrape round, the way
 * the chunk sink receives them). Reports:
 * - head_append_samples_per_second: `appendBatch` throughput (median of the measured runs, after
 *   one warm-up run); the WAL is not included;
 * - head_heap_bytes_per_series: heap growth per series after building the head, measured with
 *   heapUsed plus arrayBuffers (chunk bytes above 64 live outside the V8 heap) after a forced
 *   gc when one can be had (`source: "heapUsed+arrayBuffers"`), else the head's own
 *   estimate (`source: "head_accounting"`); the head's estimate is reported beside it;
 * - head_chunk_bytes_per_sample: encoded size;
 * - head_query_samples_per_second: decoding every sample through `HeadQuerier` cursors.
 */
export async function benchHead(options: { series?: number; samplesPerSeries?: number; batchSize?: number; runs?: number; seed?: number } = {}): Promise<BenchResult[]> {
  const seriesCount = options.series ?? 10_000;
  const perSeries = options.samplesPerSeries ?? 240;
  const batchSize = options.batchSize ?? 10_000;
  const runs = options.runs ?? 3;
  const seed = options.seed ?? 42;
  const context = { series: seriesCount, samples_per_series: perSeries, batch: batchSize, seed };

  const data = generate(seriesCount, perSeries, seed);
  const total = data.ids.length;

  // Append throughput: a fresh head per run, the labels registered beforehand.
  const rates: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const head = new Head();
    const ids = new Uint32Array(seriesCount);
    for (let i = 0; i < seriesCount; i++) ids[i] = head.getOrCreate(data.labels[i]).id;
    const started = performance.now();
    appendAll(head, data, batchSize);
    const seconds = (performance.now() - started) / 1000;
    if (run > 0) rates.push(total / seconds);
  }
  rates.sort((a, b) => a - b);
  const appendRate = rates[rates.length >> 1];

  // Memory: heap growth for one head holding everything.
  const gc = obtainGc();
  gc?.();
  gc?.();
  const before = usedBytes();
  const head = new Head();
  for (let i = 0; i < seriesCount; i++) head.getOrCreate(data.labels[i]);
  appendAll(head, data, batchSize);
  gc?.();
  gc?.();
  const after = usedBytes();
  const stats = head.stats();
  const accounted = stats.heapBytes / seriesCount;
  const measured = gc !== null ? (after - before) / seriesCount : accounted;

  // Query decode throughput over every series and the whole range.
  const querier = new HeadQuerier(head);
  const matchers = [new LabelMatcher('=~', '__name__', '.+')];
  const qrates: number[] = [];
  for (let run = 0; run <= runs; run++) {
    const started = performance.now();
    let samples = 0;
    for (const s of querier.select(matchers, -Infinity, Infinity)) {
      const c = s.cursor();
      while (c.next()) samples += c.length;
    }
    const seconds = (performance.now() - started) / 1000;
    if (samples !== total) throw new Error(`bug: the querier returned ${samples} samples of ${total}`);
    if (run > 0) qrates.push(samples / seconds);
  }
  qrates.sort((a, b) => a - b);

  return [
    { bench: 'chunks', metric: 'head_append_samples_per_second', value: Math.round(appendRate), unit: 'samples/s', ...context },
    { bench: 'chunks', metric: 'head_heap_bytes_per_series', value: Math.round(measured), unit: 'bytes', source: gc !== null ? 'heapUsed+arrayBuffers' : 'head_accounting', ...context },
    { bench: 'chunks', metric: 'head_accounted_bytes_per_series', value: Math.round(accounted), unit: 'bytes', ...context },
    { bench: 'chunks', metric: 'head_chunk_bytes_per_sample', value: Math.round((stats.chunkBytes / stats.samples) * 100) / 100, unit: 'bytes', ...context },
    { bench: 'chunks', metric: 'head_query_samples_per_second', value: Math.round(qrates[qrates.length >> 1]), unit: 'samples/s', ...context },
  ];
}

interface BenchData {
  readonly labels: Labels[];
  /** All samples, round by round: round r holds series 0..n-1 at index r * n + i. */
  readonly ids: Uint32Array;
  readonly ts: Float64Array;
  readonly values: Float64Array;
}

function appendAll(head: Head, data: BenchData, batchSize: number): void {
  const counts = { appended: 0, duplicate: 0, conflict: 0, out_of_order: 0, too_old: 0 };
  for (let off = 0; off < data.ids.length; off += batchSize) {
    const n = Math.min(batchSize, data.ids.length - off);
    head.appendBatch(data.ids.subarray(off, off + n), data.ts.subarray(off, off + n), data.values.subarray(off, off + n), n, counts);
    if (counts.appended !== n) throw new Error(`bug: ${n - counts.appended} samples of a batch were not appended`);
  }
}


function generate(n: number, perSeries: number, seed: number): BenchData {
  const rand = seededRandom(seed);
  const labels: Labels[] = [];
  const kind = new Uint8Array(n); // 0 integer counter, 1 float counter, 2 gauge (bytes), 3 gauge (float), 4 constant
  const rate = new Float64Array(n);
  const value = new Float64Array(n);
  const offset = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    const k = r < 0.25 ? 0 : r < 0.4 ? 1 : r < 0.6 ? 2 : r < 0.8 ? 3 : 4;
    kind[i] = k;
    const name = ['http_requests_total', 'process_cpu_seconds_total', 'process_resident_memory_bytes', 'node_load1', 'up'][k];
    labels.push(labelsFromRecord({ __name__: name, job: `job${i % 7}`, instance: `10.0.${(i >> 8) & 255}.${i & 255}:9100`, series: String(i) }));
    rate[i] = k === 0 ? Math.floor(rand() * 50) : rand() * 2;
    value[i] = k === 2 ? 1e8 + Math.floor(rand() * 1e9) : k === 4 ? 1 : rand() * 10;
    offset[i] = Math.floor(rand() * 15_000);
  }
  const total = n * perSeries;
  const ids = new Uint32Array(total);
  const ts = new Float64Array(total);
  const values = new Float64Array(total);
  const start = 1_700_000_000_000;
  for (let round = 0; round < perSeries; round++) {
    for (let i = 0; i < n; i++) {
      const at = round * n + i;
      ids[at] = i;
      // 10% of scrapes land a few ms off the 15s grid, as real scrapes do.
      ts[at] = start + offset[i] + round * 15_000 + (rand() < 0.1 ? Math.floor(rand() * 5) : 0);
      let v = value[i];
      switch (kind[i]) {
        case 0:
          v += Math.floor(rand() * rate[i] * 2);
          break;
        case 1:
          v = Math.round((v + rand() * rate[i]) * 100) / 100;
          break;
        case 2:
          v += Math.floor((rand() - 0.5) * 1e6) * 4096;
          break;
        case 3:
          v = Math.round(Math.abs(v + (rand() - 0.5)) * 100) / 100;
          break;
      }
      value[i] = v;
      values[at] = v;
    }
  }
  return { labels, ids, ts, values };
}

/** Bytes held by JavaScript: the V8 heap plus ArrayBuffer backing stores. */
function usedBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** `global.gc`, or one obtained through V8 flags at run time; null when neither works. */
function obtainGc(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}
