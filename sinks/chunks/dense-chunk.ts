import { ChunkEncoding, type Chunk, type ChunkDecoder } from './chunk.ts';
import { CorruptChunkError } from './chunk-codecs.ts';

/** Encoding 2 (DENSE): work in progress. */
export function encodeDense(_ts: Float64Array, _values: Float64Array, _start: number, _end: number): Chunk {
  throw new Error('DENSE encoding is not implemented yet');
}

export const decodeDense: ChunkDecoder = () => {
  throw new CorruptChunkError(ChunkEncoding.DENSE, 'DENSE decoding is not implemented yet');
};
