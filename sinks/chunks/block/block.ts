import { rm, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { LabelMatcher } from '../../../model/matchers.ts';
import { decoderFor } from '../chunk-codecs.ts';
import { PostingsIndex } from '../postings.ts';
import type { SampleCursor, StoredSeries } from '../storage.ts';
import { readBlockMeta, type BlockMeta } from './block-meta.ts';
import { ChunkFileReader, chunkAt } from './chunk-file.ts';
import { readIndex, type BlockIndex, type ChunkMeta } from './index-file.ts';

/**
 * An open, immutable on-disk block: its meta, its index in memory (with a postings index for
 * matcher selection) and its chunk file held open.
 *
 * Readers take a reference (`acquire`) for as long as they read; `markDeleted` (retention,
 * compaction) renames the directory out of the way at once and removes it only when the last
 * reader is done, so deletion never pulls data from under a running query. Because the chunk
 * file stays open, even a directory removed by hand stays readable for queries already holding it.
 */
export class Block {
  private refs = 0;
  private deleted = false;
  private closed: Promise<void> | undefined;

  private constructor(
    private path: string,
    readonly meta: BlockMeta,
    readonly index: BlockIndex,
    private readonly postings: PostingsIndex,
    private readonly chunks: ChunkFileReader,
  ) {}

  static async open(dir: string): Promise<Block> {
    const meta = await readBlockMeta(join(dir, 'meta.json'));
    const index = await readIndex(join(dir, 'index'));
    const postings = PostingsIndex.fromPostings(index.postings, index.series.length);
    const chunks = await ChunkFileReader.open(join(dir, 'chunks'));
    return new Block(dir, meta, index, postings, chunks);
  }

  /** The block's directory (renamed once the block is marked deleted). */
  get dir(): string {
    return this.path;
  }

  get ulid(): string {
    return this.meta.ulid;
  }

  get sizeBytes(): number {
    return this.meta.stats.indexBytes + this.meta.stats.chunkBytes;
  }

  overlaps(mint: number, maxt: number): boolean {
    return this.meta.minTime <= maxt && mint < this.meta.maxTime;
  }

  /** Takes a read reference; false when the block is already being deleted. */
  acquire(): boolean {
    if (this.deleted) return false;
    this.refs++;
    return true;
  }

  release(): void {
    if (this.refs <= 0) throw new Error('bug: block released more often than acquired');
    if (--this.refs === 0 && this.deleted) void this.close();
  }

  /** Renames the block away now (no new reader finds it) and deletes it after its last reader. */
  async markDeleted(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    const doomed = `${this.path}.deleted`;
    await rename(this.path, doomed).catch(() => {});
    this.path = doomed;
    if (this.refs === 0) await this.close();
  }

  /** Closes the chunk file; removes the directory if the block was deleted. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.chunks.close();
      if (this.deleted) await rm(this.path, { recursive: true, force: true });
    })();
    return this.closed;
  }

  /** Series ids matching `matchers` (no matchers: every series). */
  selectIds(matchers: readonly LabelMatcher[]): Uint32Array {
    return this.postings.postingsForMatchers(matchers);
  }

  /**
   * The series of `ids` with chunks overlapping [mint, maxt], their chunk bytes loaded (so the
   * cursors decode synchronously), in id order, which is label order.
   */
  async load(ids: Uint32Array, mint: number, maxt: number): Promise<StoredSeries[]> {
    const out: StoredSeries[] = [];
    for (const id of ids) {
      const series = this.index.series[id];
      const metas = series.chunks.filter((c) => c.minT <= maxt && c.maxT >= mint);
      if (metas.length === 0) continue;
      const loaded: LoadedChunk[] = [];
      for (const meta of metas) {
        const segment = await this.chunks.segment(meta.segment);
        const chunk = chunkAt(segment, meta.offset, this.chunks.path);
        loaded.push({ meta, encoding: chunk.encoding, data: chunk.data });
      }
      // Chunks are disjoint in time, so the range holds a sample unless it lies strictly inside a
      // single chunk, between two of its samples: only then is decoding needed to know.
      const only = loaded.length === 1 ? loaded[0].meta : undefined;
      if (only && only.minT < mint && only.maxT > maxt && !new BlockSeriesCursor(loaded, mint, maxt).next()) continue;
      out.push({ labels: series.labels, cursor: () => new BlockSeriesCursor(loaded, mint, maxt) });
    }
    return out;
  }
}

interface LoadedChunk {
  readonly meta: ChunkMeta;
  readonly encoding: number;
  readonly data: Uint8Array;
}

/** Decodes a series' chunks one at a time, trimmed to [mint, maxt]. */
class BlockSeriesCursor implements SampleCursor {
  ts = new Float64Array(0);
  values = new Float64Array(0);
  length = 0;
  private next_ = 0;

  constructor(
    private readonly chunks: readonly LoadedChunk[],
    private readonly mint: number,
    private readonly maxt: number,
  ) {}

  next(): boolean {
    while (this.next_ < this.chunks.length) {
      const c = this.chunks[this.next_++];
      const n = c.meta.numSamples;
      if (this.ts.length < n) {
        this.ts = new Float64Array(n);
        this.values = new Float64Array(n);
      }
      decoderFor(c.encoding)(c.data, n, this.ts, this.values, 0);
      const start = c.meta.minT < this.mint ? firstAtOrAfter(this.ts, 0, n, this.mint) : 0;
      const end = c.meta.maxT > this.maxt ? firstAfter(this.ts, start, n, this.maxt) : n;
      if (start === end) continue;
      if (start > 0) {
        this.ts.copyWithin(0, start, end);
        this.values.copyWithin(0, start, end);
      }
      this.length = end - start;
      return true;
    }
    this.length = 0;
    return false;
  }

  /** Decodes every remaining chunk into one pair of arrays (chunks are disjoint and in order). */
  drain(): { ts: Float64Array; values: Float64Array; length: number } {
    let total = 0;
    for (let i = this.next_; i < this.chunks.length; i++) total += this.chunks[i].meta.numSamples;
    const ts = new Float64Array(total);
    const values = new Float64Array(total);
    let n = 0;
    for (; this.next_ < this.chunks.length; this.next_++) {
      const c = this.chunks[this.next_];
      n += decoderFor(c.encoding)(c.data, c.meta.numSamples, ts, values, n);
    }
    const start = firstAtOrAfter(ts, 0, n, this.mint);
    const end = firstAfter(ts, start, n, this.maxt);
    this.length = 0;
    return { ts: ts.subarray(start, end), values: values.subarray(start, end), length: end - start };
  }
}

/** First index in sorted ts[from, to) with ts[i] >= t (to when none). */
function firstAtOrAfter(ts: Float64Array, from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in sorted ts[from, to) with ts[i] > t (to when none). */
function firstAfter(ts: Float64Array, from: number, to: number, t: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
