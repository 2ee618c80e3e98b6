import { z } from 'zod';
import { byteSize } from './chunks-sink.ts';
import { parseDuration } from '../model/duration.ts';
import { durationMs } from './common.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Rollup resolutions the ClickHouse schema has a table for. */
const ROLLUP_TABLE_RESOLUTIONS = new Map([
  [5 * MINUTE, '5m'],
  [60 * MINUTE, '1h'],
]);

/** A retention: a duration, or `forever` (no TTL on the table). */
const ttl = z.string().transform((text, ctx): number | null => {
  if (text === 'forever') return null;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0 || ms % 1000 !== 0) {
    ctx.addIssue({ code: 'custom', message: `invalid TTL "${text}": expected a whole number of seconds as a duration (e.g. 15d, 90d, 2y) or "forever"` });
    return z.NEVER;
  }
  return ms;
});

export const clickhouseSinkConfig = z
  .strictObject({
    /** `embedded` (chDB in this process) or the http(s) URL of a ClickHouse server. */
    url: z.union([z.literal('embedded'), z.string().regex(/^https?:\/\/\S+$/, 'expected "embedded" or an http(s):// URL')]).default('embedded'),
    /** Database holding sluice's tables; created at start. */
    database: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a ClickHouse database name here is letters, digits and underscores, not starting with a digit')
      .default('sluice'),
    /** chDB data directory for `url: embedded`; default `<dataDir>/clickhouse`. One per process. */
    data_dir: z.string().min(1).optional(),
    /** Store raw samples (the short-TTL raw table); when false, sample batches are acknowledged and not stored. */
    raw: z.boolean().default(true),
    /** Rollup resolutions stored; a rollup batch of any other resolution fails. */
    rollups: z
      .array(
        durationMs.refine((ms) => ROLLUP_TABLE_RESOLUTIONS.has(ms), {
          message: `no ClickHouse rollup table for this resolution; tables exist for ${[...ROLLUP_TABLE_RESOLUTIONS.values()].join(', ')}`,
        }),
      )
      .default([5 * MINUTE, 60 * MINUTE]),
    /** Table TTLs, applied when the tables are created (changing them later needs an ALTER TABLE ... MODIFY TTL). */
    ttl: z
      .strictObject({
        raw: ttl.default(15 * DAY),
        '5m': ttl.default(90 * DAY),
        '1h': ttl.default(730 * DAY),
      })
      .prefault({}),
    /** Size/time flush: incoming batches are combined into one insert of up to `max_rows`, sent at the latest after `max_wait`. */
    batch: z
      .strictObject({
        max_rows: z.number().int().positive().default(100_000),
        max_wait: durationMs.default(1_000),
        /** Inserts under way at once; a block flushed beyond this goes to the spill queue. */
        max_in_flight: z.number().int().positive().default(2),
      })
      .prefault({}),
    /** Retries of a failed insert before its block is spilled: exponential backoff with full jitter. */
    retry: z
      .strictObject({
        max_attempts: z.number().int().positive().default(3),
        initial_backoff: durationMs.default(100),
        max_backoff: durationMs.default(30_000),
      })
      .refine((r) => r.initial_backoff <= r.max_backoff, { message: 'initial_backoff is longer than max_backoff', path: ['initial_backoff'] })
      .prefault({}),
    /** An insert not answered within this is treated as failed (it may still have been written; the token covers that). */
    timeout: durationMs.default(30_000),
    /** The local disk queue for blocks ClickHouse did not take. */
    spill: z
      .strictObject({
        /** Default `<dataDir>/<sink name>/spill`. */
        path: z.string().min(1).optional(),
        /** At this size, writes wait (backpressure) instead of growing the queue. */
        max_bytes: byteSize.default(1024 ** 3),
        /**
         * At a planned stop, how long the sink keeps draining the queue into ClickHouse while it
         * answers (a flush deadline, as remote write has); what is left stays on disk for the next
         * start. `0s` stops at once.
         */
        drain_on_stop: durationMs.default(60_000),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.data_dir !== undefined && c.url !== 'embedded') ctx.addIssue({ code: 'custom', path: ['data_dir'], message: 'data_dir is for url: embedded only' });
  });

export type ClickHouseSinkConfig = z.output<typeof clickhouseSinkConfig>;
