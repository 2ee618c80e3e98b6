import type { ClickHouseClient } from '@clickhouse/client';

/**
 * A ClickHouseClient that fails on purpose, for tests of the sink's delivery: the real client
 * (embedded chDB) does the work underneath, and the wrapper decides per statement whether the
 * caller sees it fail, in one of the ways a ClickHouse server fails:
 *
 * - `refused`: throws before anything is sent (connection refused); nothing is written;
 * - `timeout`: waits `hangMs`, then throws a timeout; nothing is written;
 * - `failed_after_write`: runs the statement in chDB, then throws as if the response was lost
 *   (socket reset): the rows ARE written, the caller does not know.
 *
 * Only statements that change data (`exec`, `command`, `insert`) are failed; `query` (reads)
 * passes, so a test can count rows through the same client.
 */
export type FaultMode = 'none' | 'refused' | 'timeout' | 'failed_after_write';

export class FaultInjector {
  mode: FaultMode = 'none';
  /** How long a `timeout` statement hangs before throwing. */
  hangMs = 50;
  /** Statements failed so far, by mode. */
  readonly failed: Record<Exclude<FaultMode, 'none'>, number> = { refused: 0, timeout: 0, failed_after_write: 0 };
  /** When set, only this many more statements fail; then the mode goes back to `none`. */
  remaining: number | undefined;
  /** When set, only statements whose text matches fail (e.g. the row inserts, not the series registrations). */
  match: RegExp | undefined;

  set(mode: FaultMode, options: { remaining?: number; match?: RegExp } = {}): void {
    this.mode = mode;
    this.remaining = options.remaining;
    this.match = options.match;
  }

  /** Wraps a client: data-changing calls go through `run`. */
  wrap(client: ClickHouseClient): ClickHouseClient {
    const intercepted = new Set<PropertyKey>(['exec', 'command', 'insert']);
    return new Proxy(client, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (!intercepted.has(prop) || typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const call = () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          const params = args[0] as { query?: string; table?: string } | undefined;
          const text = params?.query ?? params?.table ?? '';
          return this.match && !this.match.test(text) ? call() : this.run(call);
        };
      },
    });
  }

  private async run<T>(call: () => Promise<T>): Promise<T> {
    const mode = this.mode;
    if (mode === 'none') return call();
    if (this.remaining !== undefined && --this.remaining <= 0) this.mode = 'none';
    this.failed[mode]++;
    switch (mode) {
      case 'refused':
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123 (injected)'), { code: 'ECONNREFUSED' });
      case 'timeout':
        await new Promise((resolve) => setTimeout(resolve, this.hangMs));
        throw new Error('Timeout error. (injected)');
      case 'failed_after_write': {
        const result = await call();
        // An exec's result stream is never read by the caller now: let it go.
        (result as { stream?: { resume?: () => void } } | undefined)?.stream?.resume?.();
        throw Object.assign(new Error('socket hang up (injected, after the statement ran)'), { code: 'ECONNRESET' });
      }
    }
  }
}
