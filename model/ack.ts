/**
 * Acknowledgement handles: how a source learns that every sink on a batch's path made it durable.
 *
 * A handle counts outstanding holders. The source creates it with one holder; a fan-out to k
 * branches `retain`s k-1 more; each sink calls `done()` once its write is durable, and an operator
 * that drops a whole batch calls `done()` for it (nothing left to persist). Any holder may `fail()`
 * instead: the handle still waits for the others, then settles as failed so the source can ask for
 * redelivery (JetStream nak) rather than acknowledging data that was not stored.
 */
export type AckOutcome = { ok: true } | { ok: false; error: Error };

export class AckHandle {
  private pending: number;
  private failure: Error | undefined;
  private settled = false;

  constructor(private readonly onSettle: (outcome: AckOutcome) => void) {
    this.pending = 1;
  }

  /** A handle for data nobody waits on (tests, core NATS, generated data). */
  static none(): AckHandle {
    return new AckHandle(() => {});
  }

  /** Adds `n` holders; must be called before the batch reaches them. */
  retain(n = 1): void {
    if (this.settled) throw new Error('bug: retain() on a settled ack handle');
    this.pending += n;
  }

  done(): void {
    this.release();
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.release();
  }

  get isSettled(): boolean {
    return this.settled;
  }

  private release(): void {
    if (this.settled) throw new Error('bug: ack handle released more often than retained');
    if (--this.pending > 0) return;
    this.settled = true;
    this.onSettle(this.failure ? { ok: false, error: this.failure } : { ok: true });
  }
}
