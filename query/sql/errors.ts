/**
 * A PromQL construct the ClickHouse translator does not express (or cannot express with PromQL's
 * exact semantics): a 422-style user-facing error naming the construct. The translator refuses
 * rather than answer differently from Prometheus.
 */
/** How an UnsupportedQueryError's message starts; a translated statement's throwIf with this text is one raised at run time. */
export const UNSUPPORTED_PREFIX = 'not supported by the ClickHouse translator: ';

export class UnsupportedQueryError extends Error {
  readonly status = 422;
  constructor(readonly construct: string, options?: { cause?: unknown }) {
    super(`${UNSUPPORTED_PREFIX}${construct}`, options);
    this.name = 'UnsupportedQueryError';
  }
}
