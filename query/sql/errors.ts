/**
 * A PromQL construct the ClickHouse translator does not express (or cannot express with PromQL's
 * exact semantics): a 422-style user-facing error naming the construct. The translator refuses
 * rather than answer differently from Prometheus.
 */
export class UnsupportedQueryError extends Error {
  readonly status = 422;
  constructor(readonly construct: string, options?: { cause?: unknown }) {
    super(`not supported by the ClickHouse translator: ${construct}`, options);
    this.name = 'UnsupportedQueryError';
  }
}
