import { appendFile, cp, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { labelsFromRecord } from '../../../model/labels.ts';
import { STALE_NAN } from '../../../model/stale-nan.ts';
import { encodeRecords, type SamplesRecord, type WalRecord } from './records.ts';
import { SEGMENT_HEADER_BYTES, segmentName, WalClosedError, WalError, WalVersionError, WriteAheadLog, type FsyncPolicy, type WalOptions } from './wal.ts';
import { seededRandom } from '../../../bench/seeded-random.ts';

const T0 = 1_700_000_000_000;
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-wal-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});


function samples(refs: number[], ts: number[], values: number[]): SamplesRecord {
  return { kind: 'samples', refs: Uint32Array.from(refs), ts: Float64Array.from(ts), values: Float64Array.from(values) };
}

/** The i-th record of a deterministic stream: a series now and then, samples otherwise. */
function recordAt(i: number): WalRecord {
  if (i % 10 === 0) return { kind: 'series', series: [{ ref: i, labels: labelsFromRecord({ __name__: 'm', i: String(i) }) }] };
  const n = 1 + (i % 7);
  const refs = Array.from({ length: n }, (_, j) => i * 8 + j);
  return samples(
    refs,
    refs.map((_, j) => T0 + i * 1000 + j),
    refs.map((_, j) => (j === 3 ? STALE_NAN : i + j / 10)),
  );
}

/** Records as plain data with values as bit patterns, for exact comparison. */
function normalize(r: WalRecord): unknown {
  switch (r.kind) {
    case 'series':
      return { kind: r.kind, series: r.series.map((s) => ({ ref: s.ref, labels: [...s.labels] })) };
    case 'samples': {
      const n = r.length ?? r.refs.length;
      return { kind: r.kind, refs: [...r.refs.subarray(0, n)], ts: [...r.ts.subarray(0, n)], values: [...new BigUint64Array(r.values.buffer, r.values.byteOffset, n)] };
    }
    case 'deleted_series':
      return { kind: r.kind, refs: [...r.refs] };
  }
}

async function replayAll(wal: WriteAheadLog): Promise<{ records: WalRecord[]; report: Awaited<ReturnType<WriteAheadLog['replay']>> }> {
  const records: WalRecord[] = [];
  const report = await wal.replay((r) => records.push(r));
  return { records, report };
}

async function reopenAndReplay(dir: string, options: WalOptions = {}) {
  const wal = await WriteAheadLog.open(dir, options);
  const result = await replayAll(wal);
  return { wal, ...result };
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^\d{8}$/.test(n)).sort();
}

async function diskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

