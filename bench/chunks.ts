import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { float64Bits } from '../model/stale-nan.ts';
import { ChunkStore } from '../sinks/chunks/chunk-store.ts';
import type { BenchResult } from './bench-context.ts';
import { benchChunkCodecs } from './chunk-codecs.ts';
import { loadDatasetSeries, scrapeBatches } from './dataset-series.ts';
import { benchHead } from './head.ts';
import { directorySize } from './peers/directory-size.ts';
import { prometheusBlockSize } from './peers/prometheus-tsdb.ts';
import { victoriaMetricsSize } from './peers/victoria-metrics.ts';
import { benchWal } from './wal.ts';

/**
 * The chunk store on the recorded exporter scrapes stretched to a 15 s interval: the samples are
 * appended through the real store (WAL with group commit, head), the head is flushed into blocks
 * and compacted, and the directory is measured on disk; every sample is read back and compared
 * bit for bit. Prometheus's TSDB (promtool-built blocks) and VictoriaMetrics (import, flush,
 * merge) get the same samples in the same run. Also: append and decode throughput on one core,
 * heap per head series, and the codec and WAL figures behind them.
 */
export async function benchChunks(options: { rounds?: number } = {}): Promise<BenchResult[]> {
  const rounds = options.rounds ?? 3;
  const data = loadDatasetSeries(15);
  const batches = scrapeBatches(data);
  const context = { dataset: data.name, interval: `${data.intervalSeconds}s`, series: data.labels.length, samples: data.samples };
  const logger = pino({ level: 'silent' });
  const labelsOf = (ref: number) => data.labels[ref];
  const results: BenchResult[] = [];

  let bestAppend = 0;
  let dir = '';
  let store: ChunkStore | undefined;
  for (let r = 0; r < rounds; r++) {
    if (store) await store.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = mkdtempSync(join(tmpdir(), 'sluice-bench-chunks-'));
    store = await ChunkStore.open(dir, { logger, fsync: 'batch' });
    const started = performance.now();
    for (const b of batches) await store.append(b.refs, labelsOf, b.ts, b.values, b.refs.length);
    bestAppend = Math.max(bestAppend, data.samples / ((performance.now() - started) / 1000));
  }
  try {
    await store!.flushHead();
    const bytes = directorySize(dir);
    const blockBytes = directorySize(join(dir, 'blocks'));
    const stats = store!.stats();

    // Read everything back: bit-exact check, and decode throughput through the querier.
    const expected = new Map(data.labels.map((l, i) => [l.join('\u0000'), i]));
    let mismatches = 0;
    let read = 0;
    let bestDecode = 0;
    for (let r = 0; r < rounds + 2; r++) {
      const q = store!.querier(-Infinity, Infinity);
      const set = await q.select([], -Infinity, Infinity);
      const started = performance.now();
      let n = 0;
      for (const s of set.series) {
        const c = s.cursor();
        while (c.next()) n += c.length;
      }
      const seconds = (performance.now() - started) / 1000;
      if (r >= 2) bestDecode = Math.max(bestDecode, n / seconds);
      if (r === 0) {
        for (const s of set.series) {
          const i = expected.get(s.labels.join('\u0000'));
          const c = s.cursor();
          let k = 0;
          while (c.next()) {
            for (let j = 0; j < c.length; j++, k++) {
              if (i === undefined || c.ts[j] !== data.ts[i][k] || float64Bits(c.values[j]) !== float64Bits(data.values[i][k])) mismatches++;
            }
          }
          read += k;
        }
      }
      q.close();
    }
    const lossless = mismatches === 0 && read === data.samples;
    results.push(
      {
        bench: 'chunks',
        metric: 'bytes_per_sample',
        value: round3(bytes / data.samples),
        unit: 'bytes',
        ...context,
        bytes,
        block_bytes_per_sample: round3(blockBytes / data.samples),
        blocks: stats.blocks,
        lossless,
        samples_read_back: read,
      },
      { bench: 'chunks', metric: 'append_samples_per_second', value: Math.round(bestAppend), unit: 'samples/s', ...context, wal_fsync: 'batch', batches: batches.length },
      { bench: 'chunks', metric: 'decode_samples_per_second', value: Math.round(bestDecode), unit: 'samples/s', ...context, path: 'store querier over blocks' },
    );
  } finally {
    await store!.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const prom = prometheusBlockSize(data);
  results.push(
    'unavailable' in prom
      ? { bench: 'chunks', metric: 'bytes_per_sample', value: -1, unit: 'bytes', peer: 'prometheus', skipped: prom.unavailable, ...context }
      : { bench: 'chunks', metric: 'bytes_per_sample', value: round3(prom.totalBytes / data.samples), unit: 'bytes', peer: 'prometheus', version: prom.version, chunk_bytes_per_sample: round3(prom.dataBytes / data.samples), ...context },
  );
  const vm = await victoriaMetricsSize(data);
  results.push(
    'unavailable' in vm
      ? { bench: 'chunks', metric: 'bytes_per_sample', value: -1, unit: 'bytes', peer: 'victoriametrics', skipped: vm.unavailable, ...context }
      : { bench: 'chunks', metric: 'bytes_per_sample', value: round3(vm.totalBytes / data.samples), unit: 'bytes', peer: 'victoriametrics', version: vm.version, data_bytes_per_sample: round3(vm.dataBytes / data.samples), ...context },
  );

  const head = await benchHead();
  const heap = head.find((r) => r.metric === 'head_heap_bytes_per_series');
  if (heap) results.push({ ...heap, metric: 'heap_bytes_per_series' });
  results.push(...head.filter((r) => r !== heap));
  results.push(...(await benchChunkCodecs()).filter((r) => !r.metric.startsWith('dense_chunks_')));
  results.push(...(await benchWal()));
  return results;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
