import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlibConstants, crc32 } from 'node:zlib';
import { compareLabels, type Labels } from '../../../model/labels.ts';
import { ByteReader, ByteWriter, CorruptDataError } from './byte-buffer.ts';
import type { ChunkRef } from './chunk-file.ts';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

const MAGIC = 0x58494c53; // "SLIX"
const VERSION = 1;

export interface ChunkMeta extends ChunkRef {
  readonly minT: number;
  readonly maxT: number;
  readonly numSamples: number;
}

export interface IndexedSeries {
  readonly labels: Labels;
  readonly chunks: readonly ChunkMeta[];
}

/** A block's index in memory: series by id (their position, sorted by labels) and postings. */
export interface BlockIndex {
  readonly series: readonly IndexedSeries[];
  /** label name -> label value -> sorted series ids. */
  readonly postings: ReadonlyMap<string, ReadonlyMap<string, Uint32Array>>;
  readonly symbols: number;
}

/**
 * Writes a block index (layout in block-format.md): a symbol table of every label name and
 * value, the series (label pairs as symbol numbers, chunk metas delta-encoded), and the postings
 * list of every label pair, the whole payload Brotli-compressed behind a header and a CRC32.
 * `series` must be sorted by labels; their position is their id.
 */
export async function writeIndex(path: string, series: readonly IndexedSeries[]): Promise<number> {
  const symbolSet = new Set<string>();
  for (const s of series) for (const x of s.labels) symbolSet.add(x);
  const symbols = [...symbolSet].sort();
  const symbolIds = new Map(symbols.map((s, i) => [s, i]));
  const w = new ByteWriter(1 << 16);
  w.uvarint(symbols.length);
  for (const s of symbols) w.string(s);

  w.uvarint(series.length);
  const postings = new Map<string, Map<string, number[]>>();
  let previous: Labels | undefined;
  series.forEach((s, id) => {
    if (previous && compareLabels(previous, s.labels) >= 0) throw new Error('bug: index series not sorted by labels or not distinct');
    previous = s.labels;
    w.uvarint(s.labels.length / 2);
    for (let i = 0; i < s.labels.length; i += 2) {
      w.uvarint(symbolIds.get(s.labels[i])!);
      w.uvarint(symbolIds.get(s.labels[i + 1])!);
      let byValue = postings.get(s.labels[i]);
      if (!byValue) postings.set(s.labels[i], (byValue = new Map()));
      let ids = byValue.get(s.labels[i + 1]);
      if (!ids) byValue.set(s.labels[i + 1], (ids = []));
      ids.push(id);
    }
    w.uvarint(s.chunks.length);
    let lastMaxT = 0;
    for (const c of s.chunks) {
      w.varint(c.minT - lastMaxT);
      w.uvarint(c.maxT - c.minT);
      w.uvarint(c.numSamples);
      w.uvarint(c.segment);
      w.uvarint(c.offset);
      lastMaxT = c.maxT;
    }
  });

  const pairs = [...postings.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let pairCount = 0;
  for (const [, byValue] of pairs) pairCount += byValue.size;
  w.uvarint(pairCount);
  for (const [name, byValue] of pairs) {
    for (const value of [...byValue.keys()].sort()) {
      const ids = byValue.get(value)!;
      w.uvarint(symbolIds.get(name)!);
      w.uvarint(symbolIds.get(value)!);
      w.uvarint(ids.length);
      let last = 0;
      for (const id of ids) {
        w.uvarint(id - last);
        last = id;
      }
    }
  }

  const payload = await compress(w.view(), {
    params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: w.length },
  });
  const file = new ByteWriter(payload.length + 16);
  file.u32(MAGIC);
  file.u8(VERSION);
  file.u8(1); // Brotli
  file.uvarint(w.length);
  file.bytes(payload);
  file.u32(crc32(file.view()));
  await writeFile(path, file.view(), { flag: 'wx' });
  return file.length;
}

export async function readIndex(path: string): Promise<BlockIndex> {
  const file = await readFile(path);
  if (file.length < 10) throw new CorruptDataError(`too short (${file.length} bytes)`, path);
  const crc = new ByteReader(file, path, file.length - 4).u32();
  if (crc32(file.subarray(0, file.length - 4)) !== crc) throw new CorruptDataError('checksum mismatch', path);
  const head = new ByteReader(file, path, 0, file.length - 4);
  if (head.u32() !== MAGIC) throw new CorruptDataError('not an index file (bad magic)', path);
  const version = head.u8();
  if (version !== VERSION) throw new CorruptDataError(`unsupported index version ${version}`, path);
  if (head.u8() !== 1) throw new CorruptDataError('unknown index compression', path);
  const rawLength = head.uvarint();
  let raw: Uint8Array;
  try {
    raw = await decompress(head.bytes(head.remaining));
  } catch (error) {
    throw new CorruptDataError('index payload does not decompress', path, { cause: error });
  }
  if (raw.length !== rawLength) throw new CorruptDataError(`index payload is ${raw.length} bytes, expected ${rawLength}`, path);

  const r = new ByteReader(raw, path);
  const symbols: string[] = new Array(r.uvarint());
  for (let i = 0; i < symbols.length; i++) symbols[i] = r.string();
  const symbol = (id: number) => {
    const s = symbols[id];
    if (s === undefined) throw new CorruptDataError(`symbol ${id} out of range`, path);
    return s;
  };
  const series: IndexedSeries[] = new Array(r.uvarint());
  for (let id = 0; id < series.length; id++) {
    const labels: string[] = new Array(r.uvarint() * 2);
    for (let i = 0; i < labels.length; i++) labels[i] = symbol(r.uvarint());
    const chunks: ChunkMeta[] = new Array(r.uvarint());
    let lastMaxT = 0;
    for (let c = 0; c < chunks.length; c++) {
      const minT = lastMaxT + r.varint();
      const maxT = minT + r.uvarint();
      chunks[c] = { minT, maxT, numSamples: r.uvarint(), segment: r.uvarint(), offset: r.uvarint() };
      lastMaxT = maxT;
    }
    series[id] = { labels: Object.freeze(labels), chunks };
  }
  const postings = new Map<string, Map<string, Uint32Array>>();
  const pairs = r.uvarint();
  for (let p = 0; p < pairs; p++) {
    const name = symbol(r.uvarint());
    const value = symbol(r.uvarint());
    const ids = new Uint32Array(r.uvarint());
    let last = 0;
    for (let i = 0; i < ids.length; i++) {
      const delta = r.uvarint();
      if (i > 0 && delta === 0) throw new CorruptDataError(`postings of ${name}=${value} not strictly increasing`, path);
      last += delta;
      if (last >= series.length) throw new CorruptDataError(`posting ${last} beyond ${series.length} series`, path);
      ids[i] = last;
    }
    let byValue = postings.get(name);
    if (!byValue) postings.set(name, (byValue = new Map()));
    byValue.set(value, ids);
  }
  if (r.remaining !== 0) throw new CorruptDataError(`${r.remaining} trailing bytes`, path);
  return { series, postings, symbols: symbols.length };
}
