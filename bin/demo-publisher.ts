import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { FORMAT_HEADER, LABELS_HEADER, TIMESTAMP_HEADER } from '../sources/nats/message-routing.ts';

/**
 * Publishes the metrics of a few made-up web services to `metrics.<tenant>.prom`, once per
 * interval, the way an instrumented service would push its exposition text to NATS: request
 * counters by method and code, a latency histogram, and a memory gauge, evolving over time.
 */
export class DemoPublisher {
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;
  private readonly counters = new Map<string, number>();
  published = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly tenant: string,
    private readonly instances: number,
  ) {}

  static async connect(url: string, tenant = 'demo', instances = 3): Promise<DemoPublisher> {
    const nc = await connect({ servers: url.split(','), name: 'sluice-demo', maxReconnectAttempts: -1 });
    return new DemoPublisher(nc, tenant, instances);
  }

  start(intervalMs = 1000): void {
    this.publishAll();
    this.timer = setInterval(() => this.publishAll(), intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.nc.drain();
  }

  private publishAll(): void {
    const now = Date.now();
    for (let i = 0; i < this.instances; i++) {
      const hdrs = headers();
      hdrs.set(FORMAT_HEADER, 'prom');
      hdrs.set(TIMESTAMP_HEADER, String(now));
      hdrs.set(LABELS_HEADER, `job=demo-api,instance=api-${i}:8080`);
      this.nc.publish(`metrics.${this.tenant}.prom`, this.exposition(i), { headers: hdrs });
      this.published++;
    }
    this.tick++;
  }

  private bump(key: string, by: number): number {
    const value = (this.counters.get(key) ?? 0) + by;
    this.counters.set(key, value);
    return value;
  }

  /** One instance's exposition text at the current tick. */
  private exposition(instance: number): string {
    const wave = 1 + Math.sin((this.tick + instance * 7) / 10);
    const lines = [
      '# HELP http_requests_total Requests served, by method and status code.',
      '# TYPE http_requests_total counter',
    ];
    for (const [method, code, base] of [
      ['GET', '200', 40],
      ['GET', '404', 2],
      ['POST', '200', 10],
      ['POST', '500', 0.5],
    ] as const) {
      const v = this.bump(`${instance}:${method}:${code}`, Math.round(base * wave));
      lines.push(`http_requests_total{method="${method}",code="${code}"} ${v}`);
    }
    lines.push('# HELP http_request_duration_seconds Request latency.', '# TYPE http_request_duration_seconds histogram');
    // Buckets are cumulative: each one counts every request at or below its bound, and the
    // +Inf bucket equals _count.
    const requests = Math.round(50 * wave);
    let share = 0;
    for (const [le, part] of [['0.05', 0.6], ['0.1', 0.2], ['0.5', 0.15], ['1', 0.04], ['+Inf', 0.01]] as const) {
      share += part;
      const increment = le === '+Inf' ? requests : Math.round(requests * share);
      lines.push(`http_request_duration_seconds_bucket{le="${le}"} ${this.bump(`${instance}:le:${le}`, increment)}`);
    }
    lines.push(`http_request_duration_seconds_sum ${this.bump(`${instance}:sum`, requests * 0.064).toFixed(3)}`);
    lines.push(`http_request_duration_seconds_count ${this.bump(`${instance}:count`, requests)}`);
    lines.push('# HELP process_resident_memory_bytes Resident memory size in bytes.', '# TYPE process_resident_memory_bytes gauge');
    lines.push(`process_resident_memory_bytes ${Math.round(50e6 + 10e6 * wave)}`);
    lines.push('# HELP request_id_debug A label that should never be stored.', '# TYPE request_id_debug gauge');
    lines.push(`request_id_debug{request_id="r-${this.tick}"} 1`);
    return lines.join('\n') + '\n';
  }
}
