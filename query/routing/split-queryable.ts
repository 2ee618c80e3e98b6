import { compareLabels } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';
import type { Querier, SampleCursor, SeriesSet, StoredSeries } from '../../sinks/chunks/storage.ts';
import type { Queryable } from '../promql/engine/types.ts';

/**
 * Two tiers as one `Queryable`, split at a time: samples before `boundary()` come from `older`
 * (the ClickHouse raw table), samples from it on from `recent` (the chunk store). Each tier is
 * asked only for its side of the split, so a sample both hold is read once. Series are merged by
 * label set; a merged series' cursor yields the older tier's runs, then the recent tier's.
 */
export class SplitQueryable implements Queryable {
  constructor(
    private readonly older: Queryable,
    private readonly recent: Queryable,
    /** The oldest time the recent tier holds (Infinity: it holds nothing). Read once per querier. */
    private readonly boundary: () => number,
  ) {}

  querier(mint: number, maxt: number): Querier {
    const boundary = this.boundary();
    const parts: Array<{ querier: Querier; mint: number; maxt: number }> = [];
    if (mint < boundary) parts.push({ querier: this.older.querier(mint, Math.min(maxt, boundary - 1)), mint, maxt: Math.min(maxt, boundary - 1) });
    if (maxt >= boundary) parts.push({ querier: this.recent.querier(Math.max(mint, boundary), maxt), mint: Math.max(mint, boundary), maxt });
    const clip = (m: number, x: number) => parts.map((p) => ({ ...p, mint: Math.max(m, p.mint), maxt: Math.min(x, p.maxt) })).filter((p) => p.mint <= p.maxt);
    return {
      async select(matchers: readonly LabelMatcher[], m: number, x: number): Promise<SeriesSet> {
        const sets = await Promise.all(clip(m, x).map((p) => p.querier.select(matchers, p.mint, p.maxt)));
        return mergeSets(sets);
      },
      async labelNames(matchers: readonly LabelMatcher[], m: number, x: number): Promise<string[]> {
        const lists = await Promise.all(clip(m, x).map((p) => p.querier.labelNames(matchers, p.mint, p.maxt)));
        return [...new Set(lists.flat())].sort();
      },
      async labelValues(name: string, matchers: readonly LabelMatcher[], m: number, x: number): Promise<string[]> {
        const lists = await Promise.all(clip(m, x).map((p) => p.querier.labelValues(name, matchers, p.mint, p.maxt)));
        return [...new Set(lists.flat())].sort();
      },
      close(): void {
        for (const p of parts) p.querier.close();
      },
    };
  }
}

/** Series sets in time order (older tier first), merged by label set. */
function mergeSets(sets: readonly SeriesSet[]): SeriesSet {
  if (sets.length === 1) return sets[0];
  const byKey = new Map<string, StoredSeries[]>();
  for (const set of sets) {
    for (const s of set.series) {
      const key = s.labels.join('\xff');
      const list = byKey.get(key);
      if (list) list.push(s);
      else byKey.set(key, [s]);
    }
  }
  const series: StoredSeries[] = [...byKey.values()].map((list) => (list.length === 1 ? list[0] : concatenated(list)));
  series.sort((a, b) => compareLabels(a.labels, b.labels));
  return { series, warnings: sets.flatMap((s) => s.warnings) };
}

function concatenated(parts: readonly StoredSeries[]): StoredSeries {
  return {
    labels: parts[0].labels,
    cursor(): SampleCursor {
      const cursors = parts.map((p) => p.cursor());
      let at = 0;
      return {
        get ts() {
          return cursors[Math.min(at, cursors.length - 1)].ts;
        },
        get values() {
          return cursors[Math.min(at, cursors.length - 1)].values;
        },
        get length() {
          return at < cursors.length ? cursors[at].length : 0;
        },
        next() {
          while (at < cursors.length) {
            if (cursors[at].next()) return true;
            at++;
          }
          return false;
        },
      };
    },
  };
}