describe('WriteAheadLog: logging and replay', () => {
  it('replays exactly what was logged, across reopen', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    expect((await replayAll(wal)).records).toEqual([]);
    const logged = Array.from({ length: 50 }, (_, i) => recordAt(i));
    for (let i = 0; i < logged.length; i += 5) await wal.log(logged.slice(i, i + 5));
    await wal.log([{ kind: 'deleted_series', refs: Uint32Array.from([10, 20]) }]);
    logged.push({ kind: 'deleted_series', refs: Uint32Array.from([10, 20]) });
    expect(wal.size()).toBe(await diskBytes(dir));
    await wal.close();

    const again = await reopenAndReplay(dir);
    expect(again.records.map(normalize)).toEqual(logged.map(normalize));
    expect(again.report).toMatchObject({ checkpoint: null, segments: 1, records: logged.length, corruptions: [] });
    // A second run appends to a new segment; both replay in order.
    await again.wal.log([recordAt(100)]);
    await again.wal.close();
    const third = await reopenAndReplay(dir);
    expect(third.records.map(normalize)).toEqual([...logged, recordAt(100)].map(normalize));
    expect(await segmentFiles(dir)).toEqual(['00000001', '00000002']);
    await third.wal.close();
  });

  it('logs the first `length` samples and copies them before log() returns', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    const r: SamplesRecord = { ...samples([1, 2, 3], [T0, T0, T0], [1, 2, 3]), length: 2 };
    const pending = wal.log([r]);
    r.values[0] = 99; // the caller may reuse its arrays at once
    await pending;
    await wal.close();
    const { records } = await reopenAndReplay(dir);
    expect(records.map(normalize)).toEqual([normalize(samples([1, 2], [T0, T0], [1, 2]))]);
  });

  it('rejects a malformed record and logs nothing of that call', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    await expect(wal.log([recordAt(1), { kind: 'series', series: [{ ref: 1.5, labels: [] }] }])).rejects.toThrow(RangeError);
    await wal.log([recordAt(2)]);
    await wal.close();
    expect((await reopenAndReplay(dir)).records.map(normalize)).toEqual([normalize(recordAt(2))]);
  });

  it('rolls segments when full, never splitting a record; an oversized record gets a segment of its own', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir, { segmentSize: 4096 });
    const logged: WalRecord[] = [];
    for (let i = 0; i < 200; i++) {
      logged.push(recordAt(i));
      await wal.log([recordAt(i)]);
    }
    const big = samples(
      Array.from({ length: 1000 }, (_, i) => i),
      Array.from({ length: 1000 }, () => T0),
      Array.from({ length: 1000 }, (_, i) => i),
    );
    await wal.log([big, recordAt(500)]);
    logged.push(big, recordAt(500));
    const stats = wal.stats();
    await wal.close();
    const files = await segmentFiles(dir);
    expect(files.length).toBeGreaterThan(3);
    expect(stats.segments).toBe(files.length);
    expect(files[0]).toBe('00000001');
    expect(files.at(-1)).toBe(segmentName(files.length));
    for (const f of files.slice(0, -2)) expect((await stat(join(dir, f))).size).toBeLessThanOrEqual(4096);
    expect((await stat(join(dir, files.at(-2)!))).size).toBeGreaterThan(4096);
    const { records, report } = await reopenAndReplay(dir, { segmentSize: 4096 });
    expect(records.map(normalize)).toEqual(logged.map(normalize));
    expect(report.corruptions).toEqual([]);
    expect(report.segments).toBe(files.length);
  });

  it('refuses log() after close and replay() after log()', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    await wal.log([recordAt(1)]);
    await expect(wal.replay(() => undefined)).rejects.toThrow(WalError);
    await wal.close();
    await expect(wal.log([recordAt(2)])).rejects.toThrow(WalClosedError);
    await wal.close(); // idempotent
  });

  it('rejects bad options', async () => {
    const dir = await tempDir();
    await expect(WriteAheadLog.open(dir, { segmentSize: 10 })).rejects.toThrow(RangeError);
    await expect(WriteAheadLog.open(dir, { fsync: 'sometimes' as FsyncPolicy })).rejects.toThrow(RangeError);
  });

  it('refuses a segment of another format version instead of repairing it', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    await wal.log([recordAt(1)]);
    await wal.close();
    const path = join(dir, '00000001');
    const bytes = await readFile(path);
    bytes[4] = 99;
    await writeFile(path, bytes);
    const again = await WriteAheadLog.open(dir);
    await expect(again.replay(() => undefined)).rejects.toThrow(WalVersionError);
    expect((await readFile(path)).length).toBe(bytes.length);
  });
});

describe('WriteAheadLog: fsync policies and group commit', () => {
  it('batch: concurrent log() calls share fsyncs', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir, { fsync: 'batch' });
    await wal.log([recordAt(0)]); // creates the segment
    const before = wal.stats().fsyncs;
    const n = 50;
    await Promise.all(Array.from({ length: n }, (_, i) => wal.log([recordAt(i + 1)])));
    const used = wal.stats().fsyncs - before;
    expect(used).toBeGreaterThanOrEqual(1);
    expect(used).toBeLessThan(n);
    // Calls arriving while an fsync is in flight join the next group.
    const waves: Promise<void>[] = [];
    const before2 = wal.stats().fsyncs;
    for (let i = 0; i < n; i++) {
      waves.push(wal.log([recordAt(i)]));
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(waves);
    expect(wal.stats().fsyncs - before2).toBeLessThan(n);
    expect(wal.stats().recordsWritten).toBe(1 + 2 * n);
    await wal.close();
  });

  it('always: one fsync per log() call', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir, { fsync: 'always' });
    await wal.log([recordAt(0)]);
    const before = wal.stats().fsyncs;
    await Promise.all(Array.from({ length: 20 }, (_, i) => wal.log([recordAt(i + 1)])));
    expect(wal.stats().fsyncs - before).toBe(20);
    await wal.close();
    expect((await reopenAndReplay(dir)).records).toHaveLength(21);
  });

  it('never: no fsync on the write path', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir, { fsync: 'never', segmentSize: 4096 });
    for (let i = 0; i < 100; i++) await wal.log([recordAt(i)]);
    expect(wal.stats().fsyncs).toBe(0);
    expect(wal.stats().segments).toBeGreaterThan(1);
    await wal.close();
    expect((await reopenAndReplay(dir)).records).toHaveLength(100);
  });

  it('counts what it writes', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    await wal.log([recordAt(1), recordAt(2), recordAt(10)]);
    const s = wal.stats();
    expect(s).toMatchObject({ segments: 1, recordsWritten: 3, samplesWritten: 2 + 3, corruptions: 0, checkpoints: 0 });
    expect(s.bytesWritten).toBe(encodeRecords([recordAt(1), recordAt(2), recordAt(10)]).length);
    expect(s.bytes).toBe(s.bytesWritten + SEGMENT_HEADER_BYTES);
    await wal.close();
  });
});

