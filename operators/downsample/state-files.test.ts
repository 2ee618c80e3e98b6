import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labelsFromRecord, type Labels } from '../../model/labels.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import { float64Bits, NORMAL_NAN, STALE_NAN } from '../../model/stale-nan.ts';
import { ByteWriter } from '../../sinks/chunks/block/byte-buffer.ts';
import { DownsampleState } from './downsample-state.ts';
import { decodeLog, decodeSnapshot, encodeSnapshot, FileKind, header, HEADER_BYTES, LogEncoder, StateFormatError } from './state-codec.ts';
import { logFileName, SNAPSHOT_FILE, StateFiles } from './state-files.ts';

const M = 60_000;
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'sluice-downsample-'));
  dirs.push(d);
  return d;
}

const series = (i: number): Labels => labelsFromRecord({ __name__: 'http_requests_total', instance: `host-${i}`, path: `/q'"\\${i}` });

/** A registry holding `n` series in order, plus one interned first so refs differ from a fresh registry's. */
function registryWith(n: number, offset = 0): SeriesRegistry {
  const r = new SeriesRegistry();
  for (let i = 0; i < offset; i++) r.intern(labelsFromRecord({ __name__: 'filler', i: String(i) }));
  for (let i = 0; i < n; i++) r.intern(series(i));
  return r;
}

/** Log bytes of three batches; the middle one carries a stale marker and a NaN with a payload. */
function sampleLog(reg: SeriesRegistry): { bytes: Uint8Array; values: Float64Array } {
  const enc = new LogEncoder((ref) => reg.labels(ref));
  const w = new ByteWriter();
  w.bytes(header(FileKind.log));
  const values = new Float64Array(3);
  values[0] = 1.5;
  values[1] = STALE_NAN;
  values[2] = NORMAL_NAN;
  const refs = Uint32Array.of(reg.lookup(series(0)), reg.lookup(series(1)), reg.lookup(series(2)));
  enc.samples(w, 'a', refs.subarray(0, 1), Float64Array.of(0), values.subarray(0, 1), 1, -Infinity);
  enc.samples(w, 'b', refs, Float64Array.of(M, 2 * M, 3 * M), values, 3, 5 * M);
  enc.settled(w, 7);
  enc.flush(w);
  return { bytes: w.view().slice(), values };
}

