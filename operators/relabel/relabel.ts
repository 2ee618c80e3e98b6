import { filter, map, type Observable } from 'rxjs';
import type { OperatorComponent } from '../../pipelines/component.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { relabelConfigSchema, type RelabelConfig } from '../../schemas/relabel.ts';
import { compileRelabel } from './rules.ts';

/**
 * The `relabel` operator: Prometheus `relabel_config` rules (with VictoriaMetrics' `if:`) applied
 * to every series flowing through.
 *
 * Relabeling is a function of the series alone, so it runs once per input series ref; the result
 * (the output ref, or DROPPED) is cached in an Int32Array indexed by ref. Per sample the work is
 * one cache read and a copy between typed arrays: no objects, no closures. Values are copied as
 * raw 32-bit words so the stale NaN keeps its exact bit pattern.
 */

/** Cache entry of a ref that has not been relabeled yet. */
const NOT_COMPUTED = -2;
/** Cache entry of a ref whose series the rules drop. */
const DROPPED = -1;

export const relabelOperator: OperatorComponent<RelabelConfig> = {
  kind: 'operator',
  accepts: ['samples'],
  emits: 'samples',
  type: 'relabel',
  description:
    'Rewrites, filters and drops series with Prometheus relabel_config rules (plus VictoriaMetrics if: selectors).',
  schema: relabelConfigSchema,
  build(config, ctx) {
    const relabel = compileRelabel(config);
    const { registry, metrics } = ctx;
    let cache = new Int32Array(1024).fill(NOT_COMPUTED);

    const resolve = (ref: number): number => {
      const labels = relabel(registry.labels(ref));
      return labels === null ? DROPPED : registry.intern(labels);
    };

    const grow = (ref: number): void => {
      let size = cache.length;
      while (size <= ref) size *= 2;
      const next = new Int32Array(size).fill(NOT_COMPUTED);
      next.set(cache);
      cache = next;
    };

    const process = (batch: SampleBatch): SampleBatch | null => {
      const started = performance.now();
      const n = batch.length;
      const inRefs = batch.refs;
      metrics.received(n);

      // Pass 1: map refs through the cache (computing misses) and count survivors.
      const outRefs = new Uint32Array(n);
      let kept = 0;
      for (let i = 0; i < n; i++) {
        const ref = inRefs[i];
        if (ref >= cache.length) grow(ref);
        let out = cache[ref];
        if (out === NOT_COMPUTED) out = cache[ref] = resolve(ref);
        if (out !== DROPPED) outRefs[kept++] = out;
      }

      if (n > 0 && kept === 0) {
        metrics.discarded('relabel_dropped', n);
        batch.ack.done(); // nothing of this batch is left to make durable
        metrics.batchSeconds((performance.now() - started) / 1000);
        return null;
      }

      let ts: Float64Array;
      let values: Float64Array;
      if (kept === n) {
        // Batches are immutable once emitted, so the columns are shared, not copied.
        ts = batch.ts;
        values = batch.values;
      } else {
        // Pass 2: compact the surviving samples; values move as two 32-bit words each.
        ts = new Float64Array(kept);
        values = new Float64Array(kept);
        const inTs = batch.ts;
        const inWords = new Uint32Array(batch.values.buffer, batch.values.byteOffset, n * 2);
        const outWords = new Uint32Array(values.buffer);
        let j = 0;
        for (let i = 0; i < n; i++) {
          if (cache[inRefs[i]] === DROPPED) continue;
          ts[j] = inTs[i];
          outWords[2 * j] = inWords[2 * i];
          outWords[2 * j + 1] = inWords[2 * i + 1];
          j++;
        }
        metrics.discarded('relabel_dropped', n - kept);
      }

      metrics.sent(kept);
      metrics.batchSeconds((performance.now() - started) / 1000);
      return {
        kind: 'samples',
        refs: kept === n ? outRefs : outRefs.slice(0, kept),
        ts,
        values,
        length: kept,
        tenant: batch.tenant,
        ack: batch.ack,
        watermark: batch.watermark,
        ...(batch.metadata !== undefined ? { metadata: batch.metadata } : {}),
      };
    };

    return {
      apply: (input: Observable<SampleBatch>) =>
        input.pipe(
          map(process),
          filter((batch): batch is SampleBatch => batch !== null),
        ),
    };
  },
};
