import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { eventually } from '../../test/harness/eventually.ts';
import { RollupWindows, type Rollup } from './rollup-state.ts';
import { rollupKey, seriesLabels, startDownsample, type AckedRollup } from './downsample-test-kit.ts';
import { seededRandom } from '../../bench/seeded-random.ts';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const TENANTS = ['a', 'b'];
const SERIES = 5;
const SOURCE_LATENESS = M;
const RESOLUTIONS = [5 * M, H];

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

interface Batch {
  readonly tenant: string;
  readonly rows: number[][]; // [series, t, v]
}

/** A seeded generator, so a failing case is reproduced by its seed. */
const prng = seededRandom;

/**
 * 2h10m of counters for two tenants, five series each, a sample every 15s with up to 30s of
 * disorder (inside the source's lateness, so none is too late the first time round), resets,
 * and now and then a stale marker (NaN here). One batch is one tenant's minute.
 */
function stream(seed: number): Batch[] {
  const rnd = prng(seed);
  const counters = new Map<string, number>();
  const batches: Batch[] = [];
  for (let minute = 0; minute < 130; minute++) {
    for (const tenant of TENANTS) {
      const rows: number[][] = [];
      for (let step = 0; step < 4; step++) {
        for (let s = 0; s < SERIES; s++) {
          const key = `${tenant}/${s}`;
          const base = minute * M + step * 15 * S;
          const t = Math.max(0, base - Math.floor(rnd() * 30) * S - s);
          if (rnd() < 0.01) {
            rows.push([s, t, NaN]);
            continue;
          }
          const prev = counters.get(key) ?? 0;
          const v = rnd() < 0.02 ? Math.floor(rnd() * 5) : prev + Math.floor(rnd() * 10);
          counters.set(key, v);
          rows.push([s, t, v]);
        }
      }
      batches.push({ tenant, rows });
    }
  }
  return batches;
}

/** What the rollups must be: RollupWindows of each resolution run straight over the raw samples. */
function reference(batches: readonly Batch[]): Map<string, Omit<Rollup, 'ref'>> {
  const windows = new Map<string, RollupWindows[]>();
  for (const tenant of TENANTS) windows.set(tenant, RESOLUTIONS.map((r) => new RollupWindows(r)));
  const closed = new Map<string, Rollup[][]>();
  for (const tenant of TENANTS) closed.set(tenant, RESOLUTIONS.map(() => []));
  let maxT = -Infinity;
  for (const b of batches) {
    for (const [s, t, v] of b.rows) {
      if (t > maxT) maxT = t;
      if (Number.isNaN(v)) continue; // a stale marker: never aggregated
      for (const w of windows.get(b.tenant)!) w.add(s, t, v);
    }
    for (const [tenant, ws] of windows) ws.forEach((w, i) => closed.get(tenant)![i].push(...w.close(maxT - SOURCE_LATENESS)));
  }
  const out = new Map<string, Omit<Rollup, 'ref'>>();
  for (const [tenant, ws] of windows) {
    ws.forEach((w, i) => {
      if (w.stats.tooLate !== 0) throw new Error('bug in the test stream: a sample is too late in the reference');
      for (const { ref, ...rest } of [...closed.get(tenant)![i], ...w.closeAll()]) out.set(rollupKey(tenant, RESOLUTIONS[i], seriesLabels(ref).join(','), rest.start), rest);
    });
  }
  return out;
}

