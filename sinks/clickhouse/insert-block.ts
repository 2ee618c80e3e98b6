import { createHash } from 'node:crypto';
import type { Labels } from '../../model/labels.ts';
import type { Rollup, RollupBatch } from '../../model/rollup-batch.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';

/**
 * An insert block: the unit the ClickHouse sink inserts, retries, spills and deduplicates. It is
 * self-contained: rows name series by an index into the block's own `series` list, which carries
 * each series' tenant and label set, because the SeriesRegistry refs of a batch mean nothing to
 * another process (a spilled block is drained after a restart).
 *
 * `encodeBlock` gives a block one canonical byte form: the spill queue stores it and
 * `blockToken` hashes it, so a block read back from the spill queue carries the same
 * deduplication token as its first attempt.
 */
export interface BlockSeries {
  readonly tenant: string;
  readonly labels: Labels;
}

export interface SampleBlock {
  readonly kind: 'samples';
  readonly series: readonly BlockSeries[];
  /** Per row: index into `series`. */
  readonly index: Uint32Array;
  readonly ts: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
}

export interface RollupBlock {
  readonly kind: 'rollups';
  readonly resolutionMs: number;
  readonly series: readonly BlockSeries[];
  /** `ref` of each rollup is an index into `series`. */
  readonly rollups: readonly Rollup[];
  readonly length: number;
}

export type InsertBlock = SampleBlock | RollupBlock;

export class BlockFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockFormatError';
  }
}

/**
 * Maps (tenant, registry ref) to a block-local series index. One map per tenant, keyed by ref, so
 * the per-sample lookup builds no string.
 */
class SeriesTable {
  readonly series: BlockSeries[] = [];
  private readonly byTenant = new Map<string, Map<number, number>>();

  indexer(tenant: string, labelsOf: (ref: number) => Labels): (ref: number) => number {
    let refs = this.byTenant.get(tenant);
    if (!refs) this.byTenant.set(tenant, (refs = new Map()));
    const map = refs;
    return (ref) => {
      let i = map.get(ref);
      if (i === undefined) {
        i = this.series.length;
        this.series.push({ tenant, labels: labelsOf(ref) });
        map.set(ref, i);
      }
      return i;
    };
  }
}

/**
 * Combines several sample batches into one block (the sink's size/time batching). Columns grow by
 * doubling; `append` copies values through typed arrays, so NaN payloads are kept.
 */
export class SampleBlockBuilder {
  private readonly table = new SeriesTable();
  private index = new Uint32Array(1024);
  private ts = new Float64Array(1024);
  private values = new Float64Array(1024);
  length = 0;

  append(batch: Pick<SampleBatch, 'refs' | 'ts' | 'values' | 'length' | 'tenant'>, labelsOf: (ref: number) => Labels): void {
    this.reserve(this.length + batch.length);
    const idx = this.table.indexer(batch.tenant, labelsOf);
    const base = this.length;
    for (let i = 0; i < batch.length; i++) this.index[base + i] = idx(batch.refs[i]);
    this.ts.set(batch.ts.subarray(0, batch.length), base);
    this.values.set(batch.values.subarray(0, batch.length), base);
    this.length += batch.length;
  }

  build(): SampleBlock {
    const n = this.length;
    return { kind: 'samples', series: this.table.series, index: this.index.slice(0, n), ts: this.ts.slice(0, n), values: this.values.slice(0, n), length: n };
  }

  private reserve(n: number): void {
    if (n <= this.index.length) return;
    let cap = this.index.length;
    while (cap < n) cap *= 2;
    const index = new Uint32Array(cap);
    index.set(this.index.subarray(0, this.length));
    const ts = new Float64Array(cap);
    ts.set(this.ts.subarray(0, this.length));
    const values = new Float64Array(cap);
    values.set(this.values.subarray(0, this.length));
    this.index = index;
    this.ts = ts;
    this.values = values;
  }
}

/** Combines rollup batches of one resolution into one block. */
export class RollupBlockBuilder {
  private readonly table = new SeriesTable();
  private readonly rollups: Rollup[] = [];

  constructor(readonly resolutionMs: number) {}

  get length(): number {
    return this.rollups.length;
  }

  append(batch: Pick<RollupBatch, 'rollups' | 'tenant' | 'resolutionMs'>, labelsOf: (ref: number) => Labels): void {
    if (batch.resolutionMs !== this.resolutionMs) {
      throw new Error(`bug: a ${batch.resolutionMs} ms rollup batch appended to a ${this.resolutionMs} ms block`);
    }
    const idx = this.table.indexer(batch.tenant, labelsOf);
    for (const r of batch.rollups) this.rollups.push({ ...r, ref: idx(r.ref) });
  }

