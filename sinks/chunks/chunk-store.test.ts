import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { labelsFromRecord, type Labels } from '../../model/labels.ts';
import { LabelMatcher } from '../../model/matchers.ts';
import { STALE_NAN, float64Bits } from '../../model/stale-nan.ts';
import { ChunkStore, type ChunkStoreOptions } from './chunk-store.ts';
import type { Querier } from './storage.ts';

const H = 3600_000;
const logger = pino({ level: 'silent' });
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-store-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open(options: Partial<ChunkStoreOptions> = {}) {
  return ChunkStore.open(dir, { blockDurationMs: H, logger, ...options });
}

/** A tiny stand-in for the process series registry: ref i is `labels[i]`. */
const SERIES: Labels[] = Array.from({ length: 12 }, (_, i) =>
  labelsFromRecord({ __name__: i % 3 === 0 ? 'up' : 'req_total', job: `j${i % 4}`, i: String(i) }),
);

/** Appends `steps` samples per series at `stepMs` spacing from `from`, in batches of one step. */
async function fill(store: ChunkStore, from: number, steps: number, stepMs: number, model: Map<number, Map<number, number>>) {
  for (let k = 0; k < steps; k++) {
    const t = from + k * stepMs;
    const refs = Uint32Array.from(SERIES.keys());
    const ts = new Float64Array(SERIES.length).fill(t);
    const values = Float64Array.from(SERIES, (_, i) => (k === steps - 1 && i === 5 ? STALE_NAN : i * 1000 + k * 0.25));
    await store.append(refs, (r) => SERIES[r], ts, values, refs.length);
    SERIES.forEach((_, i) => {
      if (!model.has(i)) model.set(i, new Map());
      model.get(i)!.set(t, values[i]);
    });
  }
}

async function readAll(q: Querier, matchers: LabelMatcher[], mint: number, maxt: number) {
  const set = await q.select(matchers, mint, maxt);
  const out = new Map<string, string[]>();
  for (const s of set.series) {
    const rows: string[] = [];
    const c = s.cursor();
    while (c.next()) for (let i = 0; i < c.length; i++) rows.push(`${c.ts[i]}=${float64Bits(c.values[i])}`);
    out.set(JSON.stringify(s.labels), rows);
  }
  return { out, warnings: set.warnings };
}

function expected(model: Map<number, Map<number, number>>, pick: (l: Labels) => boolean, mint: number, maxt: number) {
  const out = new Map<string, string[]>();
  for (const [i, samples] of [...model].sort((a, b) => (JSON.stringify(SERIES[a[0]]) < JSON.stringify(SERIES[b[0]]) ? -1 : 1))) {
    if (!pick(SERIES[i])) continue;
    const rows = [...samples].filter(([t]) => t >= mint && t <= maxt).sort((a, b) => a[0] - b[0]).map(([t, v]) => `${t}=${float64Bits(v)}`);
    if (rows.length) out.set(JSON.stringify(SERIES[i]), rows);
  }
  return out;
}

