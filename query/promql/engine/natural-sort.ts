/**
 * Natural string order as `sort_by_label` uses it (Prometheus uses the facette/natsort package):
 * both strings are split into runs of digits and of non-digits, compared run by run; two runs
 * that both parse as integers compare numerically. When all runs of `a` equal those of `b` up to
 * the end of `a`, `a` sorts first (so equal-by-number strings like "01" and "1" order by position).
 */
const CHUNK = /(\d+|\D+)/g;

function chunks(s: string): string[] {
  return s.match(CHUNK) ?? [];
}

function asInt(s: string): number | null {
  return /^\d+$/.test(s) && s.length < 16 ? Number(s) : null;
}

/** Whether `a` sorts before `b`. */
export function naturalLess(a: string, b: string): boolean {
  const ca = chunks(a);
  const cb = chunks(b);
  for (let i = 0; i < ca.length; i++) {
    if (i >= cb.length) return false;
    const x = asInt(ca[i]);
    const y = asInt(cb[i]);
    const equal = x !== null && y !== null ? x === y : ca[i] === cb[i];
    if (!equal) return x !== null && y !== null ? x < y : ca[i] < cb[i];
    if (i === ca.length - 1) return true;
    if (i === cb.length - 1) return false;
  }
  return false;
}