describe('WriteAheadLog: checkpoints', () => {
  it('keeps live series and recent samples, drops covered segments, and bounds replay', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir, { segmentSize: 4096 });
    const labels = (ref: number) => labelsFromRecord({ __name__: 'm', ref: String(ref) });
    for (let ref = 1; ref <= 20; ref++) await wal.log([{ kind: 'series', series: [{ ref, labels: labels(ref) }] }]);
    for (let t = 0; t < 50; t++) {
      await wal.log([samples(Array.from({ length: 20 }, (_, j) => j + 1), Array.from({ length: 20 }, () => T0 + t * 1000), Array.from({ length: 20 }, (_, j) => t * 100 + j))]);
    }
    await wal.log([{ kind: 'deleted_series', refs: Uint32Array.from([3]) }]);
    const segmentsBefore = (await segmentFiles(dir)).length;
    expect(segmentsBefore).toBeGreaterThan(2);

    const live = (ref: number) => ref % 2 === 0;
    const minTime = T0 + 40_000;
    const result = await wal.checkpoint({ liveSeries: live, minTime });
    expect(result).toMatchObject({ index: segmentsBefore, series: 10, samples: 10 * 10, segmentsDeleted: segmentsBefore });
    expect(await segmentFiles(dir)).toEqual([]);
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint.'))).toEqual([`checkpoint.${segmentName(segmentsBefore)}`]);
    // Logging goes on in the next segment.
    await wal.log([samples([2], [T0 + 60_000], [7])]);
    expect(wal.size()).toBe(await diskBytes(dir));
    await wal.close();

    const again = await reopenAndReplay(dir, { segmentSize: 4096 });
    expect(again.report.checkpoint).toBe(segmentsBefore);
    expect(again.report.corruptions).toEqual([]);
    const series = again.records.flatMap((r) => (r.kind === 'series' ? r.series.map((s) => s.ref) : []));
    expect(series).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    const got: [number, number, number][] = [];
    for (const r of again.records) if (r.kind === 'samples') for (let i = 0; i < r.refs.length; i++) got.push([r.refs[i], r.ts[i], r.values[i]]);
    const want: [number, number, number][] = [];
    for (let t = 40; t < 50; t++) for (let j = 0; j < 20; j++) if (live(j + 1)) want.push([j + 1, T0 + t * 1000, t * 100 + j]);
    want.push([2, T0 + 60_000, 7]);
    expect(got).toEqual(want);
    // A series record precedes every sample of its ref.
    const firstSamples = again.records.findIndex((r) => r.kind === 'samples');
    expect(again.records.slice(0, firstSamples).every((r) => r.kind === 'series')).toBe(true);

    // A second checkpoint folds the first one in and replaces it.
    const second = await again.wal.checkpoint({ liveSeries: (ref) => ref === 2, minTime: T0 + 49_000 });
    expect(second.index).toBe(segmentsBefore + 1);
    expect((await readdir(dir)).filter((n) => n.startsWith('checkpoint.'))).toEqual([`checkpoint.${segmentName(segmentsBefore + 1)}`]);
    await again.wal.close();
    const third = await reopenAndReplay(dir);
    expect(third.records.map(normalize)).toEqual([
      normalize({ kind: 'series', series: [{ ref: 2, labels: labels(2) }] }),
      normalize(samples([2, 2], [T0 + 49_000, T0 + 60_000], [4901, 7])),
    ]);
    await third.wal.close();
  });

  it('keeps a deletion when the ref was reused, and runs while log() continues', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    await wal.log([{ kind: 'series', series: [{ ref: 1, labels: labelsFromRecord({ __name__: 'old' }) }] }]);
    await wal.log([{ kind: 'deleted_series', refs: Uint32Array.from([1, 2]) }]);
    await wal.log([{ kind: 'series', series: [{ ref: 1, labels: labelsFromRecord({ __name__: 'new' }) }] }]);
    const during = [wal.log([recordAt(11)]), wal.checkpoint({ liveSeries: (r) => r === 1, minTime: Infinity }), wal.log([recordAt(12)])];
    const [, cp] = await Promise.all(during);
    expect(cp).toMatchObject({ index: 1, series: 2, samples: 0 });
    await wal.close();
    const { records } = await reopenAndReplay(dir);
    expect(records.map(normalize)).toEqual(
      [
        { kind: 'series', series: [{ ref: 1, labels: labelsFromRecord({ __name__: 'old' }) }] },
        { kind: 'deleted_series', refs: Uint32Array.from([1]) },
        { kind: 'series', series: [{ ref: 1, labels: labelsFromRecord({ __name__: 'new' }) }] },
        // recordAt(11) went into the checkpointed segment and its samples are older than minTime.
        recordAt(12),
      ].map((r) => normalize(r as WalRecord)),
    );
  });

  it('with nothing logged is a no-op; a leftover temp checkpoint is ignored and removed', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    expect(await wal.checkpoint({ liveSeries: () => true, minTime: 0 })).toMatchObject({ index: null });
    await wal.log([recordAt(1)]);
    await wal.close();
    await cp(join(dir, '00000001'), join(dir, 'checkpoint.00000009.tmp', '00000001'), { recursive: true });
    const again = await reopenAndReplay(dir);
    expect(again.records).toHaveLength(1);
    expect(await readdir(dir)).toEqual(['00000001']);
    await again.wal.close();
  });

  it('replay skips segments a checkpoint covers when their deletion was interrupted', async () => {
    const dir = await tempDir();
    const wal = await WriteAheadLog.open(dir);
    await wal.log([recordAt(1)]);
    const saved = await readFile(join(dir, '00000001'));
    await wal.checkpoint({ liveSeries: () => true, minTime: 0 });
    await wal.close();
    await writeFile(join(dir, '00000001'), saved);
    const { records, report } = await reopenAndReplay(dir);
    expect(records.map(normalize)).toEqual([normalize(recordAt(1))]);
    expect(report.corruptions).toEqual([]);
  });
});