describe('state codec', () => {
  it('round-trips a log into another registry, stale markers and NaN payloads bit-exact, labels once per file', () => {
    const writer = registryWith(3, 5);
    const { bytes, values } = sampleLog(writer);
    const reader = new SeriesRegistry();
    const { records, damage } = decodeLog(bytes, 'log', (l) => reader.intern(l));
    expect(damage).toBeUndefined();
    expect(records.map((r) => r.type)).toEqual(['samples', 'samples', 'settled', 'flush']);
    const b = records[1];
    if (b.type !== 'samples') throw new Error('unreachable');
    expect([...b.refs].map((ref) => reader.labels(ref))).toEqual([series(0), series(1), series(2)]);
    expect([...b.values].map(float64Bits)).toEqual([...values].map(float64Bits));
    expect(b.watermark).toBe(5 * M);
    expect(records[2]).toEqual({ type: 'settled', id: 7 });
    // Series 0 was named in the first batch: its labels appear once in the file.
    expect(Buffer.from(bytes).toString('latin1').split('host-0').length - 1).toBe(1);
  });

  it('round-trips a snapshot of a whole state into another registry', () => {
    const writer = registryWith(4, 3);
    const state = new DownsampleState([5 * M, 60 * M]);
    const ref = (i: number) => writer.lookup(series(i));
    const batch = (tenant: string, rows: number[][], wm: number) =>
      state.ingest(tenant, Uint32Array.from(rows, (r) => ref(r[0])), Float64Array.from(rows, (r) => r[1]), Float64Array.from(rows, (r) => r[2]), rows.length, wm);
    batch('a', [[0, 0, 10], [1, M, 3], [0, 2 * M, 2]], -Infinity);
    batch('b', [[2, 4 * M, 1], [3, 6 * M, 5]], 7 * M);
    batch('a', [[0, 8 * M, 4]], 9 * M);
    state.settle(2);
    const bytes = encodeSnapshot(state.snapshot(), 42, (r) => writer.labels(r));

    const reader = new SeriesRegistry();
    const decoded = decodeSnapshot(bytes, SNAPSHOT_FILE, (l) => reader.intern(l));
    expect(decoded.damage).toBeUndefined();
    expect(decoded.nextLog).toBe(42);
    // Same state, series named by labels instead of refs.
    const byLabels = (reg: SeriesRegistry) => (key: string, value: unknown) => (key === 'ref' && typeof value === 'number' ? reg.labels(value).join(',') : value);
    expect(JSON.stringify(decoded.snapshot, byLabels(reader))).toBe(JSON.stringify(state.snapshot(), byLabels(writer)));
  });

  // Cut or flip bytes of a log of three samples records: the records before the damage are used,
  // the report names the file and the offset of the first record not used.
  it.each([
    { name: 'a torn tail', damage: (b: Uint8Array) => b.subarray(0, b.length - 3), records: 3, at: 'last', reason: /torn record/ },
    { name: 'a tail cut inside a record header', cutToRecord: 3, records: 1, at: 3, reason: /torn record/ },
    { name: 'a flipped byte in the second SERIES record', flipInRecord: 2, records: 1, at: 2, reason: /checksum mismatch/ },
    { name: 'an empty file', damage: () => new Uint8Array(0), records: 0, at: 'start', reason: /shorter than its 8-byte header/ },
    { name: 'another file', damage: (b: Uint8Array) => Uint8Array.from(b, (x, i) => (i === 0 ? 0x50 : x)), records: 0, at: 'start', reason: /bad magic/ },
  ])('reports $name with file and offset and uses the good part', ({ damage, cutToRecord, flipInRecord, records, at, reason }) => {
    const reg = registryWith(3);
    const { bytes } = sampleLog(reg);
    // Record boundaries, from the framing (type u8, length u32le, payload, crc u32le). The
    // records are SERIES, SAMPLES, SERIES, SAMPLES, SETTLED, FLUSH; SERIES decode to nothing.
    const starts: number[] = [];
    for (let p = HEADER_BYTES; p < bytes.length; p += 9 + new DataView(bytes.buffer).getUint32(p + 1, true)) starts.push(p);
    expect(starts).toHaveLength(6);
    let damaged: Uint8Array;
    if (damage) damaged = damage(bytes);
    else if (cutToRecord !== undefined) damaged = bytes.subarray(0, starts[cutToRecord] + 2);
    else {
      damaged = bytes.slice();
      damaged[starts[flipInRecord!] + 12] ^= 0xff;
    }
    const got = decodeLog(damaged, '/state/log-00000002', (l) => reg.intern(l));
    expect(got.records.length).toBe(records);
    expect(got.damage).toMatchObject({ file: '/state/log-00000002', reason: expect.stringMatching(reason) });
    const offset = at === 'start' ? 0 : at === 'last' ? starts[5] : starts[at as number];
    expect(got.damage!.offset).toBe(offset);
    expect(got.damage!.bytesDropped).toBe(damaged.length - offset);
  });

  it('refuses a file of another format version rather than treating it as damage', () => {
    const bytes = header(FileKind.snapshot);
    bytes[4] = 9;
    expect(() => decodeSnapshot(bytes, 'snap', () => 0)).toThrow(StateFormatError);
    expect(() => decodeSnapshot(bytes, 'snap', () => 0)).toThrow(/version 9, this build reads version 1/);
  });

  it('reports a snapshot cut before its END record', () => {
    const reg = registryWith(1);
    const state = new DownsampleState([5 * M]);
    state.ingest('a', Uint32Array.of(0), Float64Array.of(0), Float64Array.of(1), 1, -Infinity);
    const bytes = encodeSnapshot(state.snapshot(), 3, (r) => reg.labels(r));
    const cut = bytes.subarray(0, bytes.length - 10);
    const got = decodeSnapshot(cut, 'snap', (l) => reg.intern(l));
    expect(got.damage?.reason).toMatch(/without its END record/);
    expect(got.snapshot?.tenants).toHaveLength(1); // the good part is used
  });
});

