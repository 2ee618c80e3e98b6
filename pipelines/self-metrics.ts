import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * sluice's own metrics, served on `/metrics`. Every component reports what came in, what went
 * out, what it dropped and why, its errors and its batch latency, under its topology name.
 */
export class SelfMetrics {
  readonly registry = new Registry();
  readonly received: Counter<'component' | 'type'>;
  readonly sent: Counter<'component' | 'type'>;
  readonly discarded: Counter<'component' | 'type' | 'reason'>;
  readonly errors: Counter<'component' | 'type' | 'reason'>;
  readonly batchLatency: Histogram<'component' | 'type'>;
  readonly inFlight: Gauge<'component' | 'type'>;
  readonly watermark: Gauge<'component' | 'type'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.received = new Counter({
      name: 'sluice_component_received_samples_total',
      help: 'Samples a component received (parsed, for sources).',
      labelNames: ['component', 'type'],
      registers,
    });
    this.sent = new Counter({
      name: 'sluice_component_sent_samples_total',
      help: 'Samples a component passed on (written durably, for sinks).',
      labelNames: ['component', 'type'],
      registers,
    });
    this.discarded = new Counter({
      name: 'sluice_component_discarded_samples_total',
      help: 'Samples a component dropped, by reason.',
      labelNames: ['component', 'type', 'reason'],
      registers,
    });
    this.errors = new Counter({
      name: 'sluice_component_errors_total',
      help: 'Errors a component met (malformed lines, failed writes, poison messages), by reason.',
      labelNames: ['component', 'type', 'reason'],
      registers,
    });
    this.batchLatency = new Histogram({
      name: 'sluice_component_batch_duration_seconds',
      help: 'Time a component spent on one batch (for sinks: until durable).',
      labelNames: ['component', 'type'],
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    });
    this.inFlight = new Gauge({
      name: 'sluice_component_in_flight_batches',
      help: 'Batches a source emitted that are not yet acknowledged by every sink.',
      labelNames: ['component', 'type'],
      registers,
    });
    this.watermark = new Gauge({
      name: 'sluice_component_watermark_seconds',
      help: 'Event-time watermark of the stream a component emits (unix seconds).',
      labelNames: ['component', 'type'],
      registers,
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_process_' });
  }

  /** The metrics of one component, labels bound once so the hot path does no label lookups. */
  forComponent(component: string, type: string): ComponentMetrics {
    return new ComponentMetrics(this, component, type);
  }
}

export class ComponentMetrics {
  private readonly receivedChild;
  private readonly sentChild;
  private readonly latencyChild;
  private readonly inFlightChild;
  private readonly watermarkChild;

  constructor(
    private readonly all: SelfMetrics,
    readonly component: string,
    readonly type: string,
  ) {
    const labels = { component, type };
    this.receivedChild = all.received.labels(labels);
    this.sentChild = all.sent.labels(labels);
    this.latencyChild = all.batchLatency.labels(labels);
    this.inFlightChild = all.inFlight.labels(labels);
    this.watermarkChild = all.watermark.labels(labels);
  }

  /** The registry the metrics live in, for components that add metrics of their own. */
  get registry(): Registry {
    return this.all.registry;
  }

  received(samples: number): void {
    if (samples > 0) this.receivedChild.inc(samples);
  }

  sent(samples: number): void {
    if (samples > 0) this.sentChild.inc(samples);
  }

  discarded(reason: string, samples: number): void {
    if (samples > 0) this.all.discarded.labels(this.component, this.type, reason).inc(samples);
  }

  error(reason: string, count = 1): void {
    if (count > 0) this.all.errors.labels(this.component, this.type, reason).inc(count);
  }

  batchSeconds(seconds: number): void {
    this.latencyChild.observe(seconds);
  }

  setInFlight(batches: number): void {
    this.inFlightChild.set(batches);
  }

  setWatermark(ms: number): void {
    if (Number.isFinite(ms)) this.watermarkChild.set(ms / 1000);
  }
}