describe('ChunkStore', () => {
  it('answers queries across blocks and head like a naive reference; survives a reopen', async () => {
    const model = new Map<number, Map<number, number>>();
    let store = await open();
    await fill(store, 0, 400, 30_000, model); // 200 minutes: cuts 1h blocks
    await store.maintain();
    expect(store.stats().blocksCut).toBeGreaterThanOrEqual(2);
    const check = async (s: ChunkStore) => {
      for (const [m, pick] of [
        [[], () => true],
        [[new LabelMatcher('=', '__name__', 'up')], (l: Labels) => l[1] === 'up'],
        [[new LabelMatcher('=~', 'job', 'j1|j2')], (l: Labels) => /^j[12]$/.test(l[5])],
      ] as Array<[LabelMatcher[], (l: Labels) => boolean]>) {
        for (const [mint, maxt] of [[0, 12_000_000], [1_000_000, 5_000_000], [3_590_000, 3_610_000], [11_000_000, 20_000_000]]) {
          const q = s.querier(mint, maxt);
          const got = await readAll(q, m, mint, maxt);
          q.close();
          expect(got.warnings).toEqual([]);
          expect(got.out).toEqual(expected(model, pick, mint, maxt));
        }
      }
    };
    await check(store);
    await store.close();
    store = await open();
    await check(store);
    await store.close();
  });

  it('compacts blocks into larger ranges and deletes blocks past retention', async () => {
    const model = new Map<number, Map<number, number>>();
    // Merged blocks are capped at a tenth of the retention: 6h blocks with 60h of retention.
    const store = await open({ blockDurationMs: H, retentionMs: 60 * H });
    await fill(store, 0, 72 * 6, 10 * 60_000, model); // 72 hours at 10 minutes
    await store.maintain();
    const metas = store.blockMetas();
    expect(store.stats().compactions).toBeGreaterThan(0);
    expect(metas.some((m) => m.compaction.level > 1)).toBe(true);
    expect(Math.max(...metas.map((m) => m.maxTime - m.minTime))).toBe(6 * H);
    // Newest sample at 71h50m: blocks ending at or before 11h50m are gone, [6h,12h) stays.
    expect(Math.min(...metas.map((m) => m.minTime))).toBe(6 * H);
    expect(store.stats().blocksDeletedByRetention).toBeGreaterThan(0);
    const dirs = readdirSync(join(dir, 'blocks'));
    expect(dirs.sort()).toEqual(metas.map((m) => m.ulid).sort());
    await store.close();
  });

  it('replays a WAL with a torn tail: every complete record survives, the store stays writable', async () => {
    const model = new Map<number, Map<number, number>>();
    let store = await open();
    await fill(store, 0, 20, 1000, model);
    await store.close();
    const walDir = join(dir, 'wal');
    const segments = readdirSync(walDir).filter((f) => /^\d+$/.test(f)).sort();
    const last = join(walDir, segments[segments.length - 1]);
    truncateSync(last, statSync(last).size - 7); // tears the last record
    store = await open();
    expect(store.replay.corruptions.length).toBe(1);
    const q = store.querier(0, 1e9);
    const got = await readAll(q, [], 0, 1e9);
    q.close();
    for (const [i, rows] of expected(model, () => true, 0, 18_000)) expect(got.out.get(i)?.slice(0, 19)).toEqual(rows);
    await fill(store, 100_000, 3, 1000, model);
    await store.close();
  });

  it('a damaged block is reported and left out; the rest of the data is served', async () => {
    const model = new Map<number, Map<number, number>>();
    let store = await open();
    await fill(store, 0, 300, 60_000, model); // 5 hours
    await store.maintain();
    const metas = store.blockMetas();
    expect(metas.length).toBeGreaterThanOrEqual(2);
    await store.close();
    const victim = metas[0];
    const chunks = join(dir, 'blocks', victim.ulid, 'chunks');
    const bytes = readFileSync(chunks);
    bytes[20] ^= 0x5a;
    writeFileSync(chunks, bytes);
    store = await open();
    const q = store.querier(0, 1e12);
    const got = await readAll(q, [], 0, 1e12);
    q.close();
    expect(got.warnings.join()).toMatch(new RegExp(victim.ulid));
    expect(store.stats().corruptBlocks).toBe(1);
    const rest = expected(model, () => true, victim.maxTime, 1e12);
    for (const [key, rows] of rest) expect(got.out.get(key)?.filter((r) => Number(r.split('=')[0]) >= victim.maxTime)).toEqual(rows);
    await store.close();
  });

  it('a block deleted by retention under a running query is still read by that query', async () => {
    const model = new Map<number, Map<number, number>>();
    const store = await open({ retentionMs: 2 * H });
    await fill(store, 0, 200, 60_000, model);
    await store.maintain(); // blocks [0,1h) (already past retention, deleted) and [1h,2h)
    expect(store.blockMetas().map((m) => [m.minTime, m.maxTime])).toEqual([[H, 2 * H]]);
    const q = store.querier(0, 1e12); // holds [1h,2h)
    await fill(store, 200 * 60_000, 300, 60_000, model); // time moves on: [1h,2h) falls out of retention
    await store.maintain();
    expect(store.blockMetas().some((m) => m.minTime === H)).toBe(false);
    const got = await readAll(q, [], H, 2 * H - 1);
    expect(got.warnings).toEqual([]);
    expect(got.out).toEqual(expected(model, () => true, H, 2 * H - 1));
    expect(readdirSync(join(dir, 'blocks')).filter((d) => d.endsWith('.deleted'))).toHaveLength(1);
    q.close(); // the last reader: the deleted block's files go now
    await vi.waitFor(() => expect(readdirSync(join(dir, 'blocks')).filter((d) => d.endsWith('.deleted'))).toEqual([]));
    await store.close();
  });
});

describe('ChunkStore metadata', () => {
  it('keeps the latest metadata per family across a reopen', async () => {
    let store = await open();
    store.updateMetadata([
      { family: 'up', type: 'gauge', help: 'Target is up.', unit: '' },
      { family: 'req', type: 'counter', help: 'Requests.', unit: '' },
    ]);
    store.updateMetadata([{ family: 'up', type: 'gauge', help: 'Whether the target is up.', unit: '' }]);
    await store.close();
    store = await open();
    expect(store.metadata()).toEqual([
      { family: 'req', type: 'counter', help: 'Requests.', unit: '' },
      { family: 'up', type: 'gauge', help: 'Whether the target is up.', unit: '' },
    ]);
    expect(store.metadata('up')).toHaveLength(1);
    expect(store.metadata('nope')).toEqual([]);
    await store.close();
  });
});
