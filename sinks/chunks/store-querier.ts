import { compareLabels, compareStrings } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';
import { mergeParts } from './block/compaction.ts';
import type { Block } from './block/block.ts';
import type { HeadQuerier } from './head-querier.ts';
import type { Querier, SampleCursor, SeriesSet, StoredSeries } from './storage.ts';

/**
 * The store's `Querier`: the head and the blocks overlapping the query range as one. It holds a
 * read reference on each block until `close`, so retention or compaction cannot delete a block
 * under it. A block that turns out damaged (a segment that fails its checksum) is left out of
 * the answer with a warning and reported through `onCorrupt`; the rest of the data is served.
 */
export class StoreQuerier implements Querier {
  private closed = false;

  constructor(
    private readonly head: HeadQuerier,
    private readonly blocks: readonly Block[],
    private readonly onCorrupt: (block: Block, error: Error) => void,
  ) {}

  async select(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<SeriesSet> {
    const warnings: string[] = [];
    const sources: StoredSeries[][] = [];
    for (const block of this.blocks) {
      if (!block.overlaps(mint, maxt)) continue;
      try {
        sources.push(await block.load(block.selectIds(matchers), mint, maxt));
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        this.onCorrupt(block, e);
        warnings.push(`block ${block.ulid} could not be read and was left out: ${e.message}`);
      }
    }
    sources.push(this.head.select(matchers, mint, maxt));
    return { series: mergeSeriesLists(sources), warnings };
  }

  async labelNames(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]> {
    const names = new Set(this.head.labelNames(matchers, mint, maxt));
    for (const block of this.blocks) {
      if (!block.overlaps(mint, maxt)) continue;
      for (const id of block.selectIds(matchers)) {
        const labels = block.index.series[id].labels;
        for (let i = 0; i < labels.length; i += 2) names.add(labels[i]);
      }
    }
    return [...names].sort(compareStrings);
  }

  async labelValues(name: string, matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]> {
    const values = new Set(this.head.labelValues(name, matchers, mint, maxt));
    for (const block of this.blocks) {
      if (!block.overlaps(mint, maxt)) continue;
      for (const id of block.selectIds(matchers)) {
        const labels = block.index.series[id].labels;
        for (let i = 0; i < labels.length; i += 2) if (labels[i] === name) values.add(labels[i + 1]);
      }
    }
    return [...values].sort(compareStrings);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const block of this.blocks) block.release();
  }
}

/** Merges label-sorted lists (oldest source first) into one, joining series present in several. */
function mergeSeriesLists(sources: StoredSeries[][]): StoredSeries[] {
  const all: Array<{ s: StoredSeries; source: number }> = [];
  sources.forEach((list, source) => {
    for (const s of list) all.push({ s, source });
  });
  all.sort((a, b) => compareLabels(a.s.labels, b.s.labels) || a.source - b.source);
  const out: StoredSeries[] = [];
  for (let i = 0; i < all.length; ) {
    let j = i + 1;
    while (j < all.length && compareLabels(all[i].s.labels, all[j].s.labels) === 0) j++;
    out.push(j === i + 1 ? all[i].s : new MergedSeries(all.slice(i, j).map((x) => x.s)));
    i = j;
  }
  return out;
}

/**
 * One series found in several sources (blocks, head). Runs are passed through in order while
 * each starts after the previous one ended (the usual case: blocks hold older time ranges than
 * the head); if they overlap (out-of-order data cut into more than one block), the rest is merged
 * in time order, the earliest source winning a timestamp both hold.
 */
class MergedSeries implements StoredSeries {
  constructor(private readonly parts: readonly StoredSeries[]) {}

  get labels() {
    return this.parts[0].labels;
  }

  cursor(): SampleCursor {
    const runs: Array<{ ts: Float64Array; values: Float64Array; length: number }> = [];
    let ordered = true;
    let last = -Infinity;
    for (const part of this.parts) {
      const c = part.cursor();
      while (c.next()) {
        if (c.length === 0) continue;
        if (c.ts[0] <= last) ordered = false;
        last = c.ts[c.length - 1];
        runs.push({ ts: c.ts.slice(0, c.length), values: c.values.slice(0, c.length), length: c.length });
      }
    }
    return new RunsCursor(ordered ? runs : [mergeParts(runs)]);
  }
}

class RunsCursor implements SampleCursor {
  ts: Float64Array = new Float64Array(0);
  values: Float64Array = new Float64Array(0);
  length = 0;
  private at = 0;

  constructor(private readonly runs: ReadonlyArray<{ ts: Float64Array; values: Float64Array; length: number }>) {}

  next(): boolean {
    const run = this.runs[this.at++];
    if (run === undefined) {
      this.length = 0;
      return false;
    }
    this.ts = run.ts;
    this.values = run.values;
    this.length = run.length;
    return true;
  }
}