describe('WriteAheadLog: damage', () => {
  /** Logs `count` records one per call across segments; returns them and each record's end offset per segment. */
  async function writeLog(dir: string, count: number, segmentSize = 4096) {
    const wal = await WriteAheadLog.open(dir, { segmentSize });
    const logged: WalRecord[] = [];
    for (let i = 0; i < count; i++) {
      logged.push(recordAt(i));
      await wal.log([recordAt(i)]);
    }
    await wal.close();
    // Rebuild where each record landed: segments fill in order, a record never split.
    const files = await segmentFiles(dir);
    const place: { file: string; end: number }[] = [];
    let f = 0;
    let pos = SEGMENT_HEADER_BYTES;
    for (const r of logged) {
      const size = encodeRecords([r]).length;
      if (pos > SEGMENT_HEADER_BYTES && pos + size > segmentSize) {
        f++;
        pos = SEGMENT_HEADER_BYTES;
      }
      pos += size;
      place.push({ file: files[f], end: pos });
    }
    return { logged, files, place };
  }

  it('torn tail: every record fully written before a cut is replayed, and the log stays appendable', async () => {
    const base = await tempDir();
    const { logged, files, place } = await writeLog(base, 120);
    const last = files.at(-1)!;
    const lastSize = (await stat(join(base, last))).size;
    const firstInLast = place.findIndex((p) => p.file === last);
    const random = seededRandom(42);
    const cuts = new Set<number>([0, 1, SEGMENT_HEADER_BYTES - 1, SEGMENT_HEADER_BYTES, lastSize - 1]);
    while (cuts.size < 40) cuts.add(Math.floor(random() * lastSize));
    for (const cut of cuts) {
      const dir = await tempDir();
      await cp(base, dir, { recursive: true });
      await truncate(join(dir, last), cut);
      const { wal, records, report } = await reopenAndReplay(dir);
      const expected = logged.filter((_, i) => i < firstInLast || place[i].end <= cut);
      expect(records.map(normalize), `cut at ${cut}`).toEqual(expected.map(normalize));
      const onBoundary = cut === SEGMENT_HEADER_BYTES || place.some((p) => p.file === last && p.end === cut);
      if (onBoundary) {
        expect(report.corruptions).toEqual([]);
      } else {
        expect(report.corruptions).toHaveLength(1);
        const validEnd = cut < SEGMENT_HEADER_BYTES ? 0 : Math.max(SEGMENT_HEADER_BYTES, ...place.filter((p) => p.file === last && p.end <= cut).map((p) => p.end));
        expect(report.corruptions[0]).toMatchObject({ file: last, repaired: true, recordsLost: 0, offset: validEnd, bytesDropped: cut - validEnd });
      }
      // Appends continue; the next replay is clean and complete.
      await wal.log([recordAt(1000)]);
      await wal.close();
      const again = await reopenAndReplay(dir);
      expect(again.report.corruptions, `cut at ${cut}`).toEqual([]);
      expect(again.records.map(normalize)).toEqual([...expected, recordAt(1000)].map(normalize));
      await again.wal.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a zero-filled tail is cut off', async () => {
    const dir = await tempDir();
    const { logged, files } = await writeLog(dir, 30);
    await appendFile(join(dir, files.at(-1)!), Buffer.alloc(5000));
    const { wal, records, report } = await reopenAndReplay(dir);
    expect(records.map(normalize)).toEqual(logged.map(normalize));
    expect(report.corruptions).toMatchObject([{ reason: 'zero-filled tail', bytesDropped: 5000, repaired: true }]);
    await wal.close();
  });

  it('a flipped byte mid-way through an earlier segment: reported, the rest of the log served', async () => {
    const dir = await tempDir();
    const { logged, files, place } = await writeLog(dir, 300);
    expect(files.length).toBeGreaterThan(2);
    const victim = files[0];
    const inVictim = place.map((p, i) => ({ ...p, i })).filter((p) => p.file === victim);
    const hit = inVictim[Math.floor(inVictim.length / 2)];
    const start = hit.i === inVictim[0].i ? SEGMENT_HEADER_BYTES : place[hit.i - 1].end;
    const bytes = await readFile(join(dir, victim));
    bytes[start + 7] ^= 0x01; // inside the payload: the length still holds, so later records are counted
    await writeFile(join(dir, victim), bytes);

    const { wal, records, report } = await reopenAndReplay(dir);
    const expected = logged.filter((_, i) => place[i].file !== victim || i < hit.i);
    expect(records.map(normalize)).toEqual(expected.map(normalize));
    expect(report.corruptions).toEqual([
      {
        file: victim,
        segment: 1,
        offset: start,
        bytesDropped: bytes.length - start,
        recordsLost: inVictim.length - (hit.i - inVictim[0].i),
        reason: 'checksum mismatch',
        repaired: false,
      },
    ]);
    expect(wal.stats().corruptions).toBe(1);
    // Not the tail: the file is left as it was.
    expect((await readFile(join(dir, victim))).equals(bytes)).toBe(true);
    await wal.close();
  });

  it('damage mid-way through the last segment truncates it there', async () => {
    const dir = await tempDir();
    const { logged, files, place } = await writeLog(dir, 60);
    const last = files.at(-1)!;
    const idx = place.map((p, i) => ({ ...p, i })).filter((p) => p.file === last);
    const hit = idx[1];
    const start = place[hit.i - 1].end;
    const path = join(dir, last);
    const bytes = await readFile(path);
    bytes[start + 2] ^= 0xff; // the length field
    await writeFile(path, bytes);
    const { wal, records, report } = await reopenAndReplay(dir);
    expect(records.map(normalize)).toEqual(logged.slice(0, hit.i).map(normalize));
    expect(report.corruptions).toHaveLength(1);
    expect(report.corruptions[0]).toMatchObject({ file: last, offset: start, repaired: true });
    expect((await stat(path)).size).toBe(start);
    await wal.close();
  });

  it('a segment with a broken header: the tail gets a fresh header, an earlier one is skipped', async () => {
    const dir = await tempDir();
    const { logged, files, place } = await writeLog(dir, 300);
    const path0 = join(dir, files[0]);
    const b0 = await readFile(path0);
    b0[0] ^= 0xff;
    await writeFile(path0, b0);
    const lastPath = join(dir, files.at(-1)!);
    await truncate(lastPath, 3);
    const { wal, records, report } = await reopenAndReplay(dir);
    expect(records.map(normalize)).toEqual(logged.filter((_, i) => place[i].file !== files[0] && place[i].file !== files.at(-1)).map(normalize));
    expect(report.corruptions.map((c) => [c.file, c.reason, c.repaired])).toEqual([
      [files[0], 'bad segment header magic', false],
      [files.at(-1), 'torn segment header', true],
    ]);
    expect((await stat(lastPath)).size).toBe(SEGMENT_HEADER_BYTES);
    await wal.close();
  });
});
