import { open, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { brotliCompress, brotliDecompress, constants as zlibConstants, crc32 } from 'node:zlib';
import type { Chunk, ChunkEncoding } from '../chunk.ts';
import { ByteReader, ByteWriter, CorruptDataError } from './byte-buffer.ts';

const compress = promisify(brotliCompress);
const decompress = promisify(brotliDecompress);

/** Where a chunk lives in a chunk file: its segment and its byte offset inside the raw segment. */
export interface ChunkRef {
  readonly segment: number;
  readonly offset: number;
}

export interface StoredChunk {
  readonly encoding: ChunkEncoding;
  readonly data: Uint8Array;
}

const MAGIC = 0x48434c53; // "SLCH"
const VERSION = 1;
const COMPRESSION_BROTLI = 1;
/** Raw bytes per segment: large enough for the compressor to find repeats across series (shared timestamp columns), small enough to read one for a query. */
export const DEFAULT_SEGMENT_BYTES = 1 << 20;

/**
 * Writes a block's chunk file (layout in block-format.md): chunk records gathered into segments
 * of about `segmentBytes`, each compressed with Brotli on the thread pool, then a segment table
 * and a footer. Chunks are addressed by (segment, offset in the raw segment).
 */
export class ChunkFileWriter {
  private readonly raw = new ByteWriter(DEFAULT_SEGMENT_BYTES + 64 * 1024);
  private readonly table: Array<{ offset: number; compressed: number; raw: number; crc: number }> = [];
  private fileOffset = 8;
  private pending: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: FileHandle,
    private readonly segmentBytes: number,
  ) {}

  static async create(path: string, segmentBytes = DEFAULT_SEGMENT_BYTES): Promise<ChunkFileWriter> {
    const file = await open(path, 'wx');
    const header = new ByteWriter(8);
    header.u32(MAGIC);
    header.u8(VERSION);
    header.u8(COMPRESSION_BROTLI);
    header.u8(0);
    header.u8(0);
    await file.write(header.view(), 0, 8, 0);
    return new ChunkFileWriter(file, segmentBytes);
  }

  /** Adds a chunk; the ref is final once `finish` resolved. */
  async add(chunk: Chunk): Promise<ChunkRef> {
    if (this.raw.length >= this.segmentBytes) await this.flushSegment();
    const ref = { segment: this.table.length, offset: this.raw.length };
    this.raw.u8(chunk.encoding);
    this.raw.uvarint(chunk.data.length);
    this.raw.bytes(chunk.data);
    return ref;
  }

  /** Writes the last segment, the table and the footer, and fsyncs. Returns the file size. */
  async finish(): Promise<number> {
    await this.flushSegment();
    await this.pending;
    const tail = new ByteWriter();
    tail.uvarint(this.table.length);
    for (const s of this.table) {
      tail.uvarint(s.offset);
      tail.uvarint(s.compressed);
      tail.uvarint(s.raw);
      tail.u32(s.crc);
    }
    const tableBytes = tail.length;
    const footer = new ByteWriter(16);
    footer.u32(this.fileOffset); // table offset; chunk files stay far below 4 GiB per block segment table
    footer.u32(tableBytes);
    footer.u32(crc32(tail.view()));
    footer.u32(MAGIC);
    await this.file.write(tail.view(), 0, tail.length, this.fileOffset);
    await this.file.write(footer.view(), 0, 16, this.fileOffset + tableBytes);
    await this.file.sync();
    await this.file.close();
    return this.fileOffset + tableBytes + 16;
  }

  async abort(): Promise<void> {
    await this.file.close().catch(() => {});
  }

  private async flushSegment(): Promise<void> {
    if (this.raw.length === 0) return;
    const raw = this.raw.view().slice();
    this.raw.length = 0;
    const compressed = await compress(raw, {
      params: {
        [zlibConstants.BROTLI_PARAM_QUALITY]: 9,
        [zlibConstants.BROTLI_PARAM_LGWIN]: 24,
        [zlibConstants.BROTLI_PARAM_SIZE_HINT]: raw.length,
      },
    });
    const offset = this.fileOffset;
    this.fileOffset += compressed.length;
    this.table.push({ offset, compressed: compressed.length, raw: raw.length, crc: crc32(compressed) });
    await this.file.write(compressed, 0, compressed.length, offset);
  }
}

