import { compareLabels } from '../../../model/labels.ts';
import type { BlockMeta } from './block-meta.ts';
import type { Block } from './block.ts';
import { writeBlock, type BlockSeries } from './block-writer.ts';

/** Block ranges by level: 2h blocks merge into 6h, 6h into 24h (ranges must divide each other). */
export const DEFAULT_BLOCK_RANGES = [2 * 3600_000, 6 * 3600_000, 24 * 3600_000];

/**
 * Which blocks to merge next, if any (a pure decision over metas). First, blocks whose time
 * ranges overlap (out-of-order data cut into a range an earlier block already covers) merge
 * together. Otherwise, for each larger range, the blocks that fall into one aligned window of it
 * merge once there are two or more and the window has closed: it ends at or before `closedBefore`
 * (the head's minimum time, before which no new block will appear).
 */
export function planCompaction(metas: readonly BlockMeta[], ranges: readonly number[], closedBefore: number): BlockMeta[] | undefined {
  const sorted = [...metas].sort((a, b) => a.minTime - b.minTime || a.maxTime - b.maxTime);
  for (let i = 0; i < sorted.length; i++) {
    const group = [sorted[i]];
    let end = sorted[i].maxTime;
    for (let j = i + 1; j < sorted.length && sorted[j].minTime < end; j++) {
      group.push(sorted[j]);
      end = Math.max(end, sorted[j].maxTime);
    }
    if (group.length > 1) return group;
  }
  for (const range of ranges.slice(1)) {
    const windows = new Map<number, BlockMeta[]>();
    for (const m of sorted) {
      if (m.maxTime - m.minTime >= range) continue;
      const start = Math.floor(m.minTime / range) * range;
      if (m.maxTime > start + range) continue; // straddles the window: leave it
      const list = windows.get(start) ?? [];
      list.push(m);
      windows.set(start, list);
    }
    for (const [start, list] of [...windows].sort(([a], [b]) => a - b)) {
      if (list.length > 1 && start + range <= closedBefore) return list;
    }
  }
  return undefined;
}

/**
 * Merges `blocks` (their reads already acquired by the caller) into one new block under
 * `parentDir`. Series are matched by labels; where blocks overlap, samples are merged in time
 * order and a timestamp present twice keeps the value of the block that came first.
 */
export async function compactBlocks(parentDir: string, blocks: readonly Block[]): Promise<BlockMeta> {
  const minTime = Math.min(...blocks.map((b) => b.meta.minTime));
  const maxTime = Math.max(...blocks.map((b) => b.meta.maxTime));
  const level = Math.max(...blocks.map((b) => b.meta.compaction.level)) + 1;
  const sources = [...new Set(blocks.flatMap((b) => b.meta.compaction.sources))].sort();
  const perBlock = await Promise.all(blocks.map((b) => b.load(b.selectIds([]), minTime, maxTime)));
  const merged = new Map<string, { labels: readonly string[]; parts: Array<{ ts: Float64Array; values: Float64Array; length: number }> }>();
  for (const list of perBlock) {
    for (const s of list) {
      const key = s.labels.join('\u0000');
      let entry = merged.get(key);
      if (!entry) merged.set(key, (entry = { labels: s.labels, parts: [] }));
      const cursor = s.cursor();
      while (cursor.next()) {
        entry.parts.push({ ts: cursor.ts.slice(0, cursor.length), values: cursor.values.slice(0, cursor.length), length: cursor.length });
      }
    }
  }
  const series: BlockSeries[] = [];
  for (const { labels, parts } of merged.values()) series.push({ labels, ...mergeParts(parts) });
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return writeBlock(parentDir, series, { minTime, maxTime, level, sources });
}

/** Concatenates runs of samples into one time-ordered run; the first occurrence of a timestamp wins. */
export function mergeParts(parts: ReadonlyArray<{ ts: Float64Array; values: Float64Array; length: number }>): {
  ts: Float64Array;
  values: Float64Array;
  length: number;
} {
  let total = 0;
  for (const p of parts) total += p.length;
  const order = new Uint32Array(total);
  const ts = new Float64Array(total);
  const values = new Float64Array(total);
  let k = 0;
  for (const p of parts) {
    ts.set(p.ts.subarray(0, p.length), k);
    values.set(p.values.subarray(0, p.length), k);
    k += p.length;
  }
  for (let i = 0; i < total; i++) order[i] = i;
  // Stable by position, so for equal timestamps the earlier part wins the dedup below.
  order.sort((a, b) => ts[a] - ts[b] || a - b);
  const outTs = new Float64Array(total);
  const outValues = new Float64Array(total);
  let n = 0;
  for (let i = 0; i < total; i++) {
    const j = order[i];
    if (n > 0 && outTs[n - 1] === ts[j]) continue;
    outTs[n] = ts[j];
    outValues[n] = values[j];
    n++;
  }
  return { ts: outTs, values: outValues, length: n };
}

/**
 * Blocks retention removes: those entirely older than `retentionMs` before `newestT` (the newest
 * sample the store holds), then the oldest ones while the total size exceeds `maxBytes`.
 */
export function blocksBeyondRetention(
  metas: readonly BlockMeta[],
  retention: { timeMs?: number; maxBytes?: number; otherBytes?: number },
  newestT: number,
): BlockMeta[] {
  const sorted = [...metas].sort((a, b) => a.minTime - b.minTime);
  const doomed = new Set<BlockMeta>();
  if (retention.timeMs !== undefined) {
    for (const m of sorted) if (m.maxTime <= newestT - retention.timeMs) doomed.add(m);
  }
  if (retention.maxBytes !== undefined) {
    let total = retention.otherBytes ?? 0;
    for (const m of sorted) if (!doomed.has(m)) total += m.stats.indexBytes + m.stats.chunkBytes;
    for (const m of sorted) {
      if (total <= retention.maxBytes) break;
      if (doomed.has(m)) continue;
      doomed.add(m);
      total -= m.stats.indexBytes + m.stats.chunkBytes;
    }
  }
  return sorted.filter((m) => doomed.has(m));
}
