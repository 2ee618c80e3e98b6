import { z } from 'zod';
import { durationMs } from './common.ts';
import { byteSize } from './chunks-sink.ts';

const MINUTE = 60_000;

/**
 * The `downsample` operator's config. Resolutions run finest first: the finest is rolled up from
 * the raw samples, each coarser one from the next finer one's closed rollups, so each must be a
 * whole multiple of the one before it (a coarse window is then exactly a run of finer windows).
 */
export const downsampleConfigSchema = z
  .strictObject({
    /** Rollup resolutions, finest first (default 5m and 1h, the ClickHouse tier's tables). */
    resolutions: z.array(durationMs).min(1).default([5 * MINUTE, 60 * MINUTE]),
    /** Extra event time, on top of the source's watermark, before a window closes. */
    allowed_lateness: durationMs.default(0),
    /** Where the operator keeps its state files (default: `<data_dir>/<component name>`). */
    checkpoint_dir: z.string().min(1).optional(),
    /** A snapshot is also written when the input log since the last one grows past this. */
    checkpoint_max_log_bytes: byteSize.default(64 * 1024 * 1024),
    /**
     * On a graceful stop, close and emit every open window. Off by default: the windows are
     * checkpointed instead, and a restart continues them, so no partial window is stored.
     */
    flush_on_stop: z.boolean().default(false),
    /** First delay before a rollup batch whose write failed downstream is emitted again. */
    retry_backoff: durationMs.default(1_000),
    /** The delay doubles per failed attempt up to this. */
    retry_backoff_max: durationMs.default(60_000),
  })
  .superRefine((config, ctx) => {
    const { resolutions } = config;
    resolutions.forEach((ms, i) => {
      if (ms <= 0) {
        ctx.addIssue({ code: 'custom', path: ['resolutions', i], message: 'a rollup resolution must be longer than 0' });
        return;
      }
      if (i === 0) return;
      const finer = resolutions[i - 1];
      if (finer > 0 && (ms <= finer || ms % finer !== 0)) {
        ctx.addIssue({
          code: 'custom',
          path: ['resolutions', i],
          message: `resolutions run finest first, each a whole multiple of the one before: ${ms}ms is not a multiple of ${finer}ms greater than it`,
        });
      }
    });
    if (config.retry_backoff <= 0) {
      ctx.addIssue({ code: 'custom', path: ['retry_backoff'], message: 'retry_backoff must be longer than 0' });
    }
    if (config.retry_backoff_max < config.retry_backoff) {
      ctx.addIssue({ code: 'custom', path: ['retry_backoff_max'], message: 'retry_backoff_max must not be shorter than retry_backoff' });
    }
  });

export type DownsampleConfig = z.output<typeof downsampleConfigSchema>;
export type DownsampleConfigInput = z.input<typeof downsampleConfigSchema>;
