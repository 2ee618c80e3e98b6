import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  attachTargetLabels,
  formatLabels,
  hashLabels,
  labelsFromPairs,
  labelsFromRecord,
  getLabel,
} from './labels.ts';
import { SeriesRegistry } from './series-registry.ts';
import { BatchBuilder } from './sample-batch.ts';
import { AckHandle, type AckOutcome } from './ack.ts';
import { STALE_NAN, float64Bits, isStaleNaN } from './stale-nan.ts';
import { formatDuration, parseDuration } from './duration.ts';

describe('labels', () => {
  it.each([
    { name: 'sorted by name, bytewise', pairs: [['job', 'a'], ['__name__', 'up'], ['Zeta', 'z']], want: ['Zeta', 'z', '__name__', 'up', 'job', 'a'] },
    { name: 'later duplicate wins', pairs: [['a', '1'], ['a', '2']], want: ['a', '2'] },
    { name: 'empty value means no label', pairs: [['a', ''], ['b', '1']], want: ['b', '1'] },
  ] as const)('$name', ({ pairs, want }) => {
    expect(labelsFromPairs(pairs)).toEqual(want);
  });

  it.each([
    { name: 'no clash', exposed: { __name__: 'm', a: '1' }, target: { job: 'j' }, want: { __name__: 'm', a: '1', job: 'j' } },
    { name: 'clash renames exposed', exposed: { __name__: 'm', job: 'mine' }, target: { job: 'j' }, want: { __name__: 'm', exported_job: 'mine', job: 'j' } },
    {
      name: 'clash with an existing exported_ label',
      exposed: { job: 'mine', exported_job: 'x' },
      target: { job: 'j' },
      want: { exported_exported_job: 'mine', exported_job: 'x', job: 'j' },
    },
  ] as Array<{ name: string; exposed: Record<string, string>; target: Record<string, string>; want: Record<string, string> }>)('attachTargetLabels: $name', ({ exposed, target, want }) => {
    expect(attachTargetLabels(labelsFromRecord(exposed), labelsFromRecord(target))).toEqual(labelsFromRecord(want));
  });

  it('formats like Prometheus and reads values', () => {
    const l = labelsFromRecord({ __name__: 'up', job: 'a"b\\c\nd' });
    expect(formatLabels(l)).toBe('up{job="a\\"b\\\\c\\nd"}');
    expect(getLabel(l, 'missing')).toBe('');
  });

  it('hash separates names from values', () => {
    expect(hashLabels(['ab', 'c'])).not.toBe(hashLabels(['a', 'bc']));
  });
});

describe('SeriesRegistry', () => {
  it('interns equal sets to one ref and distinct sets to dense refs', () => {
    const r = new SeriesRegistry();
    const a = r.intern(labelsFromRecord({ __name__: 'up', job: 'a' }));
    const b = r.intern(labelsFromRecord({ __name__: 'up', job: 'b' }));
    expect([a, b]).toEqual([0, 1]);
    expect(r.intern(labelsFromPairs([['job', 'a'], ['__name__', 'up']]))).toBe(a);
    expect(r.lookup(labelsFromRecord({ x: 'y' }))).toBe(-1);
    expect(r.labels(b)).toEqual(['__name__', 'up', 'job', 'b']);
    expect(() => r.labels(99)).toThrow(/bug/);
  });

  it('keeps every distinct set distinct (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 })), { maxLength: 200 }), (records) => {
        const r = new SeriesRegistry();
        const byKey = new Map<string, number>();
        for (const rec of records) {
          const labels = labelsFromRecord(rec);
          const ref = r.intern(labels);
          const key = JSON.stringify(labels);
          if (byKey.has(key)) expect(ref).toBe(byKey.get(key));
          else {
            expect(ref).toBe(byKey.size);
            byKey.set(key, ref);
          }
        }
      }),
    );
  });
});

describe('stale NaN', () => {
  it('has the Prometheus bit pattern and survives typed-array copies', () => {
    expect(float64Bits(STALE_NAN)).toBe('7ff0000000000002');
    expect(isStaleNaN(STALE_NAN)).toBe(true);
    expect(isStaleNaN(NaN)).toBe(false);
    expect(isStaleNaN(1)).toBe(false);
    const b = new BatchBuilder(1);
    b.append(1, 1, STALE_NAN);
    b.append(2, 2, NaN);
    const batch = b.finish({ tenant: 't', ack: AckHandle.none() });
    expect(float64Bits(batch.values[0])).toBe('7ff0000000000002');
    expect(isStaleNaN(batch.values.slice()[0])).toBe(true);
    expect(isStaleNaN(batch.values[1])).toBe(false);
  });
});

describe('BatchBuilder', () => {
  it('grows, finishes right-sized columns and resets', () => {
    const b = new BatchBuilder(2);
    for (let i = 0; i < 5; i++) b.append(i, i * 10, i / 2);
    const batch = b.finish({ tenant: 'x', ack: AckHandle.none(), watermark: 3 });
    expect(batch.length).toBe(5);
    expect([...batch.refs]).toEqual([0, 1, 2, 3, 4]);
    expect([...batch.ts]).toEqual([0, 10, 20, 30, 40]);
    expect(batch.values.length).toBe(5);
    expect(batch.watermark).toBe(3);
    expect(b.length).toBe(0);
  });
});

describe('AckHandle', () => {
  it.each([
    { name: 'single holder done', retain: 0, ops: ['done'], want: { ok: true } },
    { name: 'waits for every holder', retain: 2, ops: ['done', 'done'], want: undefined },
    { name: 'all done', retain: 2, ops: ['done', 'done', 'done'], want: { ok: true } },
    { name: 'one failure fails the whole', retain: 1, ops: ['fail', 'done'], want: { ok: false } },
  ])('$name', ({ retain, ops, want }) => {
    let outcome: AckOutcome | undefined;
    const ack = new AckHandle((o) => (outcome = o));
    if (retain) ack.retain(retain);
    for (const op of ops) {
      if (op === 'done') ack.done();
      else ack.fail(new Error('x'));
    }
    if (want === undefined) expect(outcome).toBeUndefined();
    else expect(outcome?.ok).toBe(want.ok);
  });

  it('a release past zero is a bug', () => {
    const ack = AckHandle.none();
    ack.done();
    expect(() => ack.done()).toThrow(/bug/);
  });
});

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1y', 31_536_000_000],
    ['500ms', 500],
    ['0', 0],
    ['1m1m', undefined],
    ['1s1m', undefined],
    ['abc', undefined],
    ['', undefined],
  ] as const)('%s', (text, want) => {
    expect(parseDuration(text)).toBe(want);
  });

  it('formats back', () => {
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0s');
  });
});
