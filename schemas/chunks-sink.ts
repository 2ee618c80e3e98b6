import { z } from 'zod';
import { durationMs } from './common.ts';

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** A size such as `500MB`, `10GiB` or a plain number of bytes. */
export const byteSize = z.union([z.number().int().positive(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)$/i.exec(v.trim());
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `invalid size "${v}": expected e.g. 500MB, 10GiB or a number of bytes` });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * UNITS[m[2].toUpperCase()]);
});

export const chunksSinkConfig = z.strictObject({
  /** Directory of the store (WAL and blocks). */
  path: z.string().min(1),
  /** Blocks entirely older than this before the newest sample are deleted. */
  retention: durationMs.default(15 * 24 * 3600_000),
  /** Blocks are deleted, oldest first, while the store's files exceed this. */
  retention_size: byteSize.optional(),
  /** Time range of a block cut from the head. */
  block_duration: durationMs.default(2 * 3600_000),
  /** How far behind a series' newest sample an older sample is still accepted. */
  out_of_order_window: durationMs.default(0),
  /** WAL fsync: every write, group commit, or left to the OS (fastest, loses the OS's cache on a power cut). */
  fsync: z.enum(['always', 'batch', 'never']).default('batch'),
  /** How often block cutting, compaction and retention run. */
  maintenance_interval: durationMs.default(30_000),
});

export type ChunksSinkConfig = z.output<typeof chunksSinkConfig>;
