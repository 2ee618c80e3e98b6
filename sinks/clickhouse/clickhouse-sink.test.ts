import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AckHandle } from '../../model/ack.ts';
import { labelsFromRecord } from '../../model/labels.ts';
import { MetadataStore } from '../../model/metadata.ts';
import type { Rollup, RollupBatch } from '../../model/rollup-batch.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import { float64Bits, STALE_NAN } from '../../model/stale-nan.ts';
import type { StreamBatch } from '../../model/stream.ts';
import type { ComponentContext } from '../../pipelines/component.ts';
import { SelfMetrics } from '../../pipelines/self-metrics.ts';
import { clickhouseSinkConfig } from '../../schemas/clickhouse-sink.ts';
import { ClickHouseSink } from './clickhouse-sink.ts';
import { openClickHouse } from './connection.ts';
import { FaultInjector, type FaultMode } from './fault-injection.ts';
import { seriesId } from './series-id.ts';

// One chDB per test file (in memory); a fresh database and temp dir per test.
let client: ClickHouseClient;
let dir: string;
beforeAll(async () => {
  client = await openClickHouse('embedded', { logger: { info: () => {}, debug: () => {} } });
});
afterAll(async () => {
  await client.close();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-chsink-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SERIES = 12;
const T0 = 1_750_000_200_000 - (1_750_000_200_000 % 3_600_000);

interface Fixture {
  registry: SeriesRegistry;
  batches: StreamBatch[];
  /** Expected raw rows as `id ts bits`, sorted. */
  raw: string[];
  /** Expected rollup rows as `id start sumBits`, sorted, per resolution. */
  r5m: string[];
  r1h: string[];
}

/**
 * `SERIES` series x 60 samples at 15 s (every 7th a stale marker, stored into a Float64Array so
 * it stays signalling), cut into batches of 45 samples, and per series one 5m and one 1h rollup
 * (the 5m ones with a NaN-payload sum). Batches interleave samples and rollups.
 */
function fixture(registry = new SeriesRegistry(), seed = 0): Fixture {
  const refs: number[] = [];
  for (let s = 0; s < SERIES; s++) refs.push(registry.intern(labelsFromRecord({ __name__: 'sink_test', s: String(s), q: `it's "q" ${seed}` })));
  const total = SERIES * 60;
  const ts = new Float64Array(total);
  const values = new Float64Array(total);
  const rr = new Uint32Array(total);
  for (let i = 0; i < total; i++) {
    rr[i] = refs[i % SERIES];
    ts[i] = T0 + Math.floor(i / SERIES) * 15_000 + seed;
    values[i] = i % 7 === 3 ? STALE_NAN : i * 0.1;
  }
  const raw: string[] = [];
  for (let i = 0; i < total; i++) raw.push(`${seriesId(registry.labels(rr[i]))} ${ts[i]} ${float64Bits(values[i])}`);
  const batches: StreamBatch[] = [];
  const watermark = -Infinity;
  for (let a = 0; a < total; a += 45) {
    const b = Math.min(total, a + 45);
    const batch: SampleBatch = { kind: 'samples', refs: rr.slice(a, b), ts: ts.slice(a, b), values: values.slice(a, b), length: b - a, tenant: 'acme', ack: AckHandle.none(), watermark };
    batches.push(batch);
  }
  const nanSum = new Float64Array(1);
  new DataView(nanSum.buffer).setBigUint64(0, 0x7ff8000000000001n, true);
  const rollup = (ref: number, start: number, sum: number): Rollup => ({ ref, start, count: 20, sum, min: 0, max: 9, counter: 100, firstT: start + 5, firstV: 1, lastT: start + 290_000, lastV: 9 });
  const r5m: Rollup[] = refs.map((ref, i) => rollup(ref, T0 + 300_000 * (i % 3) + seed * 300_000, nanSum[0]));
  const r1h: Rollup[] = refs.map((ref) => rollup(ref, T0 + seed * 3_600_000, 42.5));
  const rb = (rollups: Rollup[], resolutionMs: number): RollupBatch => ({ kind: 'rollups', resolutionMs, rollups, length: rollups.length, tenant: 'acme', ack: AckHandle.none(), watermark });
  batches.splice(3, 0, rb(r5m.slice(0, 6), 300_000));
  batches.splice(9, 0, rb(r5m.slice(6), 300_000), rb(r1h, 3_600_000));
  const rows = (rs: Rollup[]) => rs.map((r) => `${seriesId(registry.labels(r.ref))} ${r.start} ${float64Bits(r.sum)}`).sort();
  return { registry, batches, raw: raw.sort(), r5m: rows(r5m), r1h: rows(r1h) };
}

async function query<T>(sql: string): Promise<T[]> {
  return (await client.query({ query: sql, format: 'JSONEachRow' })).json<T>();
}

async function stored(database: string, final: boolean) {
  const f = final ? ' FINAL' : '';
  const raw = await query<{ r: string }>(
    `SELECT concat(toString(series_id), ' ', toString(toUnixTimestamp64Milli(ts)), ' ', leftPad(lower(hex(reinterpretAsUInt64(value))), 16, '0')) r FROM ${database}.sluice_samples_raw${f}`,
  );
  const rollups = async (table: string) =>
    (await query<{ r: string }>(`SELECT concat(toString(series_id), ' ', toString(toUnixTimestamp(window_start) * 1000), ' ', leftPad(lower(hex(reinterpretAsUInt64(sum))), 16, '0')) r FROM ${database}.${table}${f}`))
      .map((x) => x.r)
      .sort();
  const series = await query<{ c: string }>(`SELECT toString(count()) c FROM ${database}.sluice_series${f}`);
  return { raw: raw.map((x) => x.r).sort(), r5m: await rollups('sluice_rollup_5m'), r1h: await rollups('sluice_rollup_1h'), series: Number(series[0].c) };
}

function context(registry: SeriesRegistry, self = new SelfMetrics()): ComponentContext {
  return {
    name: 'longterm',
    registry,
    metadata: new MetadataStore(),
    metrics: self.forComponent('longterm', 'clickhouse'),
    logger: pino({ level: process.env.SINK_TEST_LOG ?? 'silent' }),
    dataDir: dir,
    services: { natsUrl: async () => 'nats://127.0.0.1:4222' },
  };
}

function sinkConfig(database: string, extra: Record<string, unknown> = {}) {
  return clickhouseSinkConfig.parse({
    database,
    ttl: { raw: 'forever', '5m': 'forever', '1h': 'forever' },
    batch: { max_rows: 200, max_wait: '10ms', max_in_flight: 2 },
    retry: { max_attempts: 2, initial_backoff: '5ms', max_backoff: '40ms' },
    timeout: '150ms',
    ...extra,
  });
}

/** Writes batches the way the runtime does: up to the sink's concurrency under way at once. */
async function writeAll(sink: ClickHouseSink, batches: readonly StreamBatch[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await sink.write(batches[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(sink.concurrency, batches.length) }, worker));
}

async function metric(self: SelfMetrics, name: string): Promise<Record<string, number>> {
  const m = (await self.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const out: Record<string, number> = {};
  for (const v of (m?.values ?? []) as Array<{ labels: Record<string, string>; value: number }>) {
    const key = Object.entries(v.labels).filter(([k]) => k !== 'component').map(([, x]) => x).join(',') || 'all';
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

let dbs = 0;
const freshDb = () => `chsink_${process.pid}_${dbs++}`;

describe('clickhouse sink: ClickHouse unavailable for a while, then back', () => {
  // Each fault hits the statements that write rows (series registrations pass), during the middle
  // third of the input. Every sample and rollup must arrive exactly once. The counts WITHOUT
  // FINAL show that the insert deduplication tokens did the work at insert time (the raw and
  // rollup tables keep a deduplication window); with FINAL, ReplacingMergeTree would hide a
  // duplicate, so both are checked. sluice_series has no window: a repeated registration is
  // collapsed by FINAL only, so series are counted with FINAL.
  const MODES: Array<{ mode: Exclude<FaultMode, 'none'>; spills: boolean }> = [
    { mode: 'refused', spills: true },
    { mode: 'timeout', spills: true },
    { mode: 'failed_after_write', spills: true },
  ];
  for (const { mode, spills } of MODES) {
    it(`${mode}: every sample and rollup exactly once, bit-exact`, async () => {
      const database = freshDb();
      const fx = fixture();
      const self = new SelfMetrics();
      const faults = new FaultInjector();
      faults.hangMs = 300; // longer than the sink's 150 ms timeout: the sink gives up first
      // Only the timeout mode needs the sink to give up quickly; elsewhere a slow machine must not time out.
      const sink = new ClickHouseSink(sinkConfig(database, { timeout: mode === 'timeout' ? '150ms' : '10s' }), context(fx.registry, self), { client: faults.wrap(client) });
      await sink.start();
      const third = Math.ceil(fx.batches.length / 3);
      await writeAll(sink, fx.batches.slice(0, third));
      faults.set(mode, { match: /sluice_samples_raw|sluice_rollup_/ });
      await writeAll(sink, fx.batches.slice(third, 2 * third));
      // Every write of the outage resolved: its block is durable in the spill queue.
      if (spills) expect(sink.stats().spillBlocks).toBeGreaterThan(0);
      faults.set('none');
      await writeAll(sink, fx.batches.slice(2 * third));
      await sink.idle();
      for (const final of [false, true]) {
        const got = await stored(database, final);
        expect(got.raw).toEqual(fx.raw);
        expect(got.r5m).toEqual(fx.r5m);
        expect(got.r1h).toEqual(fx.r1h);
      }
      expect((await stored(database, true)).series).toBe(SERIES);
      expect(faults.failed[mode]).toBeGreaterThan(0);
      const spilled = await metric(self, 'sluice_clickhouse_spilled_blocks_total');
      const drained = await metric(self, 'sluice_clickhouse_spill_drained_blocks_total');
      expect(drained.all).toBe(spilled.all);
      expect(Object.keys(await metric(self, 'sluice_clickhouse_insert_errors_total'))).toEqual([mode === 'timeout' ? 'timeout' : 'connection']);
      expect((await metric(self, 'sluice_clickhouse_rows_inserted_total')).sluice_samples_raw).toBeGreaterThanOrEqual(fx.raw.length);
      await sink.close();
    });
  }
});

describe('clickhouse sink: spill queue across a restart', () => {
  it('drains blocks spilled before a restart in the next process-like instance (labels travel with them), skipping a torn tail', async () => {
    const database = freshDb();
    const fx = fixture();
    const faults = new FaultInjector();
    faults.set('refused');
    const first = new ClickHouseSink(sinkConfig(database), context(fx.registry), { client: faults.wrap(client) });
    await first.start();
    expect(first.stats().healthy).toBe(false);
    await writeAll(first, fx.batches);
    expect(first.stats().spillBlocks).toBeGreaterThan(0);
    await first.close();
    // A crash mid-append left a torn record at the end of the newest segment.
    const spillDir = join(dir, 'longterm', 'spill');
    const segments = (await readdir(spillDir)).filter((f) => f.endsWith('.spill')).sort();
    await appendFile(join(spillDir, segments[segments.length - 1]), Buffer.from([9, 9, 0]));
    // ClickHouse refused even the schema at start: the first instance ran on its spill queue alone.
    expect(await query(`SELECT count() c FROM system.databases WHERE name = '${database}'`)).toEqual([{ c: 0 }]);

    // A new registry: refs of the first instance mean nothing here.
    const self = new SelfMetrics();
    const second = new ClickHouseSink(sinkConfig(database), context(new SeriesRegistry(), self), { client });
    await second.start();
    await second.idle();
    const got = await stored(database, false);
    expect(got.raw).toEqual(fx.raw);
    expect(got.r5m).toEqual(fx.r5m);
    expect(got.r1h).toEqual(fx.r1h);
    expect(await metric(self, 'sluice_clickhouse_spill_corrupt_total')).toEqual({ all: 1 });
    await second.close();
  });

  it('a planned stop drains the spill queue into ClickHouse once it answers, cutting a long backoff short', async () => {
    const database = freshDb();
    const fx = fixture();
    const faults = new FaultInjector();
    const sink = new ClickHouseSink(sinkConfig(database, { retry: { max_attempts: 1, initial_backoff: '1h', max_backoff: '1h' } }), context(fx.registry), { client: faults.wrap(client) });
    await sink.start();
    faults.set('refused', { match: /sluice_samples_raw|sluice_rollup_/ });
    await writeAll(sink, fx.batches);
    expect(sink.stats().spillBlocks).toBeGreaterThan(0);
    // ClickHouse is back while the drain loop sleeps an hour-long backoff; close() must not wait for it.
    faults.set('none');
    const started = Date.now();
    await sink.close();
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(sink.stats().spillBlocks).toBe(0);
    const got = await stored(database, true);
    expect(got.raw).toEqual(fx.raw);
    expect(got.r5m).toEqual(fx.r5m);
    expect(got.r1h).toEqual(fx.r1h);
  });

  it('a planned stop while ClickHouse still fails keeps the spill queue on disk and returns at the first failed attempt', async () => {
    const database = freshDb();
    const fx = fixture();
    const faults = new FaultInjector();
    const self = new SelfMetrics();
    const sink = new ClickHouseSink(sinkConfig(database, { retry: { max_attempts: 1, initial_backoff: '1h', max_backoff: '1h' } }), context(fx.registry, self), { client: faults.wrap(client) });
    await sink.start();
    faults.set('refused', { match: /sluice_samples_raw|sluice_rollup_/ });
    await writeAll(sink, fx.batches);
    const spilled = sink.stats().spillBlocks;
    expect(spilled).toBeGreaterThan(0);
    const started = Date.now();
    await sink.close();
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(sink.stats().spillBlocks).toBe(spilled);
    expect((await metric(self, 'sluice_clickhouse_spill_drained_blocks_total')).all ?? 0).toBe(0);
  });
});

describe('clickhouse sink: tables lost underneath', () => {
  it('recreates the schema and registers the series again when the database vanished', async () => {
    const database = freshDb();
    const fx = fixture();
    const self = new SelfMetrics();
    const sink = new ClickHouseSink(sinkConfig(database), context(fx.registry, self), { client });
    await sink.start();
    const half = Math.ceil(fx.batches.length / 2);
    await writeAll(sink, fx.batches.slice(0, half));
    await client.command({ query: `DROP DATABASE ${database} SYNC` });
    await writeAll(sink, fx.batches.slice(half));
    await sink.idle();
    // Everything written after the drop arrived, once. Of what was written before it, blocks
    // ClickHouse had taken went with the database; blocks that had been spilled (a slow insert)
    // were drained into the new one, so the total is not fixed - but every row is a real one.
    const rowsOf = (bs: StreamBatch[]) => {
      const out: string[] = [];
      for (const b of bs) if (b.kind === 'samples') for (let i = 0; i < b.length; i++) out.push(`${seriesId(fx.registry.labels(b.refs[i]))} ${b.ts[i]} ${float64Bits(b.values[i])}`);
      return out;
    };
    const got = await stored(database, false);
    expect(new Set(got.raw).size).toBe(got.raw.length);
    expect(got.raw.filter((r) => !fx.raw.includes(r))).toEqual([]);
    expect(rowsOf(fx.batches.slice(half)).filter((r) => !got.raw.includes(r))).toEqual([]);
    expect(got.r1h).toEqual(fx.r1h);
    expect(got.series).toBe(SERIES);
    expect(await metric(self, 'sluice_clickhouse_insert_errors_total')).toMatchObject({ unknown_table: expect.any(Number) });
    await sink.close();
  });
});

describe('clickhouse sink: memory and backpressure', () => {
  it('keeps the spill queue at max_bytes by making writes wait, and loses nothing', async () => {
    const database = freshDb();
    const fx = fixture();
    const faults = new FaultInjector();
    const maxBytes = 6_000;
    const sink = new ClickHouseSink(sinkConfig(database, { spill: { max_bytes: maxBytes } }), context(fx.registry), { client: faults.wrap(client) });
    await sink.start();
    faults.set('refused');
    let resolved = 0;
    const writes = fx.batches.map((b) => sink.write(b).then(() => resolved++));
    let peakBytes = 0;
    let peakInFlight = 0;
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline) {
      const s = sink.stats();
      peakBytes = Math.max(peakBytes, s.spillBytes);
      peakInFlight = Math.max(peakInFlight, s.inFlight);
      await new Promise((r) => setTimeout(r, 5));
    }
    // Full: later writes wait instead of growing the queue (or memory) without bound.
    expect(resolved).toBeLessThan(fx.batches.length);
    expect(peakBytes).toBeLessThanOrEqual(maxBytes);
    expect(peakInFlight).toBeLessThanOrEqual(2);
    faults.set('none');
    await Promise.all(writes);
    await sink.idle();
    expect((await stored(database, false)).raw).toEqual(fx.raw);
    await sink.close();
  });
});

describe('clickhouse sink: batching', () => {
  it('flushes once the runtime has handed over as many batches as it may, without waiting for max_wait', async () => {
    const database = freshDb();
    const fx = fixture();
    const sink = new ClickHouseSink(sinkConfig(database, { batch: { max_rows: 1_000_000, max_wait: '1h' } }), context(fx.registry), { client });
    await sink.start();
    const samples = fx.batches.filter((b) => b.kind === 'samples');
    // More batches than the sink's concurrency: the first `concurrency` must share a block and
    // resolve, or the rest would never be handed over (the hour-long max_wait would stall it).
    const many = Array.from({ length: sink.concurrency }, (_, i) => samples[i % samples.length]);
    const started = Date.now();
    await writeAll(sink, many);
    expect(Date.now() - started).toBeLessThan(10_000);
    // The same batches several times over: FINAL shows each sample once.
    expect((await stored(database, true)).raw).toEqual(fx.raw);
    await sink.close();
  });
});

describe('clickhouse sink: what it refuses', () => {
  it('fails a rollup batch of a resolution it does not store, and counts it', async () => {
    const database = freshDb();
    const fx = fixture();
    const self = new SelfMetrics();
    const sink = new ClickHouseSink(sinkConfig(database, { rollups: ['1h'], raw: false }), context(fx.registry, self), { client });
    await sink.start();
    const five = fx.batches.find((b) => b.kind === 'rollups' && b.resolutionMs === 300_000)!;
    await expect(sink.write(five)).rejects.toThrow(/resolution 300000 ms arrived; this sink stores 60m/);
    expect(await metric(self, 'sluice_component_errors_total')).toEqual({ 'clickhouse,rollup_resolution': 1 });
    // raw: false: samples are acknowledged and counted as discarded, nothing stored.
    await writeAll(sink, fx.batches.filter((b) => b.kind === 'samples' || b.resolutionMs === 3_600_000));
    await sink.idle();
    const got = await stored(database, false);
    expect([got.raw.length, got.r5m.length, got.r1h]).toEqual([0, 0, fx.r1h]);
    expect(await metric(self, 'sluice_component_discarded_samples_total')).toEqual({ 'clickhouse,raw_not_stored': fx.raw.length });
    expect(sink.clickhouse?.database).toBe(database);
    await sink.close();
  });
});