  build(): RollupBlock {
    return { kind: 'rollups', resolutionMs: this.resolutionMs, series: this.table.series, rollups: this.rollups, length: this.rollups.length };
  }
}

/** A whole sample batch as a block of its own (the writer's simplest entry). */
export function sampleBlockOf(batch: Pick<SampleBatch, 'refs' | 'ts' | 'values' | 'length' | 'tenant'>, labelsOf: (ref: number) => Labels): SampleBlock {
  const b = new SampleBlockBuilder();
  b.append(batch, labelsOf);
  return b.build();
}

export function rollupBlockOf(batch: Pick<RollupBatch, 'rollups' | 'tenant' | 'resolutionMs'>, labelsOf: (ref: number) => Labels): RollupBlock {
  const b = new RollupBlockBuilder(batch.resolutionMs);
  b.append(batch, labelsOf);
  return b.build();
}

// ---------------------------------------------------------------------------------------------
// Canonical byte form (little-endian), version 1. Documented in README.md ("Spill queue").
//
//   u8 version (1) | u8 kind (1 samples, 2 rollups) | [rollups: f64 resolution ms]
//   u32 series count, per series: str tenant, u32 label string count, that many str
//   u32 rows, then
//     samples: u32 index[rows] | f64 ts[rows] | f64 value[rows]
//     rollups: per row u32 index, f64 start, u32 count, f64 sum, min, max, counter,
//              first_ts, first_value, last_ts, last_value
//   str: u32 byte length, UTF-8 bytes
//
// Floats are copied as bytes out of Float64Arrays, so every NaN payload is kept.

const BLOCK_VERSION = 1;
const KIND_SAMPLES = 1;
const KIND_ROLLUPS = 2;
const ROLLUP_ROW_BYTES = 4 + 8 + 4 + 8 * 8;

