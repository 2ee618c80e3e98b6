import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Labels } from '../../../model/labels.ts';
import { encodeDense } from '../dense-chunk.ts';
import type { BlockMeta } from './block-meta.ts';
import { ChunkFileWriter, type ChunkRef } from './chunk-file.ts';
import { writeIndex, type ChunkMeta, type IndexedSeries } from './index-file.ts';
import { newUlid } from './ulid.ts';

/** One series' samples for a block: sorted by time, within the block's range. */
export interface BlockSeries {
  readonly labels: Labels;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
}

export interface BlockWriteOptions {
  readonly minTime: number;
  /** Exclusive. */
  readonly maxTime: number;
  readonly level?: number;
  readonly sources?: readonly string[];
  /** Samples per sealed chunk, at most. */
  readonly maxChunkSamples?: number;
}

export const DEFAULT_MAX_CHUNK_SAMPLES = 480;

/** FNV-1a over a timestamp column's values, to order chunks so equal columns sit together. */
function timestampColumnHash(ts: Float64Array, length: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i++) {
    const t = ts[i];
    h = Math.imul(h ^ (t % 0x100000000), 0x01000193);
    h = Math.imul(h ^ Math.floor(t / 0x100000000), 0x01000193);
  }
  return (h ^ length) >>> 0;
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes an immutable block under `parentDir` and returns its meta. Every series' samples are
 * re-encoded with the sealed-chunk codec (DENSE) in chunks of at most `maxChunkSamples`.
 *
 * Chunks go into the chunk file grouped by their timestamp column: every series of one scrape
 * target shares its timestamps, so neighbouring chunks repeat those bytes and the segment
 * compressor stores them about once. The index lists series in label order with refs into that
 * file. The block is built in `<ulid>.tmp`, fsynced, and renamed into place, so a crash never
 * leaves a half-written block that looks complete.
 */
export async function writeBlock(parentDir: string, series: readonly BlockSeries[], options: BlockWriteOptions): Promise<BlockMeta> {
  const ulid = newUlid();
  const tmp = join(parentDir, `${ulid}.tmp`);
  const final = join(parentDir, ulid);
  const maxChunkSamples = options.maxChunkSamples ?? DEFAULT_MAX_CHUNK_SAMPLES;
  await mkdir(tmp, { recursive: true });
  try {
    const sorted = series.filter((s) => s.length > 0).sort((a, b) => compareFlat(a.labels, b.labels));
    const fileOrder = sorted
      .map((s, id) => ({ id, hash: timestampColumnHash(s.ts, s.length) }))
      .sort((a, b) => a.hash - b.hash || a.id - b.id);
    const chunkFile = await ChunkFileWriter.create(join(tmp, 'chunks'));
    const metas: ChunkMeta[][] = sorted.map(() => []);
    let numChunks = 0;
    let numSamples = 0;
    let chunkBytes: number;
    try {
      for (const { id } of fileOrder) {
        const s = sorted[id];
        for (let start = 0; start < s.length; start += maxChunkSamples) {
          const end = Math.min(s.length, start + maxChunkSamples);
          const chunk = encodeDense(s.ts, s.values, start, end);
          const ref: ChunkRef = await chunkFile.add(chunk);
          metas[id].push({ ...ref, minT: s.ts[start], maxT: s.ts[end - 1], numSamples: end - start });
          numChunks++;
          numSamples += end - start;
        }
      }
      chunkBytes = await chunkFile.finish();
    } catch (error) {
      await chunkFile.abort();
      throw error;
    }
    const indexed: IndexedSeries[] = sorted.map((s, id) => ({ labels: s.labels, chunks: metas[id] }));
    const indexBytes = await writeIndex(join(tmp, 'index'), indexed);
    const meta: BlockMeta = {
      ulid,
      minTime: options.minTime,
      maxTime: options.maxTime,
      stats: { numSeries: sorted.length, numChunks, numSamples, indexBytes, chunkBytes },
      compaction: { level: options.level ?? 1, sources: [...(options.sources ?? [ulid])] },
      version: 1,
    };
    await writeFile(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    for (const f of ['index', 'meta.json']) {
      const h = await open(join(tmp, f), 'r');
      await h.sync();
      await h.close();
    }
    await fsyncDir(tmp);
    await rename(tmp, final);
    await fsyncDir(parentDir);
    return meta;
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

function compareFlat(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}
