import { ChunkEncoding } from './chunk.ts';

/**
 * Errors of the chunk codecs, in a module of their own so the codecs and their registry
 * (chunk-codecs.ts) import them without an import cycle.
 */

const KNOWN = Object.entries(ChunkEncoding)
  .map(([name, byte]) => `${byte} (${name})`)
  .join(', ');

/** An encoding byte this build does not know. */
export class UnknownChunkEncodingError extends Error {
  override readonly name = 'UnknownChunkEncodingError';
  constructor(
    readonly encoding: number,
    options?: ErrorOptions,
  ) {
    super(`unknown chunk encoding ${encoding}: known encodings are ${KNOWN}; the file is corrupt or was written by a newer sluice`, options);
  }
}

/** A chunk whose bytes do not decode (truncated, bit-flipped, or a sample count that does not match). */
export class CorruptChunkError extends Error {
  override readonly name = 'CorruptChunkError';
  constructor(
    readonly encoding: number,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`corrupt chunk (encoding ${encoding}): ${detail}`, options);
  }
}

/** A chunk that cannot be appended to (a sealed-only encoding was asked for an appender). */
export class NotAppendableEncodingError extends Error {
  override readonly name = 'NotAppendableEncodingError';
  constructor(readonly encoding: number) {
    super(`chunk encoding ${encoding} is written whole when a block is cut and cannot be appended to; use ${ChunkEncoding.XOR} (XOR)`);
  }
}