/** The union of acknowledged rollups; a key acknowledged twice must carry the same aggregates. */
function union(...runs: AckedRollup[][]): Map<string, Omit<Rollup, 'ref'>> {
  const out = new Map<string, Omit<Rollup, 'ref'>>();
  for (const run of runs) {
    for (const { key, rollup } of run) {
      const seen = out.get(key);
      if (seen) expect(rollup, `${key} acknowledged twice with different aggregates`).toEqual(seen);
      else out.set(key, rollup);
    }
  }
  return out;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Inputs settled in order so far (the operator acknowledges in input order). */
const settledUpTo = new WeakMap<object, number>();
function settledPrefix(run: { inputs: ReadonlyArray<{ outcome: string }> }): number {
  let i = settledUpTo.get(run) ?? 0;
  while (i < run.inputs.length && run.inputs[i].outcome !== 'pending') i++;
  settledUpTo.set(run, i);
  return i;
}

describe('downsample operator across a crash', () => {
  const scenarios = { partlyDurable: 0, damaged: 0 };
  it('acknowledges every window exactly once, by (labels, resolution, start), across a kill, a torn log tail and redelivery (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer(),
          killAt: fc.integer({ min: 1, max: 259 }),
          ticksBeforeKill: fc.integer({ min: 0, max: 4 }),
          inFlight: fc.integer({ min: 2, max: 32 }),
          tornTail: fc.boolean(),
          duplicates: fc.integer({ min: 0, max: 12 }),
          acks: fc.array(fc.constantFrom<'ok' | 'fail' | 'hold'>('ok', 'ok', 'ok', 'fail', 'hold'), { minLength: 8, maxLength: 8 }),
        }),
        async ({ seed, killAt, ticksBeforeKill, inFlight, tornTail, duplicates, acks }) => {
          const batches = stream(seed);
          const want = reference(batches);
          const dir = await mkdtemp(join(tmpdir(), 'sluice-downsample-crash-'));
          dirs.push(dir);
          const config = { allowed_lateness: '0s', retry_backoff: '10ms' };

          // Run 1: failed writes wait for a backoff that never comes (virtual time), held ones
          // never settle; then the process dies without a graceful stop.
          let emission = 0;
          const first = startDownsample({ dir, config, scheduler: new VirtualTimeScheduler(), policy: () => acks[emission++ % acks.length] });
          let maxT = -Infinity;
          // Like a source with a bound on unacknowledged batches: group commits interleave with
          // sends, so the kill finds some inputs durable and some not.
          const sendAll = async (run: ReturnType<typeof startDownsample>, list: readonly Batch[]) => {
            for (const b of list) {
              while (run.inputs.length - settledPrefix(run) >= inFlight) await tick();
              for (const r of b.rows) if (r[1] > maxT) maxT = r[1];
              run.send(b.tenant, b.rows, maxT - SOURCE_LATENESS);
            }
          };
          await sendAll(first, batches.slice(0, killAt));
          for (let i = 0; i < ticksBeforeKill; i++) await tick();
          await first.kill();
          const lost = first.inputs.filter((t) => t.outcome !== 'ok').length;
          if (lost > 0 && lost < first.inputs.length) scenarios.partlyDurable++;
          if (tornTail) {
            // The next group commit was cut short: half a record at the end of the newest log.
            const logs = (await readdir(join(dir, 'rollup'))).filter((n) => n.startsWith('log-')).sort();
            if (logs.length > 0) await appendFile(join(dir, 'rollup', logs[logs.length - 1]), Uint8Array.of(2, 200, 0, 0, 0, 1, 2, 3));
          }

          // Run 2: a new process (new registry) over the same files. The source redelivers what
          // was never acknowledged, plus some it did acknowledge (acks lost on the way), and
          // its watermark starts afresh; then the rest of the stream, then a graceful stop.
          let stopping = false;
          const second = startDownsample({ dir, config: { ...config, flush_on_stop: true }, policy: (_b, attempt) => (!stopping && attempt === 0 && emission++ % 3 === 0 ? 'fail' : 'ok') });
          maxT = -Infinity;
          const unacked = first.inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.outcome !== 'ok').map(({ i }) => i);
          const acked = first.inputs.map((t, i) => ({ t, i })).filter(({ t }) => t.outcome === 'ok').map(({ i }) => i);
          const again = [...acked.slice(Math.max(0, acked.length - duplicates)), ...unacked].sort((x, y) => x - y);
          await sendAll(second, again.map((i) => batches[i]));
          await sendAll(second, batches.slice(killAt));
          if (await second.metric('sluice_component_errors_total', { reason: 'state_damaged' })) scenarios.damaged++;
          await eventually(() => second.inputs.every((t) => t.outcome === 'ok'), 'every input of run 2 acknowledged', 10_000, 5);
          await eventually(async () => (await second.metric('sluice_downsample_pending_rollup_batches')) === 0, 'nothing owed before the stop', 10_000, 5);
          stopping = true;
          await second.stop();
          expect(second.error).toBeUndefined();

          const got = union(first.acked, second.acked);
          expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
          for (const [key, rollup] of want) expect(got.get(key), key).toEqual(rollup);
        },
      ),
      { numRuns: 15 },
    );
    // The cases that matter did occur: a kill between group commits, and a torn log reported.
    expect(scenarios.partlyDurable).toBeGreaterThanOrEqual(4);
    expect(scenarios.damaged).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
