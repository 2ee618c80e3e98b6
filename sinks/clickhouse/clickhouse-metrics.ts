import { Counter, Gauge, type Registry } from 'prom-client';

/**
 * The ClickHouse sink's own metrics on `/metrics`, beside the generic per-component ones: rows
 * inserted per table, insert errors by reason, retries, the spill queue's size and traffic.
 * Defined once per metrics registry (several sinks share them, told apart by `component`).
 */
interface Shared {
  rows: Counter<'component' | 'table'>;
  errors: Counter<'component' | 'reason'>;
  retries: Counter<'component'>;
  spilled: Counter<'component'>;
  drained: Counter<'component'>;
  corrupt: Counter<'component'>;
  spillBytes: Gauge<'component'>;
  spillRecords: Gauge<'component'>;
  queues: Map<string, () => { bytes: number; records: number }>;
}

const byRegistry = new WeakMap<Registry, Shared>();

function define(registry: Registry): Shared {
  const registers = [registry];
  const queues = new Map<string, () => { bytes: number; records: number }>();
  const gauge = (name: string, help: string, read: (q: { bytes: number; records: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['component'],
      registers,
      collect() {
        this.reset();
        for (const [component, stats] of queues) this.set({ component }, read(stats()));
      },
    });
  return {
    rows: new Counter({ name: 'sluice_clickhouse_rows_inserted_total', help: 'Rows ClickHouse accepted, by table.', labelNames: ['component', 'table'], registers }),
    errors: new Counter({
      name: 'sluice_clickhouse_insert_errors_total',
      help: 'Failed insert attempts, by reason (connection, timeout, server, unknown_table, rejected, bug, other).',
      labelNames: ['component', 'reason'],
      registers,
    }),
    retries: new Counter({ name: 'sluice_clickhouse_insert_retries_total', help: 'Insert attempts that repeated a failed one.', labelNames: ['component'], registers }),
    spilled: new Counter({ name: 'sluice_clickhouse_spilled_blocks_total', help: 'Blocks appended to the spill queue.', labelNames: ['component'], registers }),
    drained: new Counter({ name: 'sluice_clickhouse_spill_drained_blocks_total', help: 'Spilled blocks ClickHouse accepted.', labelNames: ['component'], registers }),
    corrupt: new Counter({
      name: 'sluice_clickhouse_spill_corrupt_total',
      help: 'Torn or corrupt spill records skipped, and spilled blocks ClickHouse rejected (kept aside).',
      labelNames: ['component'],
      registers,
    }),
    spillBytes: gauge('sluice_clickhouse_spill_bytes', 'Bytes of undrained blocks in the spill queue.', (q) => q.bytes),
    spillRecords: gauge('sluice_clickhouse_spill_blocks', 'Undrained blocks in the spill queue.', (q) => q.records),
    queues,
  };
}

export class ClickHouseSinkMetrics {
  private readonly shared: Shared;

  constructor(
    registry: Registry,
    private readonly component: string,
  ) {
    let shared = byRegistry.get(registry);
    if (!shared) byRegistry.set(registry, (shared = define(registry)));
    this.shared = shared;
  }

  rowsInserted(table: string, rows: number): void {
    if (rows > 0) this.shared.rows.inc({ component: this.component, table }, rows);
  }

  insertError(reason: string): void {
    this.shared.errors.inc({ component: this.component, reason });
  }

  retry(): void {
    this.shared.retries.inc({ component: this.component });
  }

  spilled(): void {
    this.shared.spilled.inc({ component: this.component });
  }

  drained(): void {
    this.shared.drained.inc({ component: this.component });
  }

  corrupt(): void {
    this.shared.corrupt.inc({ component: this.component });
  }

  /** Reads the queue's size when scraped; returns the unregister function. */
  watchQueue(stats: () => { bytes: number; records: number }): () => void {
    this.shared.queues.set(this.component, stats);
    return () => this.shared.queues.delete(this.component);
  }
}
