import { Observable, type Subscription } from 'rxjs';
import type { StreamBatch } from '../../model/stream.ts';

/**
 * Fan-in: merges input streams and carries the event-time watermark correctly across them. The
 * merged watermark is the minimum of each input's latest watermark (an input that has said
 * nothing yet holds it at -Infinity), so a window downstream never closes while a slower input
 * may still deliver samples for it. Batches whose watermark differs from the merged one are
 * re-emitted as a shallow copy (one object per batch, never per sample).
 */
export function mergeWithWatermarks<B extends StreamBatch>(inputs: ReadonlyArray<Observable<B>>): Observable<B> {
  if (inputs.length === 1) return inputs[0];
  return new Observable<B>((subscriber) => {
    const latest = inputs.map(() => -Infinity);
    let open = inputs.length;
    const subscriptions: Subscription[] = [];
    inputs.forEach((input, index) => {
      subscriptions.push(
        input.subscribe({
          next: (batch) => {
            if (batch.watermark > latest[index]) latest[index] = batch.watermark;
            let merged = Infinity;
            for (const w of latest) if (w < merged) merged = w;
            subscriber.next(merged === batch.watermark ? batch : { ...batch, watermark: merged });
          },
          error: (error) => subscriber.error(error),
          complete: () => {
            // A finished input no longer holds the watermark back.
            latest[index] = Infinity;
            if (--open === 0) subscriber.complete();
          },
        }),
      );
    });
    return () => {
      for (const s of subscriptions) s.unsubscribe();
    };
  });
}
