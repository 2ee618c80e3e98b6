import { coarsen, type Rollup } from './rollup-state.ts';

/**
 * Event-time tumbling windows of a coarser resolution fed with the closed rollups of the next
 * finer one (1h from 5m): a pure state machine, no RxJS, no clock. `add` holds closed finer
 * rollups under the coarse window they fall in; `close(watermark)` closes every coarse window that
 * ends at or before the watermark and returns `coarsen()` of what it held, in time order, then
 * series order.
 *
 * The finer windows of a coarse window all end at or before it does (the resolution is a whole
 * multiple of the finer one), so when both are closed on the same watermark, finer first, a coarse
 * window is complete when it closes. A finer rollup arriving for a coarse window already closed
 * would mean that order was broken: that is a bug, not late data, and it throws.
 *
 * Holding the finer rollups (at most resolution / finer of them per series and window) rather
 * than a running fold keeps one definition of the coarse aggregates: `coarsen()`.
 */
export class CoarseWindows {
  private readonly open = new Map<number, Rollup[]>(); // window start -> held finer rollups
  /** Windows starting before this are closed. */
  private closedBefore = -Infinity;

  constructor(
    readonly resolutionMs: number,
    readonly finerMs: number,
  ) {
    if (!(finerMs > 0) || !(resolutionMs > finerMs) || resolutionMs % finerMs !== 0) {
      throw new RangeError(`bug: a coarse resolution must be a multiple of the finer one greater than it, got ${resolutionMs}ms from ${finerMs}ms`);
    }
  }

  windowStart(t: number): number {
    return Math.floor(t / this.resolutionMs) * this.resolutionMs;
  }

  /** Files closed finer rollups under their coarse windows. */
  add(fine: readonly Rollup[]): void {
    for (const r of fine) {
      const start = this.windowStart(r.start);
      if (start < this.closedBefore) {
        throw new Error(
          `bug: a ${this.finerMs}ms rollup of series ${r.ref} at ${r.start} reached the ${this.resolutionMs}ms window at ${start} after it closed`,
        );
      }
      const held = this.open.get(start);
      if (held) held.push(r);
      else this.open.set(start, [r]);
    }
  }

  /** Closes the windows that end at or before `watermark` (ms); returns their rollups. */
  close(watermark: number): Rollup[] {
    const starts = [...this.open.keys()].filter((s) => s + this.resolutionMs <= watermark).sort((a, b) => a - b);
    const closing: Rollup[] = [];
    for (const start of starts) {
      for (const r of this.open.get(start)!) closing.push(r);
      this.open.delete(start);
    }
    const closeTo = this.windowStart(watermark);
    if (Number.isFinite(watermark) && closeTo > this.closedBefore) this.closedBefore = closeTo;
    return closing.length === 0 ? [] : coarsen(closing, this.resolutionMs);
  }

  /** Closes every open window (a flush at shutdown, or the end of a bounded input). */
  closeAll(): Rollup[] {
    return this.close(Infinity);
  }

  /** End of the latest open window, or -Infinity when none is open (see RollupWindows.openUntil). */
  get openUntil(): number {
    let end = -Infinity;
    for (const start of this.open.keys()) if (start + this.resolutionMs > end) end = start + this.resolutionMs;
    return end;
  }

  /** Number of finer rollups held in open windows. */
  get held(): number {
    let n = 0;
    for (const list of this.open.values()) n += list.length;
    return n;
  }

  snapshot(): CoarseSnapshot {
    const held: Rollup[] = [];
    for (const list of this.open.values()) for (const r of list) held.push(r);
    return { resolutionMs: this.resolutionMs, finerMs: this.finerMs, closedBefore: this.closedBefore, held };
  }

  static restore(s: CoarseSnapshot): CoarseWindows {
    const c = new CoarseWindows(s.resolutionMs, s.finerMs);
    c.add(s.held);
    c.closedBefore = s.closedBefore;
    return c;
  }
}

export interface CoarseSnapshot {
  readonly resolutionMs: number;
  readonly finerMs: number;
  readonly closedBefore: number;
  readonly held: readonly Rollup[];
}
