import { Counter, type Registry } from 'prom-client';

/** Where an evaluation step of a query over both tiers was answered. */
export type StepRoute = 'clickhouse_sql' | 'both_tiers' | 'chunk_store';

/**
 * Self-metrics of the query router (tiered-engine.ts): how many evaluation steps each tier
 * answered, how often the engine had to stand in for the translator, and what was refused. A
 * dashboard over these shows whether long-range queries really run inside ClickHouse.
 */
export class RoutingMetrics {
  private readonly steps: Counter<'route'>;
  private readonly fallbacks: Counter<'reason'>;
  private readonly refusals: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.steps = new Counter({
      name: 'sluice_query_tier_steps_total',
      help: 'Evaluation steps of queries over both tiers, by where they were answered: translated SQL in ClickHouse, the engine over both tiers, or the engine over the chunk store.',
      labelNames: ['route'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'sluice_query_tier_engine_fallbacks_total',
      help: 'Queries reaching older data that the engine evaluated instead of translated SQL: the translator refused (unsupported) or the query has @ (pinned).',
      labelNames: ['reason'],
      registers,
    });
    this.refusals = new Counter({
      name: 'sluice_query_tier_refused_total',
      help: 'Queries over both tiers refused with 422: raw samples expired, or a forced resolution that cannot answer.',
      labelNames: ['reason'],
      registers,
    });
  }

  answered(route: StepRoute, steps: number): void {
    if (steps > 0) this.steps.inc({ route }, steps);
  }

  fellBack(reason: 'unsupported' | 'pinned'): void {
    this.fallbacks.inc({ reason });
  }

  refused(reason: 'raw_expired' | 'unsupported_forced'): void {
    this.refusals.inc({ reason });
  }
}
