import { CoarseWindows, type CoarseSnapshot } from './coarse-windows.ts';
import { RollupWindows, type Rollup, type RollupSnapshot } from './rollup-state.ts';

/**
 * The whole state of a downsample operator, as a pure state machine (no I/O, no RxJS, no clock):
 * per tenant a chain of resolutions (the finest rolled up from raw samples, each coarser one from
 * the next finer one's closed rollups), the stream's watermark, and the rollup batches emitted but
 * not yet acknowledged downstream ("pending").
 *
 * Every transition is deterministic, so replaying the same inputs over a restored snapshot
 * rebuilds the same state, pending ids included: that is what makes the operator's input log a
 * sufficient record of everything since the last snapshot.
 */

/** A rollup batch the operator owes downstream until its write is acknowledged. */
export interface PendingRollups {
  /** Unique within the state (and stable across a restart: ids are part of the snapshot). */
  readonly id: number;
  readonly tenant: string;
  readonly resolutionMs: number;
  /** The watermark that closed these windows. */
  readonly watermark: number;
  readonly rollups: readonly Rollup[];
}

export interface IngestCounts {
  accepted: number;
  staleSkipped: number;
  tooLate: number;
}

/** One tenant's resolutions, finest first. */
class RollupChain {
  constructor(
    readonly finest: RollupWindows,
    readonly coarser: readonly CoarseWindows[],
  ) {}

  static create(resolutions: readonly number[]): RollupChain {
    return new RollupChain(
      new RollupWindows(resolutions[0]),
      resolutions.slice(1).map((ms, i) => new CoarseWindows(ms, resolutions[i])),
    );
  }

  /** Closes every level on `watermark`, finer first; one list of rollups per resolution. */
  close(watermark: number): Rollup[][] {
    const out: Rollup[][] = [this.finest.close(watermark)];
    for (const level of this.coarser) {
      level.add(out[out.length - 1]);
      out.push(level.close(watermark));
    }
    return out;
  }

  /**
   * The watermark that closes everything open at every level: the latest open end, rounded up to
   * the coarsest resolution, because closing a finer window feeds the coarser window around it.
   */
  get openUntil(): number {
    let end = this.finest.openUntil;
    for (const level of this.coarser) end = Math.max(end, level.openUntil);
    const coarsest = this.coarser.length > 0 ? this.coarser[this.coarser.length - 1].resolutionMs : this.finest.resolutionMs;
    return Number.isFinite(end) ? Math.ceil(end / coarsest) * coarsest : end;
  }
}

export interface TenantSnapshot {
  readonly tenant: string;
  readonly finest: RollupSnapshot;
  readonly coarser: readonly CoarseSnapshot[];
}

export interface DownsampleSnapshot {
  readonly resolutions: readonly number[];
  readonly watermark: number;
  readonly nextId: number;
  readonly tenants: readonly TenantSnapshot[];
  readonly pending: readonly PendingRollups[];
}

export class DownsampleState {
  /** The stream's event-time watermark as far as this state has seen it (never goes back). */
  private wm = -Infinity;
  private nextId = 1;
  private readonly tenants = new Map<string, RollupChain>();
  private readonly pending = new Map<number, PendingRollups>();

  constructor(readonly resolutions: readonly number[]) {
    if (resolutions.length === 0) throw new RangeError('bug: a downsample state needs at least one resolution');
  }

  get watermark(): number {
    return this.wm;
  }

  /**
   * Files a batch of one tenant's raw samples into its finest windows, then advances the
   * watermark (for every tenant: the watermark is the stream's). Returns the rollup batches that
   * closed (each now pending) and what became of the samples.
   */
  ingest(
    tenant: string,
    refs: Uint32Array,
    ts: Float64Array,
    values: Float64Array,
    length: number,
    watermark: number,
  ): { closed: PendingRollups[]; counts: IngestCounts } {
    const counts: IngestCounts = { accepted: 0, staleSkipped: 0, tooLate: 0 };
    if (length > 0) {
      let chain = this.tenants.get(tenant);
      if (!chain) {
        // A tenant new to the stream starts where the stream is: its windows before the
        // watermark are closed like everyone's (closing an empty chain emits nothing).
        chain = RollupChain.create(this.resolutions);
        chain.close(this.wm);
        this.tenants.set(tenant, chain);
      }
      const stats = chain.finest.stats;
      const before = { ...stats };
      for (let i = 0; i < length; i++) chain.finest.add(refs[i], ts[i], values[i]);
      counts.accepted = stats.accepted - before.accepted;
      counts.staleSkipped = stats.staleSkipped - before.staleSkipped;
      counts.tooLate = stats.tooLate - before.tooLate;
    }
    return { closed: this.advance(watermark), counts };
  }

  /** Closes, for every tenant, the windows that end at or before `watermark` if it moved forward. */
  advance(watermark: number): PendingRollups[] {
    if (!(watermark > this.wm)) return [];
    this.wm = watermark;
    const closed: PendingRollups[] = [];
    for (const [tenant, chain] of this.tenants) {
      chain.close(watermark).forEach((rollups, level) => {
        if (rollups.length === 0) return;
        const p: PendingRollups = { id: this.nextId++, tenant, resolutionMs: this.resolutions[level], watermark, rollups };
        this.pending.set(p.id, p);
        closed.push(p);
      });
    }
    return closed;
  }

  /**
   * Closes every open window of every tenant by moving the watermark to the end of the latest
   * one, so the flushed windows count as closed afterwards (a sample for one is too late, it
   * does not reopen it with part of the data).
   */
  flushAll(): PendingRollups[] {
    let end = -Infinity;
    for (const chain of this.tenants.values()) end = Math.max(end, chain.openUntil);
    return Number.isFinite(end) ? this.advance(end) : [];
  }

  /** Forgets a pending batch once downstream acknowledged it; false when it was not pending. */
  settle(id: number): boolean {
    return this.pending.delete(id);
  }

  /** Pending batches in the order they closed. */
  pendingBatches(): PendingRollups[] {
    return [...this.pending.values()];
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  snapshot(): DownsampleSnapshot {
    const tenants: TenantSnapshot[] = [];
    for (const [tenant, chain] of this.tenants) {
      tenants.push({ tenant, finest: chain.finest.snapshot(), coarser: chain.coarser.map((c) => c.snapshot()) });
    }
    return { resolutions: [...this.resolutions], watermark: this.wm, nextId: this.nextId, tenants, pending: this.pendingBatches() };
  }

  /** Rebuilds a state from a snapshot; the snapshot's resolutions must be the ones asked for. */
  static restore(s: DownsampleSnapshot): DownsampleState {
    const state = new DownsampleState(s.resolutions);
    state.wm = s.watermark;
    state.nextId = s.nextId;
    for (const t of s.tenants) {
      if (t.finest.resolutionMs !== s.resolutions[0] || t.coarser.length !== s.resolutions.length - 1) {
        throw new Error(`bug: tenant ${JSON.stringify(t.tenant)} in a snapshot has levels that do not match its resolutions`);
      }
      const coarser = t.coarser.map((c, i) => {
        if (c.resolutionMs !== s.resolutions[i + 1] || c.finerMs !== s.resolutions[i]) {
          throw new Error(`bug: tenant ${JSON.stringify(t.tenant)} in a snapshot has a level of ${c.resolutionMs}ms where ${s.resolutions[i + 1]}ms belongs`);
        }
        return CoarseWindows.restore(c);
      });
      state.tenants.set(t.tenant, new RollupChain(RollupWindows.restore(t.finest), coarser));
    }
    for (const p of s.pending) state.pending.set(p.id, p);
    return state;
  }
}
