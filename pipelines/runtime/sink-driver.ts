import { lastValueFrom, mergeMap, defaultIfEmpty, type Observable } from 'rxjs';
import type { StreamBatch } from '../../model/stream.ts';
import type { SinkInstance } from '../component.ts';
import type { ComponentMetrics } from '../self-metrics.ts';
import type { Logger } from 'pino';

/**
 * Drives a sink: writes each batch (up to `sink.concurrency` at once), then releases the batch's
 * ack handle — `done()` once the write is durable, `fail()` when it threw, so the source can have
 * the data redelivered. Resolves when the input completed and every write settled.
 */
export function driveSink<B extends StreamBatch>(
  input: Observable<B>,
  sink: SinkInstance<B>,
  metrics: ComponentMetrics,
  logger: Logger,
): Promise<void> {
  const writes = input.pipe(
    mergeMap(async (batch) => {
      metrics.received(batch.length);
      const started = performance.now();
      try {
        await sink.write(batch);
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        metrics.error('write_failed');
        logger.warn({ err: failure, samples: batch.length }, 'sink write failed; batch not acknowledged');
        batch.ack.fail(failure);
        return;
      }
      metrics.batchSeconds((performance.now() - started) / 1000);
      metrics.sent(batch.length);
      metrics.setWatermark(batch.watermark);
      batch.ack.done();
    }, sink.concurrency ?? 1),
    defaultIfEmpty(undefined),
  );
  return lastValueFrom(writes).then(() => undefined);
}
