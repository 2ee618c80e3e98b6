import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { CorruptDataError } from './byte-buffer.ts';

/** meta.json of a block: what it covers and how it came to be. */
export const blockMetaSchema = z.strictObject({
  ulid: z.string(),
  /** Inclusive start and exclusive end of the block's time range, unix ms. */
  minTime: z.number().int(),
  maxTime: z.number().int(),
  stats: z.strictObject({
    numSeries: z.number().int().min(0),
    numChunks: z.number().int().min(0),
    numSamples: z.number().int().min(0),
    indexBytes: z.number().int().min(0),
    chunkBytes: z.number().int().min(0),
  }),
  compaction: z.strictObject({
    /** 1 for a block cut from the head, n+1 for a merge of level-n blocks. */
    level: z.number().int().min(1),
    sources: z.array(z.string()),
  }),
  version: z.literal(1),
});

export type BlockMeta = z.output<typeof blockMetaSchema>;

export async function readBlockMeta(path: string): Promise<BlockMeta> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CorruptDataError('meta.json unreadable', path, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CorruptDataError('meta.json is not JSON', path, { cause: error });
  }
  const result = blockMetaSchema.safeParse(parsed);
  if (!result.success) throw new CorruptDataError(`meta.json invalid: ${result.error.issues[0]?.message}`, path);
  return result.data;
}
