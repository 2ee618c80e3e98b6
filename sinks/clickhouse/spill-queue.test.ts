import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpillQueue, type SpillCorruption } from './spill-queue.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-spill-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = (i: number, size = 100) => Buffer.alloc(size, i % 256);

async function drainAll(q: SpillQueue): Promise<number[]> {
  const out: number[] = [];
  for (let r = await q.head(); r; r = await q.head()) {
    out.push(r.payload[0]);
    await r.done();
  }
  return out;
}

describe('SpillQueue', () => {
  it('hands records back in order, across segments and a reopen, and deletes drained segments', async () => {
    const q = await SpillQueue.open({ dir, maxBytes: 1 << 20, segmentBytes: 350 });
    for (let i = 0; i < 10; i++) await q.append(rec(i));
    expect(q.records).toBe(10);
    expect(q.bytes).toBe(10 * 108);
    const first = await q.head();
    expect(first?.payload[0]).toBe(0);
    await first!.done();
    const second = await q.head();
    await second!.done();
    await q.close();
    // Reopened: the two drained records are gone, the rest come back in order.
    const again = await SpillQueue.open({ dir, maxBytes: 1 << 20, segmentBytes: 350 });
    expect(again.records).toBe(8);
    await again.append(rec(10));
    expect(await drainAll(again)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(again.bytes).toBe(0);
    await again.close();
    // Only the segment appended to last is left (empty of records).
    expect((await readdir(dir)).filter((f) => f.endsWith('.spill')).length).toBe(1);
    const reopened = await SpillQueue.open({ dir, maxBytes: 1 << 20 });
    expect(reopened.records).toBe(0);
    await reopened.close();
  });

  it('makes append wait while the queue is full, and lets it in once a record is drained', async () => {
    const q = await SpillQueue.open({ dir, maxBytes: 250 });
    await q.append(rec(1));
    await q.append(rec(2));
    let third = false;
    const pending = q.append(rec(3)).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    expect(q.records).toBe(2);
    await (await q.head())!.done();
    await pending;
    expect(third).toBe(true);
    expect(await drainAll(q)).toEqual([2, 3]);
    // A record larger than max_bytes still enters an empty queue rather than waiting forever.
    await q.append(rec(4, 1000));
    expect(q.records).toBe(1);
    await q.close();
  });

  const TAILS: Array<{ name: string; damage: (file: string, size: number) => Promise<void>; reason: RegExp; kept: number }> = [
    { name: 'a torn record header', damage: (f, size) => truncate(f, size - 108 + 5), reason: /torn record header/, kept: 2 },
    { name: 'a torn payload', damage: (f, size) => truncate(f, size - 30), reason: /runs past the end/, kept: 2 },
    {
      name: 'a flipped payload byte',
      damage: async (f) => {
        const b = await readFile(f);
        b[16 + 108 + 8 + 5] ^= 0xff;
        await writeFile(f, b);
      },
      reason: /CRC mismatch/,
      kept: 1,
    },
  ];
  for (const t of TAILS) {
    it(`reports ${t.name} with file and offset and skips it`, async () => {
      const q = await SpillQueue.open({ dir, maxBytes: 1 << 20 });
      for (let i = 0; i < 3; i++) await q.append(rec(i));
      await q.close();
      const file = join(dir, (await readdir(dir)).find((f) => f.endsWith('.spill'))!);
      await t.damage(file, (await stat(file)).size);
      const found: SpillCorruption[] = [];
      const reopened = await SpillQueue.open({ dir, maxBytes: 1 << 20, onCorrupt: (c) => found.push(c) });
      expect(found).toEqual([{ file, offset: 16 + t.kept * 108, reason: expect.stringMatching(t.reason) }]);
      expect(await drainAll(reopened)).toEqual([0, 1].slice(0, t.kept));
      // Appends go on in a fresh segment after the damage.
      await reopened.append(rec(7));
      expect(await drainAll(reopened)).toEqual([7]);
      await reopened.close();
    });
  }

  it('reports a segment of another format version and keeps it aside', async () => {
    const q = await SpillQueue.open({ dir, maxBytes: 1 << 20 });
    await q.append(rec(1));
    await q.close();
    const name = (await readdir(dir)).find((f) => f.endsWith('.spill'))!;
    const b = await readFile(join(dir, name));
    b.writeUInt32LE(9, 8);
    await writeFile(join(dir, name), b);
    const found: SpillCorruption[] = [];
    const reopened = await SpillQueue.open({ dir, maxBytes: 1 << 20, onCorrupt: (c) => found.push(c) });
    expect(found.map((c) => [c.offset, c.reason])).toEqual([[8, 'spill format version 9, this sluice reads 1; skipped']]);
    expect(reopened.records).toBe(0);
    expect(await readdir(dir)).toContain(`${name}.damaged`);
    await reopened.close();
  });
});
