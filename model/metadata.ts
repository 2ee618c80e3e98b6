/** Metric metadata as exposition formats declare it (`# TYPE`, `# HELP`, `# UNIT`). */
export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset'
  | 'unknown';

export interface MetricMetadata {
  /** The metric family name (without `_total`, `_bucket`, ... suffixes). */
  readonly family: string;
  readonly type: MetricType;
  readonly help: string;
  readonly unit: string;
}

/** Latest metadata per family, as Prometheus keeps it per target. */
export class MetadataStore {
  private readonly byFamily = new Map<string, MetricMetadata>();

  update(meta: MetricMetadata): void {
    this.byFamily.set(meta.family, meta);
  }

  get(family: string): MetricMetadata | undefined {
    return this.byFamily.get(family);
  }

  all(): IterableIterator<MetricMetadata> {
    return this.byFamily.values();
  }
}
