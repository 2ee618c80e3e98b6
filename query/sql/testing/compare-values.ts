import type { QueryValue } from '../../promql/engine/types.ts';
import { almostEqual } from '../../promql/test/runner.ts';

/**
 * Query values in a form two backends' answers can be compared in: a vector's samples sorted by
 * labels (an instant vector's order is not part of its answer, except after sort*), a matrix's
 * series as [labels, times, values].
 */
export function comparable(v: QueryValue): unknown {
  if (v.type === 'vector') return [...v.samples].map((s) => [s.labels.join(','), s.v]).sort();
  if (v.type === 'matrix') return v.series.map((s) => [s.labels.join(','), Array.from(s.ts), Array.from(s.values)]);
  return v;
}

/** Deep equality of comparable values, numbers equal as the promqltest runner's almostEqual. */
export function closeValues(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return almostEqual(a, b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => closeValues(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => closeValues((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return a === b;
}
