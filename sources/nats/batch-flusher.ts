/**
 * Decides when a NATS source emits its open batches, and runs those emissions one at a time.
 *
 * The read loops emit when the client's iterator says nothing more is queued. That count cannot
 * be trusted alone: the JetStream client queues its own pull requests as callbacks beside the
 * messages, and a callback drained ahead of the last message leaves the count at 1 when nothing is
 * left. A batch relying on it would wait for the next message, however long that takes — and its
 * messages past their ack wait. So whenever a loop leaves a batch open it also asks for a flush
 * once it goes idle: a check-phase callback, which runs only after the iterator has yielded
 * everything it holds and waits on the socket.
 */
export class BatchFlusher {
  private chain: Promise<void> = Promise.resolve();
  private idleFlushArmed = false;

  constructor(
    private readonly flushOpenBatches: () => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Emits every open batch after any flush under way; awaiting it holds the loop while credit is short. */
  flush(): Promise<void> {
    this.chain = this.chain.then(this.flushOpenBatches).catch(this.onError);
    return this.chain;
  }

  /** Emits the open batches once the loop has nothing left to read right now. */
  flushWhenIdle(): void {
    if (this.idleFlushArmed) return;
    this.idleFlushArmed = true;
    setImmediate(() => {
      this.idleFlushArmed = false;
      void this.flush();
    });
  }
}