class Writer {
  private buf: Buffer;
  pos = 0;
  private readonly f64 = new Float64Array(1);
  private readonly f64Bytes = new Uint8Array(this.f64.buffer);

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.need(1);
    this.buf[this.pos++] = v;
  }

  u32(v: number): void {
    this.need(4);
    this.buf.writeUInt32LE(v, this.pos);
    this.pos += 4;
  }

  f64v(v: number): void {
    this.need(8);
    this.f64[0] = v;
    this.buf.set(this.f64Bytes, this.pos);
    this.pos += 8;
  }

  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.need(4 + n);
    this.buf.writeUInt32LE(n, this.pos);
    this.buf.write(s, this.pos + 4);
    this.pos += 4 + n;
  }

  bytes(view: ArrayBufferView): void {
    const src = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    this.need(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

class Reader {
  pos = 0;
  private readonly f64 = new Float64Array(1);
  private readonly f64Bytes = new Uint8Array(this.f64.buffer);

  constructor(private readonly buf: Buffer) {}

  private need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) throw new BlockFormatError(`block truncated reading ${what} at byte ${this.pos} of ${this.buf.length}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  f64v(what: string): number {
    this.need(8, what);
    this.f64Bytes.set(this.buf.subarray(this.pos, this.pos + 8));
    this.pos += 8;
    return this.f64[0];
  }

  str(what: string): string {
    const n = this.u32(what);
    this.need(n, what);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** Copies `n` elements into a fresh, aligned typed array. */
  array<T extends Uint32Array | Float64Array>(ctor: new (n: number) => T, n: number, what: string): T {
    const out = new ctor(n);
    const bytes = n * out.BYTES_PER_ELEMENT;
    this.need(bytes, what);
    new Uint8Array(out.buffer).set(this.buf.subarray(this.pos, this.pos + bytes));
    this.pos += bytes;
    return out;
  }
}

function writeSeries(w: Writer, series: readonly BlockSeries[]): void {
  w.u32(series.length);
  for (const s of series) {
    w.str(s.tenant);
    w.u32(s.labels.length);
    for (const l of s.labels) w.str(l);
  }
}

function readSeries(r: Reader): BlockSeries[] {
  const n = r.u32('series count');
  const out: BlockSeries[] = [];
  for (let i = 0; i < n; i++) {
    const tenant = r.str('tenant');
    const k = r.u32('label count');
    if (k % 2 !== 0) throw new BlockFormatError(`series ${i} has an odd label string count ${k}`);
    const labels: string[] = new Array(k);
    for (let j = 0; j < k; j++) labels[j] = r.str('label');
    out.push({ tenant, labels: Object.freeze(labels) });
  }
  return out;
}

export function encodeBlock(block: InsertBlock): Buffer {
  if (block.kind === 'samples') {
    const w = new Writer(64 + block.series.length * 64 + block.length * 20);
    w.u8(BLOCK_VERSION);
    w.u8(KIND_SAMPLES);
    writeSeries(w, block.series);
    w.u32(block.length);
    w.bytes(block.index.subarray(0, block.length));
    w.bytes(block.ts.subarray(0, block.length));
    w.bytes(block.values.subarray(0, block.length));
    return w.done();
  }
  const w = new Writer(64 + block.series.length * 64 + block.rollups.length * ROLLUP_ROW_BYTES);
  w.u8(BLOCK_VERSION);
  w.u8(KIND_ROLLUPS);
  w.f64v(block.resolutionMs);
  writeSeries(w, block.series);
  w.u32(block.rollups.length);
  for (const x of block.rollups) {
    w.u32(x.ref);
    w.f64v(x.start);
    w.u32(x.count);
    w.f64v(x.sum);
    w.f64v(x.min);
    w.f64v(x.max);
    w.f64v(x.counter);
    w.f64v(x.firstT);
    w.f64v(x.firstV);
    w.f64v(x.lastT);
    w.f64v(x.lastV);
  }
  return w.done();
}

export function decodeBlock(buf: Buffer): InsertBlock {
  const r = new Reader(buf);
  const version = r.u8('version');
  if (version !== BLOCK_VERSION) throw new BlockFormatError(`unknown block version ${version} (this sluice reads ${BLOCK_VERSION})`);
  const kind = r.u8('kind');
  let block: InsertBlock;
  if (kind === KIND_SAMPLES) {
    const series = readSeries(r);
    const n = r.u32('row count');
    const index = r.array(Uint32Array, n, 'series indexes');
    const ts = r.array(Float64Array, n, 'timestamps');
    const values = r.array(Float64Array, n, 'values');
    for (let i = 0; i < n; i++) if (index[i] >= series.length) throw new BlockFormatError(`row ${i} names series ${index[i]} of ${series.length}`);
    block = { kind: 'samples', series, index, ts, values, length: n };
  } else if (kind === KIND_ROLLUPS) {
    const resolutionMs = r.f64v('resolution');
    const series = readSeries(r);
    const n = r.u32('row count');
    const rollups: Rollup[] = [];
    for (let i = 0; i < n; i++) {
      const ref = r.u32('series index');
      if (ref >= series.length) throw new BlockFormatError(`rollup ${i} names series ${ref} of ${series.length}`);
      rollups.push({
        ref,
        start: r.f64v('start'),
        count: r.u32('count'),
        sum: r.f64v('sum'),
        min: r.f64v('min'),
        max: r.f64v('max'),
        counter: r.f64v('counter'),
        firstT: r.f64v('first_ts'),
        firstV: r.f64v('first_value'),
        lastT: r.f64v('last_ts'),
        lastV: r.f64v('last_value'),
      });
    }
    block = { kind: 'rollups', resolutionMs, series, rollups, length: n };
  } else {
    throw new BlockFormatError(`unknown block kind ${kind}`);
  }
  if (r.pos !== buf.length) throw new BlockFormatError(`${buf.length - r.pos} trailing bytes after the block`);
  return block;
}

/**
 * The deduplication token of a block: a hash of what its rows put into ClickHouse (the series id
 * of each row, times, values, the rollup aggregates), so the same rows get the same token in every
 * attempt, in this process or after a restart, and different rows never share one (ClickHouse
 * drops any block whose token it has seen, whatever its rows). `ids` are the block's series ids
 * in `series` order. Hashes the columns' bytes, not per-row text.
 */
export function blockToken(block: InsertBlock, ids: BigUint64Array): string {
  const h = createHash('sha256');
  h.update(Uint8Array.of(BLOCK_VERSION, block.kind === 'samples' ? KIND_SAMPLES : KIND_ROLLUPS));
  h.update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
  if (block.kind === 'samples') {
    const n = block.length;
    for (const col of [block.index.subarray(0, n), block.ts.subarray(0, n), block.values.subarray(0, n)]) {
      h.update(new Uint8Array(col.buffer, col.byteOffset, col.byteLength));
    }
  } else {
    const row = new Float64Array(11);
    const bytes = new Uint8Array(row.buffer);
    row[0] = block.resolutionMs;
    h.update(bytes.subarray(0, 8));
    for (const r of block.rollups) {
      row[0] = r.ref;
      row[1] = r.start;
      row[2] = r.count;
      row[3] = r.sum;
      row[4] = r.min;
      row[5] = r.max;
      row[6] = r.counter;
      row[7] = r.firstT;
      row[8] = r.firstV;
      row[9] = r.lastT;
      row[10] = r.lastV;
      h.update(bytes);
    }
  }
  return `sluice-${h.digest('hex').slice(0, 40)}`;
}
