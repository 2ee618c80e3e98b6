import { pino } from 'pino';
import { MetadataStore } from '../model/metadata.ts';
import type { SeriesRegistry } from '../model/series-registry.ts';
import type { ComponentContext, RuntimeServices } from '../pipelines/component.ts';
import { SelfMetrics } from '../pipelines/self-metrics.ts';

/** One JSON line of a benchmark's output (DESIGN.md's CLI contract). */
export interface BenchResult {
  readonly bench: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  readonly [context: string]: string | number | boolean;
}

/** A component context for driving a component directly, outside a topology. */
export function benchContext(name: string, type: string, registry: SeriesRegistry): ComponentContext {
  const services: RuntimeServices = {
    natsUrl: () => Promise.reject(new Error('no NATS in this benchmark')),
  };
  return {
    name,
    registry,
    metadata: new MetadataStore(),
    metrics: new SelfMetrics().forComponent(name, type),
    logger: pino({ level: 'silent' }),
    dataDir: '/tmp',
    services,
  };
}
