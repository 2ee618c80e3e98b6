import { compareLabels } from '../model/labels.ts';
import { newMatcher } from '../model/matchers.ts';
import type { Querier, StoredSeries } from '../sinks/chunks/storage.ts';
import type { Queryable } from '../query/promql/engine/types.ts';

/**
 * A Queryable that answers `select` in slices over another Queryable (the raw table's
 * ClickHouseQueryable): `valuesPerSlice` values of `sliceLabel` at a time (one `=~` matcher of
 * the escaped values), and last the series without the label.
 *
 * Why the engine peer needs it: ClickHouseQueryable fetches a selector's series in one SELECT, and
 * embedded chDB hands a result to JavaScript as one Buffer. At the bench's full size (10,000
 * series x 21,600 samples, about 6 GB as JSON) that one result cannot be materialised; ten jobs
 * are about 600 MB. Each slice is one more scan of the raw table, so slices should be few. The
 * engine still sees one sorted series set.
 */
export class SlicedQueryable implements Queryable {
  constructor(
    private readonly inner: Queryable,
    private readonly sliceLabel: string,
    private readonly valuesPerSlice: number,
  ) {
    if (!(Number.isInteger(valuesPerSlice) && valuesPerSlice > 0)) throw new RangeError(`bug: valuesPerSlice must be a positive whole number, got ${valuesPerSlice}`);
  }

  querier(mint: number, maxt: number): Querier {
    const q = this.inner.querier(mint, maxt);
    return {
      select: async (matchers, smint, smaxt) => {
        const values = await q.labelValues(this.sliceLabel, matchers, smint, smaxt);
        const series: StoredSeries[] = [];
        const warnings: string[] = [];
        const slices = [newMatcher('=', this.sliceLabel, '')];
        for (let i = 0; i < values.length; i += this.valuesPerSlice) {
          slices.push(newMatcher('=~', this.sliceLabel, values.slice(i, i + this.valuesPerSlice).map(escapeRegex).join('|')));
        }
        for (const slice of slices) {
          const part = await q.select([...matchers, slice], smint, smaxt);
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

/** A label value as a regex that matches exactly it (RE2 and JavaScript agree on these escapes). */
function escapeRegex(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