/**
 * Reads chunks of one chunk file. The file stays open for the reader's life, so a block whose
 * directory is removed while a query runs is still readable until the query is done. Decompressed
 * segments are kept in a small LRU.
 */
export class ChunkFileReader {
  private readonly cache = new Map<number, Promise<Uint8Array>>();

  private constructor(
    private readonly file: FileHandle,
    readonly path: string,
    private readonly table: ReadonlyArray<{ offset: number; compressed: number; raw: number; crc: number }>,
    readonly size: number,
    private readonly cacheSegments: number,
  ) {}

  static async open(path: string, cacheSegments = 64): Promise<ChunkFileReader> {
    const file = await open(path, 'r');
    try {
      const { size } = await file.stat();
      if (size < 24) throw new CorruptDataError(`too short (${size} bytes)`, path);
      const head = Buffer.alloc(8);
      await file.read(head, 0, 8, 0);
      const header = new ByteReader(head, path);
      if (header.u32() !== MAGIC) throw new CorruptDataError('not a chunk file (bad magic)', path);
      const version = header.u8();
      if (version !== VERSION) throw new CorruptDataError(`unsupported chunk file version ${version}`, path);
      const foot = Buffer.alloc(16);
      await file.read(foot, 0, 16, size - 16);
      const footer = new ByteReader(foot, path);
      const tableOffset = footer.u32();
      const tableBytes = footer.u32();
      const tableCrc = footer.u32();
      if (footer.u32() !== MAGIC) throw new CorruptDataError('footer magic missing (file cut short?)', path);
      if (tableOffset + tableBytes + 16 !== size) throw new CorruptDataError('segment table out of place', path);
      const tableBuf = Buffer.alloc(tableBytes);
      await file.read(tableBuf, 0, tableBytes, tableOffset);
      if (crc32(tableBuf) !== tableCrc) throw new CorruptDataError('segment table checksum mismatch', path);
      const r = new ByteReader(tableBuf, path);
      const n = r.uvarint();
      const table = [];
      for (let i = 0; i < n; i++) table.push({ offset: r.uvarint(), compressed: r.uvarint(), raw: r.uvarint(), crc: r.u32() });
      return new ChunkFileReader(file, path, table, size, cacheSegments);
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  get segments(): number {
    return this.table.length;
  }

  /** The raw (decompressed) bytes of a segment; checksum-verified. */
  segment(index: number): Promise<Uint8Array> {
    let hit = this.cache.get(index);
    if (hit) {
      this.cache.delete(index);
      this.cache.set(index, hit);
      return hit;
    }
    hit = this.load(index);
    this.cache.set(index, hit);
    hit.catch(() => this.cache.delete(index));
    if (this.cache.size > this.cacheSegments) this.cache.delete(this.cache.keys().next().value!);
    return hit;
  }

  /** Reads the chunk at `ref` (the segment must be loadable). */
  async chunk(ref: ChunkRef): Promise<StoredChunk> {
    return chunkAt(await this.segment(ref.segment), ref.offset, this.path);
  }

  async close(): Promise<void> {
    this.cache.clear();
    await this.file.close();
  }

  private async load(index: number): Promise<Uint8Array> {
    const s = this.table[index];
    if (s === undefined) throw new CorruptDataError(`no segment ${index}`, this.path);
    const buf = Buffer.alloc(s.compressed);
    const { bytesRead } = await this.file.read(buf, 0, s.compressed, s.offset);
    if (bytesRead !== s.compressed || crc32(buf) !== s.crc) {
      throw new CorruptDataError(`segment ${index} checksum mismatch`, this.path);
    }
    let raw: Uint8Array;
    try {
      raw = await decompress(buf);
    } catch (error) {
      throw new CorruptDataError(`segment ${index} does not decompress`, this.path, { cause: error });
    }
    if (raw.length !== s.raw) throw new CorruptDataError(`segment ${index} has ${raw.length} bytes, expected ${s.raw}`, this.path);
    return raw;
  }
}

/** The chunk record at `offset` of a raw segment. */
export function chunkAt(segment: Uint8Array, offset: number, what: string): StoredChunk {
  const r = new ByteReader(segment, what, offset);
  const encoding = r.u8() as ChunkEncoding;
  const length = r.uvarint();
  return { encoding, data: r.bytes(length) };
}
