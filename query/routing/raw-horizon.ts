import type { LabelMatcher } from '../../model/matchers.ts';
import type { Querier } from '../../sinks/chunks/storage.ts';
import type { Queryable } from '../promql/engine/types.ts';

/**
 * Raw samples older than the raw table's retention are gone (or going: ClickHouse drops them at
 * its next merge), while the rollup tables still cover that time. A query the engine must
 * evaluate over raw samples there would get an empty or partial answer, so it gets this error
 * instead (HTTP 422): the query is fine, this tier cannot answer it exactly.
 */
export class RawSamplesExpiredError extends Error {
  readonly status = 422;
  constructor(
    readonly neededFromMs: number,
    readonly rawFromMs: number,
    /** Why the engine had to read raw samples (the translator's refusal), when it had to. */
    readonly because?: string,
  ) {
    super(
      `${because ? `${because}; the engine could evaluate it over raw samples, but ` : ''}` +
        `the query reads raw samples from ${iso(neededFromMs)}, and ClickHouse keeps raw samples only ` +
        `${Number.isFinite(rawFromMs) ? `from ${iso(rawFromMs)} (the raw table's ttl)` : 'in no table (the sink has raw: false)'}`,
    );
    this.name = 'RawSamplesExpiredError';
  }
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/** The long-term tier's raw samples, refusing (RawSamplesExpiredError) any read before `rawMinTime()`. */
export class RawHorizonQueryable implements Queryable {
  constructor(
    private readonly inner: Queryable,
    private readonly rawMinTime: () => number,
  ) {}

  querier(mint: number, maxt: number): Querier {
    const q = this.inner.querier(mint, maxt);
    return {
      select: (matchers: readonly LabelMatcher[], from: number, to: number) => {
        const rawFrom = this.rawMinTime();
        return from < rawFrom ? Promise.reject(new RawSamplesExpiredError(from, rawFrom)) : q.select(matchers, from, to);
      },
      // Listings pass: they compute no values (beyond the raw ttl they find only series whose raw
      // samples are left there).
      labelNames: (matchers, from, to) => q.labelNames(matchers, from, to),
      labelValues: (name, matchers, from, to) => q.labelValues(name, matchers, from, to),
      close: () => q.close(),
    };
  }
}
