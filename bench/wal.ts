import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelsFromRecord } from '../model/labels.ts';
import { STALE_NAN } from '../model/stale-nan.ts';
import { appendRecord, ByteWriter, type SamplesRecord, type SeriesEntry } from '../sinks/chunks/wal/records.ts';
import { WriteAheadLog } from '../sinks/chunks/wal/wal.ts';
import type { BenchResult } from './bench-context.ts';
import { seededRandom } from './seeded-random.ts';

const SERIES = 2_000;
const BATCH = 10_000;
const SCRAPE_INTERVAL_MS = 15_000;
const T0 = 1_700_000_000_000;


/**
 * Batches as the chunk sink receives them: each batch is five scrapes of the same 2,000 series
 * (refs in registry order, one timestamp per scrape). Half the series are counters (integers
 * growing), half gauges (arbitrary doubles); one sample in a thousand is a stale marker.
 */
function makeBatches(count: number): SamplesRecord[] {
  const random = seededRandom(0x5eed);
  const counters = new Float64Array(SERIES);
  const batches: SamplesRecord[] = [];
  let scrape = 0;
  for (let b = 0; b < count; b++) {
    const refs = new Uint32Array(BATCH);
    const ts = new Float64Array(BATCH);
    const values = new Float64Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      const ref = i % SERIES;
      if (ref === 0 && i > 0) scrape++;
      refs[i] = ref + 1;
      ts[i] = T0 + scrape * SCRAPE_INTERVAL_MS + Math.floor(random() * 20);
      if (random() < 0.001) values[i] = STALE_NAN;
      else if (ref % 2 === 0) values[i] = counters[ref] += Math.floor(random() * 100);
      else values[i] = random() * 1000;
    }
    scrape++;
    batches.push({ kind: 'samples', refs, ts, values });
  }
  return batches;
}

function seriesEntries(): SeriesEntry[] {
  return Array.from({ length: SERIES }, (_, i) => ({
    ref: i + 1,
    labels: labelsFromRecord({ __name__: `bench_metric_${i % 50}`, instance: `host-${i % 40}:9100`, job: 'node' }),
  }));
}

/**
 * WAL throughput on one core with fixed inputs: encoding alone, appending with fsync 'batch'
 * (one batch in flight, as a sink awaiting each ack, and four in flight, as a sink with credit
 * for several), and replaying what was appended. The temp directory sits on the machine's
 * default temp file system, so the fsync figures depend on that disk.
 */
export async function benchWal(options: { batches?: number } = {}): Promise<BenchResult[]> {
  const count = options.batches ?? 200;
  const batches = makeBatches(count);
  const samples = count * BATCH;
  const context = { fsync: 'batch', batch_samples: BATCH, series: SERIES } as const;
  const results: BenchResult[] = [];

  // Encoding alone: the CPU cost log() adds before any I/O.
  const w = new ByteWriter(1024 * 1024);
  let bytes = 0;
  for (let round = 0; round < 2; round++) {
    const started = performance.now();
    bytes = 0;
    for (const b of batches) {
      w.reset();
      bytes += appendRecord(w, b);
    }
    const seconds = (performance.now() - started) / 1000;
    if (round === 1) {
      results.push({ bench: 'chunks', metric: 'wal_encode_samples_per_second', value: Math.round(samples / seconds), unit: 'samples/s', batch_samples: BATCH });
    }
  }
  results.push({ bench: 'chunks', metric: 'wal_bytes_per_sample', value: Number((bytes / samples).toFixed(3)), unit: 'bytes', batch_samples: BATCH });

  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-wal-'));
  try {
    for (const inFlight of [1, 4]) {
      const runDir = join(dir, `in-flight-${inFlight}`);
      const wal = await WriteAheadLog.open(runDir, { fsync: 'batch' });
      await wal.log([{ kind: 'series', series: seriesEntries() }]);
      const fsyncsBefore = wal.stats().fsyncs;
      const started = performance.now();
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < batches.length) await wal.log([batches[next++]]);
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
      const seconds = (performance.now() - started) / 1000;
      const fsyncs = wal.stats().fsyncs - fsyncsBefore;
      await wal.close();
      results.push({
        bench: 'chunks',
        metric: 'wal_append_samples_per_second',
        value: Math.round(samples / seconds),
        unit: 'samples/s',
        ...context,
        in_flight: inFlight,
        fsyncs,
      });

      if (inFlight === 1) {
        const reader = await WriteAheadLog.open(runDir);
        let replayed = 0;
        const t = performance.now();
        await reader.replay((r) => {
          if (r.kind === 'samples') replayed += r.refs.length;
        });
        const replaySeconds = (performance.now() - t) / 1000;
        await reader.close();
        if (replayed !== samples) throw new Error(`bug: replayed ${replayed} samples of ${samples}`);
        results.push({ bench: 'chunks', metric: 'wal_replay_samples_per_second', value: Math.round(samples / replaySeconds), unit: 'samples/s', batch_samples: BATCH });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
