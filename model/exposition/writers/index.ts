/**
 * The writers by exposition format, and the count the nats sink reports for what they cannot
 * write: no text format can carry a stale NaN (it would read back as an ordinary NaN), so every
 * writer skips stale samples, and the sink counts them with `countStaleMarkers` on the same
 * samples.
 */
import { isStaleNaN } from '../../stale-nan.ts';
import type { ExpositionFormat, ExpositionWriter } from '../types.ts';
import { influxWriter } from './influx-writer.ts';
import { jsonLinesWriter } from './json-lines-writer.ts';
import { openMetricsWriter } from './openmetrics-writer.ts';
import { prometheusTextWriter } from './prometheus-text-writer.ts';

export { influxWriter, jsonLinesWriter, openMetricsWriter, prometheusTextWriter };

const WRITERS: Record<ExpositionFormat, ExpositionWriter> = {
  prom: prometheusTextWriter,
  openmetrics: openMetricsWriter,
  json: jsonLinesWriter,
  influx: influxWriter,
};

export function writerFor(format: ExpositionFormat): ExpositionWriter {
  const writer = WRITERS[format];
  if (writer === undefined) throw new RangeError(`bug: no writer for exposition format "${String(format)}"`);
  return writer;
}

/** Stale NaN samples among `samples`: what any writer skipped from them. */
export function countStaleMarkers(samples: { values: Float64Array; length: number }): number {
  let n = 0;
  for (let i = 0; i < samples.length; i++) if (isStaleNaN(samples.values[i])) n++;
  return n;
}
