import { ChunkEncoding, type ChunkAppender, type ChunkDecoder } from './chunk.ts';
import { decodeDense } from './dense-chunk.ts';
import { decodeXor, newXorAppender } from './xor-chunk.ts';

/**
 * The registry of chunk codecs by encoding byte. An encoding byte read from disk that is not
 * listed here comes from a corrupt file or a newer sluice; either way it is the user's data, not
 * a bug, so it gets a typed error naming the byte and the encodings this build knows.
 *
 * Dispatch is a `switch` inside the functions (not a table built at load time) so the codec
 * modules, which import the error classes below, can be loaded in any order.
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

export function decoderFor(encoding: number): ChunkDecoder {
  switch (encoding) {
    case ChunkEncoding.XOR:
      return decodeXor;
    case ChunkEncoding.DENSE:
      return decodeDense;
    default:
      throw new UnknownChunkEncodingError(encoding);
  }
}

export function appenderFor(encoding: number): ChunkAppender {
  switch (encoding) {
    case ChunkEncoding.XOR:
      return newXorAppender();
    case ChunkEncoding.DENSE:
      throw new NotAppendableEncodingError(encoding);
    default:
      throw new UnknownChunkEncodingError(encoding);
  }
}
