/**
 * The chunk contract of the chunk store. A chunk holds the samples of one series over a time
 * range, encoded by one codec named by its encoding byte, so a better codec can sit beside an
 * older one and old data stays readable. Formats: chunk-format.md beside this file.
 *
 * Timestamps are integer unix milliseconds carried in float64 (exact below 2^53); values are
 * float64 and round-trip bit-exactly (stale NaN, other NaN payloads, -0, ±Inf).
 */

/** Encoding bytes. Never renumber: they are written to disk. */
export const ChunkEncoding = {
  /** Gorilla: delta-of-delta timestamps, XOR values. Appendable; used for head chunks. */
  XOR: 1,
  /** Sealed chunks: columnar, decimal-aware values with bit packing. Written at block cut. */
  DENSE: 2,
} as const;
export type ChunkEncoding = (typeof ChunkEncoding)[keyof typeof ChunkEncoding];

/** An immutable encoded chunk. */
export interface Chunk {
  readonly encoding: ChunkEncoding;
  /** The encoded bytes, without the encoding byte (which travels beside them). */
  readonly data: Uint8Array;
  readonly numSamples: number;
  readonly minT: number;
  readonly maxT: number;
}

/** An open chunk samples are appended to, in timestamp order. */
export interface ChunkAppender {
  readonly encoding: ChunkEncoding;
  readonly numSamples: number;
  /** -Infinity / Infinity while empty. */
  readonly minT: number;
  readonly maxT: number;
  /** `t` must be greater than `maxT`; the caller (the head) guarantees ordering. */
  append(t: number, v: number): void;
  /** Encoded size so far, in bytes (for cut decisions and memory accounting). */
  readonly byteLength: number;
  /** The chunk as it stands: a copy, safe to keep while appending continues. */
  seal(): Chunk;
}

/**
 * Decodes a whole chunk into `ts` / `values` starting at `offset`; returns the number of samples
 * written. The arrays must have room for `chunk.numSamples` more. The hot path of every query.
 */
export type ChunkDecoder = (data: Uint8Array, numSamples: number, ts: Float64Array, values: Float64Array, offset: number) => number;
