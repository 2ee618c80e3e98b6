import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * The downsample operator's own metrics, beside the common ones (`received` = raw samples in,
 * `sent` = rollups out on first emission, `discarded{reason="stale_marker"|"too_late"}`). One
 * set per metrics registry serves every downsample component, labelled by component.
 */
export interface DownsampleMetrics {
  checkpoint(seconds: number, bytes: number): void;
  setPending(batches: number): void;
  reemitted(batches: number): void;
}

interface Shared {
  readonly checkpointSeconds: Histogram<'component'>;
  readonly checkpointBytes: Gauge<'component'>;
  readonly checkpoints: Counter<'component'>;
  readonly pending: Gauge<'component'>;
  readonly reemitted: Counter<'component'>;
}

const perRegistry = new WeakMap<Registry, Shared>();

function shared(registry: Registry): Shared {
  let s = perRegistry.get(registry);
  if (s) return s;
  const registers = [registry];
  s = {
    checkpointSeconds: new Histogram({
      name: 'sluice_downsample_checkpoint_duration_seconds',
      help: 'Time to write one state snapshot (write, fsync, rename, directory fsync).',
      labelNames: ['component'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    checkpointBytes: new Gauge({
      name: 'sluice_downsample_checkpoint_bytes',
      help: 'Size of the latest state snapshot.',
      labelNames: ['component'],
      registers,
    }),
    checkpoints: new Counter({
      name: 'sluice_downsample_checkpoints_total',
      help: 'State snapshots written.',
      labelNames: ['component'],
      registers,
    }),
    pending: new Gauge({
      name: 'sluice_downsample_pending_rollup_batches',
      help: 'Rollup batches emitted (or due) whose write downstream is not acknowledged yet.',
      labelNames: ['component'],
      registers,
    }),
    reemitted: new Counter({
      name: 'sluice_downsample_reemitted_batches_total',
      help: 'Rollup batches emitted again: after a failed write downstream, or after a restart.',
      labelNames: ['component'],
      registers,
    }),
  };
  perRegistry.set(registry, s);
  return s;
}

export function downsampleMetrics(registry: Registry, component: string): DownsampleMetrics {
  const s = shared(registry);
  const labels = { component };
  return {
    checkpoint(seconds, bytes) {
      s.checkpointSeconds.observe(labels, seconds);
      s.checkpointBytes.set(labels, bytes);
      s.checkpoints.inc(labels);
    },
    setPending(batches) {
      s.pending.set(labels, batches);
    },
    reemitted(batches) {
      if (batches > 0) s.reemitted.inc(labels, batches);
    },
  };
}
