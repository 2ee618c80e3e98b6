import { createHash } from 'node:crypto';
import type { Labels } from '../../model/labels.ts';

/**
 * The stable 64-bit id sluice gives a label set in ClickHouse (`series_id` in every table): the
 * first 8 bytes, big-endian, of SHA-256 over `name\xffvalue\xff...` of the sorted set, `__name__`
 * included. Stable across processes and restarts, so a spilled block written after a restart
 * lands on the same series as before it.
 */
export function seriesId(labels: Labels): bigint {
  const h = createHash('sha256');
  for (let i = 0; i < labels.length; i++) h.update(labels[i]).update('\xff');
  return h.digest().readBigUInt64BE(0);
}
