import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareLabels, labelsFromRecord, type Labels } from '../../../model/labels.ts';
import { LabelMatcher, matchesAll } from '../../../model/matchers.ts';
import { STALE_NAN, float64Bits } from '../../../model/stale-nan.ts';
import { Block } from './block.ts';
import { writeBlock, type BlockSeries } from './block-writer.ts';
import { blocksBeyondRetention, compactBlocks, planCompaction } from './compaction.ts';
import type { BlockMeta } from './block-meta.ts';
import { CorruptDataError } from './byte-buffer.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-block-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Reads every sample of the selected series as `labels -> [t, bits][]`. */
async function readAll(block: Block, matchers: LabelMatcher[], mint: number, maxt: number) {
  const out = new Map<string, Array<[number, string]>>();
  for (const s of await block.load(block.selectIds(matchers), mint, maxt)) {
    const samples: Array<[number, string]> = [];
    const c = s.cursor();
    while (c.next()) for (let i = 0; i < c.length; i++) samples.push([c.ts[i], float64Bits(c.values[i])]);
    out.set(JSON.stringify(s.labels), samples);
  }
  return out;
}

function reference(series: BlockSeries[], matchers: LabelMatcher[], mint: number, maxt: number) {
  const out = new Map<string, Array<[number, string]>>();
  for (const s of [...series].sort((a, b) => compareLabels(a.labels, b.labels))) {
    if (!matchesAll(matchers, s.labels)) continue;
    const samples: Array<[number, string]> = [];
    for (let i = 0; i < s.length; i++) if (s.ts[i] >= mint && s.ts[i] <= maxt) samples.push([s.ts[i], float64Bits(s.values[i])]);
    if (samples.length > 0) out.set(JSON.stringify(s.labels), samples);
  }
  return out;
}

function makeSeries(labels: Labels, start: number, step: number, values: number[]): BlockSeries {
  const ts = Float64Array.from(values, (_, i) => start + i * step);
  return { labels, ts, values: Float64Array.from(values), length: values.length };
}

const seriesArb = fc
  .uniqueArray(
    fc.record({
      job: fc.constantFrom('a', 'b', 'c'),
      name: fc.constantFrom('up', 'req_total', 'temp'),
      id: fc.integer({ min: 0, max: 30 }),
      values: fc.array(fc.oneof(fc.double(), fc.integer({ min: 0, max: 1000 }), fc.constant(STALE_NAN)), { minLength: 1, maxLength: 700 }),
      start: fc.integer({ min: 0, max: 10_000 }),
      step: fc.integer({ min: 1, max: 30_000 }),
    }),
    { selector: (s) => `${s.job}/${s.name}/${s.id}`, maxLength: 25 },
  )
  .map((list) => list.map((s) => makeSeries(labelsFromRecord({ __name__: s.name, job: s.job, id: String(s.id) }), s.start, s.step, s.values)));

