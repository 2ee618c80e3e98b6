import { compareLabels } from '../model/labels.ts';
import { newMatcher } from '../model/matchers.ts';
import type { Querier, StoredSeries } from '../sinks/chunks/storage.ts';
import type { Queryable } from '../query/promql/engine/types.ts';

/**
 * A Queryable that answers `select` in slices, one value of `sliceLabel` at a time (and last the
 * series without it), over another Queryable (the raw table's ClickHouseQueryable).
 *
 * Why the engine peer needs it: ClickHouseQueryable fetches a selector's series in one SELECT, and
 * embedded chDB hands a result to JavaScript as one Buffer. At the bench's full size (10,000
 * series x 21,600 samples, about 6 GB as JSON) that one result cannot be materialised; per job it
 * is about 60 MB. The engine still sees one sorted series set.
 */
export class SlicedQueryable implements Queryable {
  constructor(
    private readonly inner: Queryable,
    private readonly sliceLabel: string,
  ) {}

  querier(mint: number, maxt: number): Querier {
    const q = this.inner.querier(mint, maxt);
    return {
      select: async (matchers, smint, smaxt) => {
        const values = await q.labelValues(this.sliceLabel, matchers, smint, smaxt);
        const series: StoredSeries[] = [];
        const warnings: string[] = [];
        for (const value of [...values, '']) {
          const part = await q.select([...matchers, newMatcher('=', this.sliceLabel, value)], smint, smaxt);
          series.push(...part.series);
          warnings.push(...part.warnings);
        }
        series.sort((a, b) => compareLabels(a.labels, b.labels));
        return { series, warnings };
      },
      labelNames: (matchers, lmint, lmaxt) => q.labelNames(matchers, lmint, lmaxt),
      labelValues: (name, matchers, lmint, lmaxt) => q.labelValues(name, matchers, lmint, lmaxt),
      close: () => q.close(),
    };
  }
}