describe('StateFiles', () => {
  const hooks = () => {
    const durable: number[] = [];
    const checkpoints: number[] = [];
    return { durable, checkpoints, hooks: { onDurable: (s: number) => durable.push(s), onFailure: (e: Error) => { throw e; }, onCheckpoint: (i: { bytes: number }) => checkpoints.push(i.bytes) } };
  };

  it('writes a snapshot and a log of a new generation, reports durability, and reads both back after a restart', async () => {
    const dir = await tempDir();
    const reg = registryWith(2);
    const h = hooks();
    const { files, recovered } = await StateFiles.open(dir, (l) => reg.intern(l), (r) => reg.labels(r), h.hooks);
    expect(recovered).toEqual({ records: [], damage: [], logs: [] });
    const state = new DownsampleState([5 * M]);
    files.checkpoint(state.snapshot());
    const s1 = files.logSamples('a', Uint32Array.of(0, 1), Float64Array.of(0, M), Float64Array.of(1, 2), 2, -Infinity);
    const s2 = files.logSettled(3);
    files.sync();
    await files.idle();
    expect(h.durable.at(-1)).toBe(s2);
    expect(s2).toBeGreaterThan(s1);
    expect(h.checkpoints).toHaveLength(1);
    await files.close();
    expect((await readdir(dir)).sort()).toEqual([logFileName(2), SNAPSHOT_FILE]);

    const reg2 = new SeriesRegistry();
    const again = await StateFiles.open(dir, (l) => reg2.intern(l), (r) => reg2.labels(r), hooks().hooks);
    expect(again.recovered.snapshot?.resolutions).toEqual([5 * M]);
    expect(again.recovered.logs).toEqual([logFileName(2)]);
    expect(again.recovered.records.map((r) => r.type)).toEqual(['samples', 'settled']);
    // The next run's first checkpoint covers that log, which is then deleted.
    again.files.checkpoint(state.snapshot());
    await again.files.close();
    expect((await readdir(dir)).sort()).toEqual([SNAPSHOT_FILE]);
  });

  it('groups appends of one tick into one write and fsync', async () => {
    const dir = await tempDir();
    const reg = registryWith(1);
    const h = hooks();
    const { files } = await StateFiles.open(dir, (l) => reg.intern(l), (r) => reg.labels(r), h.hooks);
    files.checkpoint(new DownsampleState([5 * M]).snapshot());
    await files.idle();
    h.durable.length = 0;
    for (let i = 0; i < 50; i++) {
      files.logSamples('a', Uint32Array.of(0), Float64Array.of(i * 1000), Float64Array.of(i), 1, -Infinity);
      files.sync();
    }
    await files.idle();
    expect(h.durable).toEqual([50]);
    await files.close();
  });

  it('keeps a damaged log (renamed .damaged), replays its good part, and skips logs after it', async () => {
    const dir = await tempDir();
    const reg = registryWith(1);
    const { files } = await StateFiles.open(dir, (l) => reg.intern(l), (r) => reg.labels(r), hooks().hooks);
    files.checkpoint(new DownsampleState([5 * M]).snapshot());
    files.logSamples('a', Uint32Array.of(0), Float64Array.of(0), Float64Array.of(1), 1, -Infinity);
    files.logSamples('a', Uint32Array.of(0), Float64Array.of(M), Float64Array.of(2), 1, -Infinity);
    files.sync();
    await files.close();
    const log = join(dir, logFileName(2));
    const size = (await readFile(log)).length;
    await truncate(log, size - 5);
    // A later log a crashed run might have left: it follows the gap, so it must not be replayed.
    await writeFile(join(dir, logFileName(3)), header(FileKind.log));

    const reg2 = new SeriesRegistry();
    const again = await StateFiles.open(dir, (l) => reg2.intern(l), (r) => reg2.labels(r), hooks().hooks);
    expect(again.recovered.records).toHaveLength(1);
    expect(again.recovered.damage).toEqual([
      expect.objectContaining({ file: log, reason: expect.stringMatching(/torn record/), bytesDropped: expect.any(Number) }),
      expect.objectContaining({ file: join(dir, logFileName(3)), offset: 0, reason: expect.stringMatching(/follows the damaged/) }),
    ]);
    again.files.checkpoint(new DownsampleState([5 * M]).snapshot());
    await again.files.close();
    expect((await readdir(dir)).sort()).toEqual([`${logFileName(2)}.damaged`, `${logFileName(3)}.damaged`, SNAPSHOT_FILE]);
  });

  it('reports a damaged snapshot by file and offset, uses its good records, and keeps a copy (.damaged) when replacing it', async () => {
    const dir = await tempDir();
    const reg = registryWith(2);
    const state = new DownsampleState([5 * M]);
    state.ingest('a', Uint32Array.of(0), Float64Array.of(0), Float64Array.of(1), 1, -Infinity);
    state.ingest('b', Uint32Array.of(1), Float64Array.of(0), Float64Array.of(2), 1, -Infinity);
    const { files } = await StateFiles.open(dir, (l) => reg.intern(l), (r) => reg.labels(r), hooks().hooks);
    files.checkpoint(state.snapshot());
    await files.close();
    // Flip a byte in the last TENANT record (tenant b): tenant a is still used.
    const path = join(dir, SNAPSHOT_FILE);
    const bytes = await readFile(path);
    const at = bytes.lastIndexOf(Buffer.from('b')) + 2;
    bytes[at] ^= 0xff;
    await writeFile(path, bytes);

    const reg2 = new SeriesRegistry();
    const again = await StateFiles.open(dir, (l) => reg2.intern(l), (r) => reg2.labels(r), hooks().hooks);
    expect(again.recovered.snapshot?.tenants.map((t) => t.tenant)).toEqual(['a']);
    expect(again.recovered.damage).toEqual([
      { file: path, offset: expect.any(Number), bytesDropped: expect.any(Number), reason: expect.stringMatching(/checksum mismatch in a record of type 17/) },
    ]);
    expect(again.recovered.damage[0].offset).toBeLessThan(at);
    again.files.checkpoint(DownsampleState.restore(again.recovered.snapshot!).snapshot());
    await again.files.close();
    expect((await readdir(dir)).sort()).toEqual([SNAPSHOT_FILE, `${SNAPSHOT_FILE}.damaged`]);
    expect(await readFile(join(dir, `${SNAPSHOT_FILE}.damaged`))).toEqual(bytes);
  });
});
