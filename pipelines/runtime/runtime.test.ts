import { describe, expect, it } from 'vitest';
import { Subject, toArray, lastValueFrom } from 'rxjs';
import { AckHandle, type AckOutcome } from '../../model/ack.ts';
import type { SampleBatch } from '../../model/sample-batch.ts';
import { InFlightGate } from './in-flight-gate.ts';
import { mergeWithWatermarks } from './watermark-merge.ts';
import { fanOut } from './fan-out.ts';

function batch(watermark: number, ack = AckHandle.none()): SampleBatch {
  return { kind: 'samples', refs: new Uint32Array(1), ts: new Float64Array(1), values: new Float64Array(1), length: 1, tenant: 't', ack, watermark };
}

describe('InFlightGate', () => {
  it('hands out credits up to capacity, then waits for a release', async () => {
    const gate = new InFlightGate(2);
    await gate.acquire();
    await gate.acquire();
    let third = false;
    const waiting = gate.acquire().then(() => (third = true));
    await Promise.resolve();
    expect(third).toBe(false);
    gate.release();
    await waiting;
    expect(third).toBe(true);
    expect(gate.inFlight).toBe(2);
    let drained = false;
    const d = gate.drained().then(() => (drained = true));
    gate.release();
    await Promise.resolve();
    expect(drained).toBe(false);
    gate.release();
    await d;
    expect(drained).toBe(true);
    expect(() => gate.release()).toThrow(/bug/);
  });
});

describe('mergeWithWatermarks', () => {
  it('emits the minimum of the inputs latest watermarks; a completed input stops holding it back', async () => {
    const a = new Subject<SampleBatch>();
    const b = new Subject<SampleBatch>();
    const out = lastValueFrom(mergeWithWatermarks([a, b]).pipe(toArray()));
    a.next(batch(100)); // b has said nothing: -Infinity
    b.next(batch(50));
    a.next(batch(200));
    b.next(batch(300));
    b.complete();
    a.next(batch(250));
    a.complete();
    expect((await out).map((x) => x.watermark)).toEqual([-Infinity, 50, 50, 200, 250]);
  });
});

describe('fanOut', () => {
  it('acknowledges the source only after every branch released the batch', () => {
    const src = new Subject<SampleBatch>();
    const shared = fanOut(src, 3);
    const held: SampleBatch[][] = [[], [], []];
    held.forEach((list) => shared.subscribe((x) => list.push(x)));
    let outcome: AckOutcome | undefined;
    src.next(batch(0, new AckHandle((o) => (outcome = o))));
    expect(held.map((l) => l.length)).toEqual([1, 1, 1]);
    held[0][0].ack.done();
    held[1][0].ack.done();
    expect(outcome).toBeUndefined();
    held[2][0].ack.done();
    expect(outcome).toEqual({ ok: true });
  });
});
