import { share, tap, type Observable } from 'rxjs';
import type { StreamBatch } from '../../model/stream.ts';

/**
 * Fan-out: one stream to `consumers` subscribers. Each batch's ack handle is retained once per
 * extra consumer before any of them sees it, so the source acknowledges only after every branch
 * has made the batch durable (or dropped it). Consumers must not mutate the shared batch.
 */
export function fanOut<B extends StreamBatch>(source: Observable<B>, consumers: number): Observable<B> {
  if (consumers <= 1) return source;
  return source.pipe(
    tap((batch) => batch.ack.retain(consumers - 1)),
    share({ resetOnError: false, resetOnComplete: false, resetOnRefCountZero: false }),
  );
}
