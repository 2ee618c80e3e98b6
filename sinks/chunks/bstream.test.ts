import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BitReader, BitWriter } from './bstream.ts';

describe('BitWriter / BitReader', () => {
  it.each([
    { name: 'one bit', writes: [[1, 1]], bytes: [0x80] },
    { name: 'bits fill a byte most significant first', writes: [[1, 1], [0, 1], [0b101, 3], [0b011, 3]], bytes: [0b10101011] },
    { name: 'a 32-bit word', writes: [[0xdeadbeef, 32]], bytes: [0xde, 0xad, 0xbe, 0xef] },
    { name: 'unaligned 32 bits', writes: [[1, 1], [0xffffffff, 32]], bytes: [0xff, 0xff, 0xff, 0xff, 0x80] },
    { name: 'only the low n bits are written', writes: [[0xff, 4]], bytes: [0xf0] },
    { name: 'zero bits write nothing', writes: [[5, 0], [1, 1]], bytes: [0x80] },
  ])('$name', ({ writes, bytes }) => {
    const w = new BitWriter(1);
    for (const [v, n] of writes) w.writeBits(v, n);
    expect([...w.bytes()]).toEqual(bytes);
  });

  it.each([
    { x: 0, bytes: [0] },
    { x: 127, bytes: [0x7f] },
    { x: 128, bytes: [0x80, 0x01] },
    { x: 300, bytes: [0xac, 0x02] },
    { x: 2 ** 53, bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10] },
  ])('uvarint $x', ({ x, bytes }) => {
    const w = new BitWriter();
    w.writeUvarint(x);
    expect([...w.bytes()]).toEqual(bytes);
    expect(new BitReader(w.bytes()).readUvarint()).toBe(x);
  });

  it('reserved header bytes stay zero and count in the length', () => {
    const w = new BitWriter(2, 2);
    w.writeBits(0xabc, 12);
    expect(w.byteLength).toBe(4);
    expect(w.bitLength).toBe(28);
    expect([...w.bytes()]).toEqual([0, 0, 0xab, 0xc0]);
  });

  it('bytes() is a snapshot: writing continues after it', () => {
    const w = new BitWriter(1);
    w.writeBits(0b101, 3);
    const snap = w.bytes();
    w.writeBits(0b11111, 5);
    expect([...snap]).toEqual([0b10100000]);
    expect([...w.bytes()]).toEqual([0b10111111]);
  });

  it('reader: reading past the end gives zeros and reports an overrun', () => {
    const r = new BitReader(new Uint8Array([0xff]));
    expect(r.readBits(4)).toBe(0xf);
    expect(r.overrun).toBe(false);
    expect(r.readBits(8)).toBe(0xf0);
    expect(r.overrun).toBe(true);
  });

  it('reader honours a start/end window', () => {
    const r = new BitReader(new Uint8Array([0x11, 0xab, 0xcd, 0x22]), 1, 3);
    expect(r.readBits(16)).toBe(0xabcd);
    expect(r.overrun).toBe(false);
    expect(r.alignedOffset()).toBe(3);
    r.readBit();
    expect(r.overrun).toBe(true);
  });

  it('property: any sequence of (value, width) writes reads back, varints included', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('bits' as const), n: fc.integer({ min: 0, max: 32 }), v: fc.integer({ min: 0, max: 0xffffffff }) }),
      fc.record({ kind: fc.constant('uvarint' as const), n: fc.constant(0), v: fc.maxSafeNat() }),
      fc.record({ kind: fc.constant('varint' as const), n: fc.constant(0), v: fc.integer({ min: -(2 ** 52), max: 2 ** 52 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const w = new BitWriter(1);
        for (const o of ops) {
          if (o.kind === 'bits') w.writeBits(o.v, o.n);
          else if (o.kind === 'uvarint') w.writeUvarint(o.v);
          else w.writeVarint(o.v);
        }
        const bytes = w.bytes();
        expect(bytes.length).toBe(w.byteLength);
        const r = new BitReader(bytes);
        for (const o of ops) {
          if (o.kind === 'bits') {
            const want = o.n === 0 ? 0 : o.n === 32 ? o.v : o.v & ((1 << o.n) - 1);
            expect(o.n === 0 ? 0 : r.readBits(o.n)).toBe(want >>> 0);
          } else if (o.kind === 'uvarint') expect(r.readUvarint()).toBe(o.v);
          else expect(r.readVarint()).toBe(o.v);
        }
        expect(r.bitPosition).toBe(w.bitLength);
        expect(r.overrun).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
