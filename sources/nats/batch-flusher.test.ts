import { describe, expect, it } from 'vitest';
import { QueuedIteratorImpl } from '@nats-io/nats-core/internal';
import { BatchFlusher } from './batch-flusher.ts';

/** The read loop of the NATS source, reduced to its batching decision. */
async function readLoop(source: QueuedIteratorImpl<string>, emitted: string[][]): Promise<void> {
  let open: string[] = [];
  const flusher = new BatchFlusher(
    async () => {
      if (open.length > 0) emitted.push(open);
      open = [];
    },
    (error) => {
      throw error;
    },
  );
  for await (const m of source) {
    open.push(m);
    if (source.getPending() === 0) await flusher.flush();
    else flusher.flushWhenIdle();
  }
  await flusher.flush();
}

const idle = () => new Promise((r) => setImmediate(r));

describe('BatchFlusher', () => {
  it('emits the last batch even when the client counts a drained pull callback as pending', async () => {
    // What the JetStream client queues when a pull request is renewed between two messages.
    const source = new QueuedIteratorImpl<string>();
    const emitted: string[][] = [];
    const pendingSeen: number[] = [];
    source.push('m1');
    source.push((() => {}) as unknown as string);
    source.push('m2');
    const loop = readLoop(source, emitted);
    const spy = source.getPending.bind(source);
    source.getPending = () => {
      const n = spy();
      pendingSeen.push(n);
      return n;
    };
    await idle();
    await idle();
    expect(pendingSeen.at(-1)).toBe(1); // the miscount this guards against: nothing is left
    expect(emitted).toEqual([['m1', 'm2']]);
    source.stop();
    await loop;
  });

  it('leaves a batch open while more messages are queued, and emits each message once', async () => {
    const source = new QueuedIteratorImpl<string>();
    const emitted: string[][] = [];
    const loop = readLoop(source, emitted);
    for (const m of ['a', 'b', 'c']) source.push(m);
    await idle();
    source.push('d');
    await idle();
    source.stop();
    await loop;
    expect(emitted).toEqual([['a', 'b', 'c'], ['d']]);
  });

  it('runs flushes one at a time, in the order asked, and arms one idle flush at a time', async () => {
    const log: string[] = [];
    let calls = 0;
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const flusher = new BatchFlusher(
      async () => {
        const n = ++calls;
        log.push(`start ${n}`);
        if (n === 1) await first;
        log.push(`end ${n}`);
      },
      (error) => {
        throw error;
      },
    );
    const a = flusher.flush();
    flusher.flushWhenIdle();
    flusher.flushWhenIdle();
    await idle();
    expect(log).toEqual(['start 1']);
    release();
    await a;
    await idle();
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('reports a failed flush and goes on flushing', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const flusher = new BatchFlusher(
      async () => {
        if (++calls === 1) throw new Error('emit failed');
      },
      (error) => errors.push(error),
    );
    await flusher.flush();
    await flusher.flush();
    expect(calls).toBe(2);
    expect(errors.map((e) => (e as Error).message)).toEqual(['emit failed']);
  });
});
