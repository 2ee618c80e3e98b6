/**
 * Label sets.
 *
 * A label set is a flat, frozen array of alternating names and values, sorted by name in
 * byte (code unit) order, names unique: `['__name__', 'up', 'instance', 'a:1', 'job', 'node']`.
 * The flat layout keeps one allocation per set and makes comparison a tight loop; the
 * `SeriesRegistry` interns each distinct set once so the hot path only ever sees numeric refs.
 */
export type Labels = readonly string[];

export const METRIC_NAME = '__name__';

/** Builds a sorted label set from pairs; a later duplicate name wins; empty values are dropped. */
export function labelsFromPairs(pairs: Iterable<readonly [string, string]>): Labels {
  const map = new Map<string, string>();
  for (const [name, value] of pairs) map.set(name, value);
  return labelsFromMap(map);
}

export function labelsFromRecord(record: Readonly<Record<string, string>>): Labels {
  return labelsFromPairs(Object.entries(record));
}

/** Builds a sorted label set from a map; empty values mean "no label", as in Prometheus. */
export function labelsFromMap(map: ReadonlyMap<string, string>): Labels {
  const names = [...map.keys()].filter((n) => map.get(n) !== '').sort(compareStrings);
  const out: string[] = new Array(names.length * 2);
  for (let i = 0; i < names.length; i++) {
    out[2 * i] = names[i];
    out[2 * i + 1] = map.get(names[i])!;
  }
  return Object.freeze(out);
}

export function labelsToMap(labels: Labels): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i < labels.length; i += 2) map.set(labels[i], labels[i + 1]);
  return map;
}

export function labelsToRecord(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < labels.length; i += 2) out[labels[i]] = labels[i + 1];
  return out;
}

/** The value of `name`, or '' when absent (Prometheus treats both alike). */
export function getLabel(labels: Labels, name: string): string {
  for (let i = 0; i < labels.length; i += 2) if (labels[i] === name) return labels[i + 1];
  return '';
}

export function metricName(labels: Labels): string {
  return getLabel(labels, METRIC_NAME);
}

export function labelsEqual(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-order comparison of two strings by UTF-16 code units, as Go compares label names. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function compareLabels(a: Labels, b: Labels): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * Attaches target labels (`job`, `instance`, a tenant's static labels) to exposed labels the way
 * a Prometheus scrape does with `honor_labels: false`: on a clash the exposed label is kept as
 * `exported_<name>` and the target's value wins.
 */
export function attachTargetLabels(exposed: Labels, target: Labels): Labels {
  if (target.length === 0) return exposed;
  const map = labelsToMap(exposed);
  for (let i = 0; i < target.length; i += 2) {
    const name = target[i];
    const clash = map.get(name);
    if (clash !== undefined && clash !== '') {
      let renamed = `exported_${name}`;
      while (map.has(renamed)) renamed = `exported_${renamed}`;
      map.set(renamed, clash);
    }
    map.set(name, target[i + 1]);
  }
  return labelsFromMap(map);
}

/** `{__name__="up", job="node"}` rendered the way Prometheus prints series: `up{job="node"}`. */
export function formatLabels(labels: Labels): string {
  const name = metricName(labels);
  const parts: string[] = [];
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] === METRIC_NAME) continue;
    parts.push(`${labels[i]}="${escapeLabelValue(labels[i + 1])}"`);
  }
  if (parts.length === 0) return name === '' ? '{}' : name;
  return `${name}{${parts.join(', ')}}`;
}

export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export function isValidLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

export function isValidMetricName(name: string): boolean {
  return METRIC_NAME_RE.test(name);
}

/**
 * A 32-bit hash of a label set (FNV-1a over UTF-16 code units with a separator that cannot
 * appear in a label: 0xffff is a Unicode noncharacter). Used by the registry's hash table and
 * for sharding; collisions are resolved by comparing the sets.
 */
export function hashLabels(labels: Labels): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < labels.length; i++) {
    const s = labels[i];
    for (let j = 0; j < s.length; j++) {
      h ^= s.charCodeAt(j);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0xffff;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
