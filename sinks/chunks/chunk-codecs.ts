import { ChunkEncoding, type ChunkAppender, type ChunkDecoder } from './chunk.ts';
import { NotAppendableEncodingError, UnknownChunkEncodingError } from './chunk-errors.ts';
import { decodeDense } from './dense-chunk.ts';
import { decodeXor, newXorAppender } from './xor-chunk.ts';

export { CorruptChunkError, NotAppendableEncodingError, UnknownChunkEncodingError } from './chunk-errors.ts';

/**
 * The registry of chunk codecs by encoding byte. An encoding byte read from disk that is not
 * listed here comes from a corrupt file or a newer sluice; either way it is the user's data, not
 * a bug, so it gets a typed error naming the byte and the encodings this build knows.
 */

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
