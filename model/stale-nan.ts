/**
 * The two NaN bit patterns Prometheus gives a meaning to, and which every stage must carry
 * bit-exactly:
 * - `STALE_NAN` (0x7ff0000000000002), the staleness marker: the series went away;
 * - `NORMAL_NAN` (0x7ff8000000000001), the "normal" NaN a sample may legitimately carry.
 *   Prometheus stores it for every NaN sample value (`value.NormalNaN`; Go's `strconv` returns it
 *   for "NaN"), so every exposition parser stores it for a NaN value too, whatever the format,
 *   rather than JavaScript's own NaN (0x7ff8000000000000).
 * Code that copies values uses typed arrays (`set`, `slice`, element assignment), which V8
 * copies without canonicalising the payload; tests pin that down.
 */
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

scratchWords[0] = STALE_LO; // little-endian: low word first
scratchWords[1] = STALE_HI;
export const STALE_NAN: number = scratch[0];

scratchWords[0] = 0x00000001;
scratchWords[1] = 0x7ff80000;
/** Prometheus's canonical NaN (`value.NormalNaN`): what a parser stores for every NaN sample value. */
export const NORMAL_NAN: number = scratch[0];

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
