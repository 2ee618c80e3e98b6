/**
 * Credit-based backpressure for sources: a source takes a credit before it emits a batch and the
 * credit comes back when the batch's ack handle settles (every sink made it durable, or a sink
 * failed). With all credits out, `acquire` waits, so a slow sink slows the pull instead of
 * growing memory.
 */
export class InFlightGate {
  private used = 0;
  private readonly waiters: Array<() => void> = [];
  private drainWaiters: Array<() => void> = [];

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`bug: in-flight capacity must be >= 1, got ${capacity}`);
  }

  get inFlight(): number {
    return this.used;
  }

  get available(): number {
    return this.capacity - this.used;
  }

  /** Resolves once a credit is taken. */
  acquire(): Promise<void> {
    if (this.used < this.capacity) {
      this.used++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(() => {
      this.used++;
      resolve();
    }));
  }

  release(): void {
    if (this.used <= 0) throw new Error('bug: in-flight gate released more often than acquired');
    this.used--;
    const next = this.waiters.shift();
    if (next) next();
    else if (this.used === 0) {
      const drained = this.drainWaiters;
      this.drainWaiters = [];
      for (const resolve of drained) resolve();
    }
  }

  /** Resolves when every credit is back (all emitted batches settled). */
  drained(): Promise<void> {
    if (this.used === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
