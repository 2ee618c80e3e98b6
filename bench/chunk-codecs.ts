import { constants, brotliCompressSync } from 'node:zlib';
import * as zlib from 'node:zlib';
import type { Chunk } from '../sinks/chunks/chunk.ts';
import { decodeDense, describeDense, encodeDense } from '../sinks/chunks/dense-chunk.ts';
import { decodeXor, newXorAppender } from '../sinks/chunks/xor-chunk.ts';
import type { BenchResult } from './bench-context.ts';
import { loadDatasetSeries } from './dataset-series.ts';

const CHUNK_SAMPLES = 120;
const INTERVAL_STRETCH = 15;

/** The dataset's series with timestamps stretched to a 15 s interval (see dataset-series.ts). */
function loadSeries(): Array<{ ts: Float64Array; values: Float64Array }> {
  const data = loadDatasetSeries(INTERVAL_STRETCH);
  return data.ts.map((ts, i) => ({ ts, values: data.values[i] }));
}

function totalBytes(chunks: readonly Chunk[]): number {
  let n = 0;
  for (const c of chunks) n += c.data.length;
  return n;
}

function concat(chunks: readonly Chunk[]): Uint8Array {
  const out = new Uint8Array(totalBytes(chunks));
  let at = 0;
  for (const c of chunks) {
    out.set(c.data, at);
    at += c.data.length;
  }
  return out;
}

/** Best samples/s of `rounds` timed runs of `run` (which handles `samples` samples), after warm-up. */
function throughput(samples: number, rounds: number, run: () => void): number {
  for (let i = 0; i < 3; i++) run();
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return Math.round(samples / (best / 1000));
}

/**
 * Chunk codec sizes and speeds on the recorded exporter scrapes (15 s spacing, 120-sample
 * chunks): bytes/sample of XOR and DENSE, of DENSE chunks concatenated as a block file holds them
 * and compressed with brotli (and zstd where node:zlib has it), decode samples/s of both codecs
 * and append samples/s of XOR, on one core.
 */
export async function benchChunkCodecs(options: { rounds?: number } = {}): Promise<BenchResult[]> {
  const rounds = options.rounds ?? 7;
  const series = loadSeries();
  let samples = 0;
  for (const s of series) samples += s.ts.length;

  const appendXor = (): Chunk[] => {
    const chunks: Chunk[] = [];
    for (const s of series) {
      for (let start = 0; start < s.ts.length; start += CHUNK_SAMPLES) {
        const end = Math.min(start + CHUNK_SAMPLES, s.ts.length);
        const app = newXorAppender();
        for (let i = start; i < end; i++) app.append(s.ts[i], s.values[i]);
        chunks.push(app.seal());
      }
    }
    return chunks;
  };
  const xorChunks = appendXor();
  const denseChunks: Chunk[] = [];
  const modes = new Map<string, number>();
  let timestampBytes = 0;
  for (const s of series) {
    for (let start = 0; start < s.ts.length; start += CHUNK_SAMPLES) {
      const chunk = encodeDense(s.ts, s.values, start, Math.min(start + CHUNK_SAMPLES, s.ts.length));
      denseChunks.push(chunk);
      const d = describeDense(chunk.data, chunk.numSamples);
      timestampBytes += d.timestampBytes;
      modes.set(`values_${d.values}`, (modes.get(`values_${d.values}`) ?? 0) + 1);
      modes.set(`timestamps_${d.timestamps}`, (modes.get(`timestamps_${d.timestamps}`) ?? 0) + 1);
    }
  }

  const block = concat(denseChunks);
  const brotli = brotliCompressSync(block, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_LGWIN]: 24,
      [constants.BROTLI_PARAM_SIZE_HINT]: block.length,
    },
  });
  const xorBlock = concat(xorChunks);
  const xorBrotli = brotliCompressSync(xorBlock, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24, [constants.BROTLI_PARAM_SIZE_HINT]: xorBlock.length },
  });
  // zstd arrived in node:zlib with Node 22.15 / 23.8; Node 20 has none.
  const zstdCompress = (zlib as unknown as Record<string, unknown>).zstdCompressSync as ((b: Uint8Array) => Uint8Array) | undefined;
  const zstd = zstdCompress ? zstdCompress(block) : undefined;

  const outTs = new Float64Array(CHUNK_SAMPLES);
  const outValues = new Float64Array(CHUNK_SAMPLES);
  let sink = 0;
  const decodeAll = (chunks: readonly Chunk[], decode: typeof decodeXor) => () => {
    for (const c of chunks) decode(c.data, c.numSamples, outTs, outValues, 0);
    sink += outValues[0];
  };
  const denseDecode = throughput(samples, rounds, decodeAll(denseChunks, decodeDense));
  const xorDecode = throughput(samples, rounds, decodeAll(xorChunks, decodeXor));
  const xorAppend = throughput(samples, rounds, () => {
    sink += appendXor().length;
  });
  const denseEncode = throughput(samples, Math.min(rounds, 3), () => {
    for (const s of series) for (let start = 0; start < s.ts.length; start += CHUNK_SAMPLES) encodeDense(s.ts, s.values, start, Math.min(start + CHUNK_SAMPLES, s.ts.length));
  });
  if (Number.isNaN(sink)) sink = 0; // keeps the decoded output observable

  const context = {
    dataset: 'exporters-400x1s',
    interval: '15s',
    chunk_samples: CHUNK_SAMPLES,
    series: series.length,
    samples,
    chunks: denseChunks.length,
  };
  const r = (metric: string, value: number, unit: string, extra: Record<string, string | number | boolean> = {}): BenchResult => ({
    bench: 'chunks',
    metric,
    value,
    unit,
    ...context,
    ...extra,
  });
  const perSample = (bytes: number) => Math.round((bytes / samples) * 1000) / 1000;
  const results: BenchResult[] = [
    r('xor_bytes_per_sample', perSample(totalBytes(xorChunks)), 'bytes'),
    r('xor_brotli_bytes_per_sample', perSample(xorBrotli.length), 'bytes', { compressor: 'brotli q11 lgwin24' }),
    r('dense_bytes_per_sample', perSample(block.length), 'bytes'),
    r('dense_timestamp_bytes_per_sample', perSample(timestampBytes), 'bytes', { note: 'timestamp sections only, uncompressed' }),
    r('dense_value_bytes_per_sample', perSample(block.length - timestampBytes), 'bytes', { note: 'value sections only, uncompressed' }),
    r('dense_brotli_bytes_per_sample', perSample(brotli.length), 'bytes', { compressor: 'brotli q11 lgwin24' }),
    r('dense_decode_samples_per_second', denseDecode, 'samples/s', { rounds }),
    r('xor_decode_samples_per_second', xorDecode, 'samples/s', { rounds }),
    r('xor_append_samples_per_second', xorAppend, 'samples/s', { rounds }),
    r('dense_encode_samples_per_second', denseEncode, 'samples/s', { rounds: Math.min(rounds, 3) }),
  ];
  // Without zstd there is no zstd figure (a NaN would print as null); the brotli one says why.
  if (zstd) results.push(r('dense_zstd_bytes_per_sample', perSample(zstd.length), 'bytes', { compressor: 'zstd' }));
  else for (const res of results) if (res.metric === 'dense_brotli_bytes_per_sample') Object.assign(res, { zstd: `none in node:zlib of Node ${process.versions.node}` });
  for (const [mode, count] of [...modes].sort()) results.push(r(`dense_chunks_${mode}`, count, 'chunks'));
  return results;
}
