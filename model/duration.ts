/**
 * Prometheus duration strings: a sequence of `<int><unit>` with units y, w, d, h, m, s, ms in
 * that order, each at most once (`1h30m`, `90s`, `500ms`). A year is 365 days.
 */
const UNITS: ReadonlyArray<readonly [string, number]> = [
  ['y', 365 * 24 * 3600 * 1000],
  ['w', 7 * 24 * 3600 * 1000],
  ['d', 24 * 3600 * 1000],
  ['h', 3600 * 1000],
  ['m', 60 * 1000],
  ['s', 1000],
  ['ms', 1],
];

const DURATION = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;

/** Milliseconds in `text`, or undefined when it is not a Prometheus duration. */
export function parseDuration(text: string): number | undefined {
  if (text === '' ) return undefined;
  if (text === '0') return 0;
  const m = DURATION.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (let i = 0; i < UNITS.length; i++) {
    const group = m[i + 1];
    if (group !== undefined) ms += Number(group) * UNITS[i][1];
  }
  return ms;
}

/** The shortest Prometheus spelling of `ms` (`90000` -> `1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of UNITS) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
