import { isStaleNaN } from '../../model/stale-nan.ts';
import type { Rollup } from '../../model/rollup-batch.ts';

export type { Rollup };

/** Counter state carried from one window of a series to the next. */
interface CounterState {
  seen: boolean;
  last: number;
  counter: number;
}

/** Samples of one series' open window, in arrival order (sorted when the window closes). */
interface OpenWindow {
  ts: number[];
  values: number[];
}

export interface RollupStats {
  /** Samples added to an open window. */
  accepted: number;
  /** Staleness markers: they end a series in PromQL, they are not values to aggregate. */
  staleSkipped: number;
  /** Samples for a window already closed (later than the allowed lateness). */
  tooLate: number;
}

/**
 * Event-time tumbling windows of one resolution over raw samples: a pure state machine (no
 * RxJS, no clock). `add` files a sample into its series' window; `close(watermark)` closes every
 * window that ends at or before the watermark (the stream's promise that no older sample will
 * come: max event time minus the allowed lateness) and returns their rollups in time order, then
 * series order. A sample for a window that has closed is counted as too late and dropped.
 *
 * Samples inside a window may arrive in any order; they are sorted when it closes, and windows of
 * a series close in time order, so counter resets are judged in event time.
 */
export class RollupWindows {
  private readonly open = new Map<number, Map<number, OpenWindow>>(); // start -> ref -> window
  private readonly counters = new Map<number, CounterState>();
  /** Windows starting before this are closed. */
  private closedBefore = -Infinity;
  readonly stats: RollupStats = { accepted: 0, staleSkipped: 0, tooLate: 0 };

  constructor(readonly resolutionMs: number) {
    if (!(resolutionMs > 0)) throw new RangeError(`bug: rollup resolution must be positive, got ${resolutionMs}`);
  }

  windowStart(t: number): number {
    return Math.floor(t / this.resolutionMs) * this.resolutionMs;
  }

  add(ref: number, t: number, v: number): void {
    if (isStaleNaN(v)) {
      this.stats.staleSkipped++;
      return;
    }
    const start = this.windowStart(t);
    if (start < this.closedBefore) {
      this.stats.tooLate++;
      return;
    }
    let byRef = this.open.get(start);
    if (!byRef) this.open.set(start, (byRef = new Map()));
    let w = byRef.get(ref);
    if (!w) byRef.set(ref, (w = { ts: [], values: [] }));
    w.ts.push(t);
    w.values.push(v);
    this.stats.accepted++;
  }

  /** Closes the windows that end at or before `watermark` (ms); returns their rollups. */
  close(watermark: number): Rollup[] {
    const out: Rollup[] = [];
    const starts = [...this.open.keys()].filter((s) => s + this.resolutionMs <= watermark).sort((a, b) => a - b);
    for (const start of starts) {
      const byRef = this.open.get(start)!;
      this.open.delete(start);
      for (const ref of [...byRef.keys()].sort((a, b) => a - b)) out.push(this.aggregate(ref, start, byRef.get(ref)!));
    }
    const closeTo = this.windowStart(watermark);
    if (Number.isFinite(watermark) && closeTo > this.closedBefore) this.closedBefore = closeTo;
    return out;
  }

  /** Closes every open window (a drain at shutdown, or the end of a bounded input). */
  closeAll(): Rollup[] {
    return this.close(Infinity);
  }

  /**
   * End of the latest open window, or -Infinity when none is open: closing on this watermark
   * closes everything, like `closeAll`, but also marks those windows closed, so a sample for one
   * of them afterwards is too late instead of opening it anew.
   */
  get openUntil(): number {
    let end = -Infinity;
    for (const start of this.open.keys()) if (start + this.resolutionMs > end) end = start + this.resolutionMs;
    return end;
  }

  /** The whole state, for a checkpoint: open windows and per-series counter state. */
  snapshot(): RollupSnapshot {
    const open: Array<RollupSnapshot['open'][number]> = [];
    for (const [start, byRef] of this.open) for (const [ref, w] of byRef) open.push({ start, ref, ts: [...w.ts], values: [...w.values] });
    const counters: Array<RollupSnapshot['counters'][number]> = [];
    for (const [ref, c] of this.counters) if (c.seen) counters.push({ ref, last: c.last, counter: c.counter });
    return { resolutionMs: this.resolutionMs, closedBefore: this.closedBefore, open, counters };
  }

  static restore(s: RollupSnapshot): RollupWindows {
    const r = new RollupWindows(s.resolutionMs);
    r.closedBefore = s.closedBefore;
    for (const o of s.open) {
      let byRef = r.open.get(o.start);
      if (!byRef) r.open.set(o.start, (byRef = new Map()));
      byRef.set(o.ref, { ts: [...o.ts], values: [...o.values] });
    }
    for (const c of s.counters) r.counters.set(c.ref, { seen: true, last: c.last, counter: c.counter });
    return r;
  }

  private aggregate(ref: number, start: number, w: OpenWindow): Rollup {
    const n = w.ts.length;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => w.ts[a] - w.ts[b] || a - b);
    let c = this.counters.get(ref);
    if (!c) this.counters.set(ref, (c = { seen: false, last: 0, counter: 0 }));
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let lastT = -Infinity;
    let firstT = NaN;
    let firstV = NaN;
    let lastV = NaN;
    for (const i of order) {
      const t = w.ts[i];
      const v = w.values[i];
      if (t === lastT) continue; // a duplicate timestamp: the first arrival stands
      if (count === 0) {
        firstT = t;
        firstV = v;
      }
      if (!c.seen) {
        c.counter = v;
        c.seen = true;
      } else if (v < c.last) {
        c.counter += v; // a reset: the counter restarted from zero
      } else {
        c.counter += v - c.last;
      }
      c.last = v;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      lastT = t;
      lastV = v;
    }
    return { ref, start, count, sum, min, max, counter: c.counter, firstT, firstV, lastT, lastV };
  }
}

export interface RollupSnapshot {
  readonly resolutionMs: number;
  readonly closedBefore: number;
  readonly open: ReadonlyArray<{ start: number; ref: number; ts: number[]; values: number[] }>;
  readonly counters: ReadonlyArray<{ ref: number; last: number; counter: number }>;
}

/**
 * Rollups of a coarser resolution from closed rollups of a finer one (1h from 5m): counts and
 * sums add, min and max fold, the counter is the last window's (it is cumulative), first and
 * last samples come from the first and last windows. `fine` must be sorted by start per series.
 */
export function coarsen(fine: readonly Rollup[], resolutionMs: number): Rollup[] {
  const groups = new Map<string, Rollup[]>();
  for (const r of fine) {
    const start = Math.floor(r.start / resolutionMs) * resolutionMs;
    const key = `${start}/${r.ref}`;
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  const out: Rollup[] = [];
  for (const list of groups.values()) {
    list.sort((a, b) => a.start - b.start);
    const first = list[0];
    const last = list[list.length - 1];
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const r of list) {
      count += r.count;
      sum += r.sum;
      if (r.min < min) min = r.min;
      if (r.max > max) max = r.max;
    }
    out.push({
      ref: first.ref,
      start: Math.floor(first.start / resolutionMs) * resolutionMs,
      count,
      sum,
      min,
      max,
      counter: last.counter,
      firstT: first.firstT,
      firstV: first.firstV,
      lastT: last.lastT,
      lastV: last.lastV,
    });
  }
  return out.sort((a, b) => a.start - b.start || a.ref - b.ref);
}
