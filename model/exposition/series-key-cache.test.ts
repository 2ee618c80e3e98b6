import { describe, expect, it } from 'vitest';
import { SeriesRegistry } from '../series-registry.ts';
import { labelsFromRecord } from '../labels.ts';
import { SeriesKeyCache } from './series-key-cache.ts';

const enc = (s: string) => new TextEncoder().encode(s);

/** Resolves each key of `payload` (one per line, a space after it) the way a parser does. */
function resolveAll(cache: SeriesKeyCache, payload: string): Array<{ ref: number; predicted: boolean }> {
  const buf = enc(payload);
  const out: Array<{ ref: number; predicted: boolean }> = [];
  cache.beginPayload();
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    const nl = buf.indexOf(0x0a, pos);
    let ref = cache.matchExpected(buf, pos, buf.length);
    const predicted = ref >= 0;
    if (!predicted) {
      ref = cache.get(buf, pos, space);
      if (ref < 0) ref = cache.add(buf, pos, space, labelsFromRecord({ __name__: new TextDecoder().decode(buf.subarray(pos, space)) }));
    } else expect(cache.matchedEnd).toBe(space);
    out.push({ ref, predicted });
    pos = nl + 1;
  }
  return out;
}

describe('SeriesKeyCache', () => {
  it('predicts the next key from the previous payload and never mistakes a prefix for a key', () => {
    const cache = new SeriesKeyCache(new SeriesRegistry(), labelsFromRecord({ job: 'j' }));
    const first = resolveAll(cache, 'a 1\nb 2\nc 3\n');
    expect(first.map((r) => r.predicted)).toEqual([false, false, false]);
    const second = resolveAll(cache, 'a 1\nb 2\nc 3\n');
    expect(second).toEqual(first.map((r) => ({ ref: r.ref, predicted: true })));
    // `a_total` starts with the predicted `a` but is another series; `b` then follows a new key.
    const third = resolveAll(cache, 'a_total 1\nb 2\nc 3\n');
    expect(third[0].predicted).toBe(false);
    expect(third[0].ref).not.toBe(first[0].ref);
    expect(third.slice(1).map((r) => r.ref)).toEqual([first[1].ref, first[2].ref]);
    // Reordered payloads still resolve to the same refs through the hash table.
    const fourth = resolveAll(cache, 'c 3\na 1\nb 2\n');
    expect(fourth.map((r) => r.ref)).toEqual([first[2].ref, first[0].ref, first[1].ref]);
  });

  it('interns with the target labels attached and resolves equal spellings to one ref', () => {
    const registry = new SeriesRegistry();
    const cache = new SeriesKeyCache(registry, labelsFromRecord({ job: 'j' }));
    const buf = enc('up{a="1"} up{ a="1" }');
    expect(cache.get(buf, 0, 9)).toBe(-1);
    const ref = cache.add(buf, 0, 9, labelsFromRecord({ __name__: 'up', a: '1' }));
    expect(cache.get(buf, 10, 21)).toBe(-1);
    expect(cache.add(buf, 10, 21, labelsFromRecord({ __name__: 'up', a: '1' }))).toBe(ref);
    expect(registry.labels(ref)).toEqual(['__name__', 'up', 'a', '1', 'job', 'j']);
  });
});
