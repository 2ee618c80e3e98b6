/**
 * Prometheus's staleness marker: a NaN with the bit pattern 0x7ff0000000000002, distinct from
 * the "normal" NaN (0x7ff8000000000001) a sample may legitimately carry. It must survive every
 * stage bit-exactly, so code that copies values uses typed arrays (`set`, `slice`, element
 * assignment), which V8 copies without canonicalising the payload; tests pin that down.
 */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

scratchWords[0] = STALE_LO; // little-endian: low word first
scratchWords[1] = STALE_HI;
export const STALE_NAN: number = scratch[0];

export function isStaleNaN(value: number): boolean {
  if (value === value) return false; // fast path: not NaN at all
  scratch[0] = value;
  return scratchWords[1] === STALE_HI && scratchWords[0] === STALE_LO;
}

/** The raw bits of a float64 as a 16-digit hex string, for messages and tests. */
export function float64Bits(value: number): string {
  scratch[0] = value;
  return scratchWords[1].toString(16).padStart(8, '0') + scratchWords[0].toString(16).padStart(8, '0');
}