describe('blocks', () => {
  it('answer selects like a naive filter over what was written (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        seriesArb,
        fc.constantFrom<[string, string, string]>(['=', 'job', 'a'], ['!=', 'job', 'b'], ['=~', '__name__', 'up|temp'], ['!~', 'id', '1.*']),
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.integer({ min: 0, max: 25_000_000 }),
        async (series, [op, name, value], mint, span) => {
          const sub = mkdtempSync(join(dir, 'p-'));
          await writeBlock(sub, series, { minTime: 0, maxTime: 30_000_000 });
          const [ulid] = readdirSync(sub);
          const block = await Block.open(join(sub, ulid));
          const matchers = [new LabelMatcher(op as '=', name, value)];
          expect(await readAll(block, matchers, mint, mint + span)).toEqual(reference(series, matchers, mint, mint + span));
          await block.close();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('leaves out a series when the range falls between two samples of one chunk', async () => {
    const series = [makeSeries(labelsFromRecord({ __name__: 'up', job: 'a' }), 0, 2, [NaN, 0])];
    const meta = await writeBlock(dir, series, { minTime: 0, maxTime: 10 });
    const block = await Block.open(join(dir, meta.ulid));
    expect((await readAll(block, [], 1, 1)).size).toBe(0);
    expect((await readAll(block, [], 1, 2)).size).toBe(1);
    await block.close();
  });

  it('keeps stats in meta.json and leaves no temporary directory', async () => {
    const series = [makeSeries(labelsFromRecord({ __name__: 'x' }), 0, 1000, [1, 2, 3]), makeSeries(labelsFromRecord({ __name__: 'y' }), 0, 1000, [4])];
    const meta = await writeBlock(dir, series, { minTime: 0, maxTime: 7_200_000 });
    expect(readdirSync(dir)).toEqual([meta.ulid]);
    expect(meta.stats).toMatchObject({ numSeries: 2, numChunks: 2, numSamples: 4 });
    expect(JSON.parse(readFileSync(join(dir, meta.ulid, 'meta.json'), 'utf8'))).toEqual(meta);
  });

  it('reports a damaged chunk file or index as corrupt instead of reading past it', async () => {
    const series = [makeSeries(labelsFromRecord({ __name__: 'x' }), 0, 1000, Array.from({ length: 300 }, (_, i) => i * 1.5))];
    const meta = await writeBlock(dir, series, { minTime: 0, maxTime: 7_200_000 });
    const chunks = join(dir, meta.ulid, 'chunks');
    const bytes = readFileSync(chunks);
    bytes[12] ^= 0xff; // inside the first compressed segment
    writeFileSync(chunks, bytes);
    const block = await Block.open(join(dir, meta.ulid));
    await expect(block.load(block.selectIds([]), 0, Infinity)).rejects.toThrow(CorruptDataError);
    await block.close();
    const index = join(dir, meta.ulid, 'index');
    const ib = readFileSync(index);
    ib[ib.length - 10] ^= 0x01;
    writeFileSync(index, ib);
    await expect(Block.open(join(dir, meta.ulid))).rejects.toThrow(/index: checksum mismatch/);
  });

  it('deletion waits for readers; a directory removed by hand stays readable for a query holding it', async () => {
    const series = [makeSeries(labelsFromRecord({ __name__: 'x' }), 0, 1000, [1, 2, 3])];
    const meta = await writeBlock(dir, series, { minTime: 0, maxTime: 7_200_000 });
    const block = await Block.open(join(dir, meta.ulid));
    expect(block.acquire()).toBe(true);
    await block.markDeleted();
    expect(existsSync(join(dir, meta.ulid))).toBe(false);
    expect(block.acquire()).toBe(false);
    expect((await readAll(block, [], 0, 10_000)).size).toBe(1);
    block.release();
    await block.close();
    expect(readdirSync(dir)).toEqual([]);

    const meta2 = await writeBlock(dir, series, { minTime: 0, maxTime: 7_200_000 });
    const held = await Block.open(join(dir, meta2.ulid));
    rmSync(join(dir, meta2.ulid), { recursive: true });
    expect((await readAll(held, [], 0, 10_000)).get(JSON.stringify(series[0].labels))).toHaveLength(3);
    await held.close();
  });

  it('compaction merges overlapping blocks; a timestamp in both keeps the first block value', async () => {
    const l = labelsFromRecord({ __name__: 'm' });
    const a = await writeBlock(dir, [makeSeries(l, 0, 1000, [1, 2, 3])], { minTime: 0, maxTime: 7_200_000 });
    const b = await writeBlock(dir, [makeSeries(l, 2000, 1000, [30, 40]), makeSeries(labelsFromRecord({ __name__: 'n' }), 0, 1000, [9])], {
      minTime: 0,
      maxTime: 7_200_000,
    });
    expect(planCompaction([a, b], [7_200_000, 21_600_000], 0)).toHaveLength(2);
    const blocks = await Promise.all([a, b].map((m) => Block.open(join(dir, m.ulid))));
    const merged = await compactBlocks(dir, blocks);
    expect(merged.compaction).toEqual({ level: 2, sources: [a.ulid, b.ulid].sort() });
    const out = await Block.open(join(dir, merged.ulid));
    const got = await readAll(out, [], 0, Infinity);
    expect(got.get(JSON.stringify(l))?.map(([t, bits]) => [t, bits])).toEqual([
      [0, float64Bits(1)],
      [1000, float64Bits(2)],
      [2000, float64Bits(3)],
      [3000, float64Bits(40)],
    ]);
    for (const bl of [...blocks, out]) await bl.close();
  });
});

describe('planCompaction and retention', () => {
  const H = 3600_000;
  const meta = (ulid: string, minTime: number, maxTime: number, bytes = 100): BlockMeta => ({
    ulid,
    minTime,
    maxTime,
    stats: { numSeries: 1, numChunks: 1, numSamples: 1, indexBytes: bytes / 2, chunkBytes: bytes / 2 },
    compaction: { level: 1, sources: [ulid] },
    version: 1,
  });
  it.each([
    { name: 'nothing to do', metas: [meta('a', 0, 2 * H)], closed: 10 * H, want: undefined },
    { name: 'three 2h blocks fill a closed 6h window', metas: [meta('a', 0, 2 * H), meta('b', 2 * H, 4 * H), meta('c', 4 * H, 6 * H)], closed: 6 * H, want: ['a', 'b', 'c'] },
    { name: 'a window still open waits', metas: [meta('a', 0, 2 * H), meta('b', 2 * H, 4 * H)], closed: 5 * H, want: undefined },
    { name: 'overlap first', metas: [meta('a', 0, 2 * H), meta('b', H, 3 * H), meta('c', 6 * H, 8 * H)], closed: 0, want: ['a', 'b'] },
  ])('$name', ({ metas, closed, want }) => {
    expect(planCompaction(metas, [2 * H, 6 * H, 24 * H], closed)?.map((m) => m.ulid)).toEqual(want);
  });

  it.each([
    { name: 'by time', retention: { timeMs: 4 * H }, want: ['a'] },
    { name: 'by size', retention: { maxBytes: 250 }, want: ['a'] },
    { name: 'by size counting the WAL', retention: { maxBytes: 250, otherBytes: 100 }, want: ['a', 'b'] },
    { name: 'none', retention: {}, want: [] },
  ])('retention $name', ({ retention, want }) => {
    const metas = [meta('a', 0, 2 * H), meta('b', 2 * H, 4 * H), meta('c', 4 * H, 6 * H)];
    expect(blocksBeyondRetention(metas, retention, 6 * H).map((m) => m.ulid)).toEqual(want);
  });
});
