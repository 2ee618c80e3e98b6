import { METRIC_NAME, type Labels } from '../../../model/labels.ts';

/**
 * The evaluator's intermediate values. Every expression evaluates to an `EvalMatrix` over the
 * evaluator's steps (a series holds one point per step at which it has a value, stamped with the
 * step time), or, for a string literal, to an `EvalString`. Points live in growable typed
 * arrays; a step's slice of a matrix is a `StepVector` held as parallel arrays (no per-sample
 * objects).
 */

export class EvalSeries {
  ts: Float64Array;
  values: Float64Array;
  length = 0;

  constructor(
    public labels: Labels,
    /** Delayed name removal: the series' `__name__` goes when the query's result is final. */
    public dropName: boolean,
    capacity = 4,
  ) {
    this.ts = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
  }

  static of(labels: Labels, dropName: boolean, ts: Float64Array, values: Float64Array, length: number): EvalSeries {
    const s = new EvalSeries(labels, dropName, 0);
    s.ts = ts;
    s.values = values;
    s.length = length;
    return s;
  }

  push(t: number, v: number): void {
    if (this.length === this.ts.length) {
      const cap = Math.max(8, this.ts.length * 2);
      const ts = new Float64Array(cap);
      const values = new Float64Array(cap);
      ts.set(this.ts.subarray(0, this.length));
      values.set(this.values.subarray(0, this.length));
      this.ts = ts;
      this.values = values;
    }
    this.ts[this.length] = t;
    this.values[this.length] = v;
    this.length++;
  }
}

export type EvalMatrix = EvalSeries[];

export interface EvalString {
  readonly kind: 'string';
  readonly t: number;
  readonly v: string;
}

export type EvalValue = EvalMatrix | EvalString;

export function isString(v: EvalValue): v is EvalString {
  return !Array.isArray(v);
}

/** One step's instant vector, as parallel arrays. `sig` holds join-signature ordinals when matching. */
export class StepVector {
  labels: Labels[] = [];
  values: number[] = [];
  dropName: boolean[] = [];
  sig: number[] = [];

  get length(): number {
    return this.labels.length;
  }

  push(labels: Labels, value: number, dropName: boolean, sig = -1): void {
    this.labels.push(labels);
    this.values.push(value);
    this.dropName.push(dropName);
    this.sig.push(sig);
  }

  clear(): void {
    this.labels.length = 0;
    this.values.length = 0;
    this.dropName.length = 0;
    this.sig.length = 0;
  }
}

/** A map key for a label set (label names and values cannot contain U+FFFF). */
export function labelsKey(labels: Labels): string {
  return labels.join('\uffff');
}

/**
 * Labels that describe the metric rather than the series (the name, and the type and unit of
 * Prometheus's type-and-unit labels). A result that is no longer the named metric loses all three.
 * (Vector matching without `on` ignores only the name: Prometheus 3.14 still compares the others.)
 */
export const METADATA_LABELS: readonly string[] = Object.freeze([METRIC_NAME, '__type__', '__unit__']);

/** `labels` without the metadata labels (delayed name removal drops all three together). */
export function withoutMetadata(labels: Labels): Labels {
  for (let i = 0; i < labels.length; i += 2) {
    if (METADATA_LABELS.includes(labels[i])) return dropLabels(labels, METADATA_LABELS);
  }
  return labels;
}

/** The labels whose names are in `names` (sorted or not). */
export function keepLabels(labels: Labels, names: readonly string[]): Labels {
  const out: string[] = [];
  for (let i = 0; i < labels.length; i += 2) if (names.includes(labels[i])) out.push(labels[i], labels[i + 1]);
  return Object.freeze(out);
}

/** The labels whose names are not in `names`. */
export function dropLabels(labels: Labels, names: readonly string[]): Labels {
  const out: string[] = [];
  for (let i = 0; i < labels.length; i += 2) if (!names.includes(labels[i])) out.push(labels[i], labels[i + 1]);
  return Object.freeze(out);
}

/** Sets (or, with an empty value, removes) one label, keeping the set sorted. */
export function setLabel(labels: Labels, name: string, value: string): Labels {
  const out: string[] = [];
  let done = false;
  for (let i = 0; i < labels.length; i += 2) {
    const n = labels[i];
    if (!done && n >= name) {
      done = true;
      if (value !== '') out.push(name, value);
      if (n === name) continue;
    }
    out.push(n, labels[i + 1]);
  }
  if (!done && value !== '') out.push(name, value);
  return Object.freeze(out);
}

/** Signature of `labels` over the given names (`on`) or over all other names (`ignoring`). */
export function signature(labels: Labels, names: readonly string[], on: boolean): string {
  let key = '';
  for (let i = 0; i < labels.length; i += 2) {
    if (names.includes(labels[i]) === on) key += labels[i] + '\uffff' + labels[i + 1] + '\uffff';
  }
  return key;
}
