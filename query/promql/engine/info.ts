import { METRIC_NAME, formatLabels, getLabel, labelsFromMap, labelsToMap, type Labels } from '../../../model/labels.ts';
import { newMatcher, type LabelMatcher } from '../../../model/matchers.ts';
import type { Call, Expr, VectorSelector } from '../ast.ts';
import type { Evaluator } from './evaluator.ts';
import { pickInstant, type FetchedSeries } from './selectors.ts';
import { QueryError } from './types.ts';
import { EvalSeries, labelsKey, type EvalMatrix } from './values.ts';

/**
 * The experimental `info(v, [data-label-selector])` function (Prometheus 3.14 semantics).
 *
 * Each series of `v` gains the data labels of the info series that share its identifying labels
 * (`instance`, `job`). Info metrics are `target_info` unless the second argument's `__name__`
 * matchers choose others (see `infoNameMatchers`); its other matchers filter the info series and
 * name the only data labels to add. Labels the series already has win. A series no info series
 * matches stays as it is, unless a data matcher rejects the empty value: then it is dropped.
 *
 * The info series are fetched once per query like any selector (`infoSelector` gives
 * preprocess.ts the selector to plan), over the range Prometheus selects them from: the query's
 * steps widened by the lookback delta and shifted by the offset (or pinned by the `@`) of the
 * first selector in `v`. At each step an info series' sample is picked as an instant selector
 * picks one, without offset; when two info series of one metric match the same series, the
 * newer sample wins and equally new ones are an error.
 */

const DEFAULT_INFO_METRIC = 'target_info';
/** What an info metric's name looks like, for a selector whose only `__name__` matchers are negative. */
const INFO_METRIC_NAME_PATTERN = '.+_info';
const IDENTIFYING_LABELS: readonly string[] = Object.freeze(['instance', 'job']);

const plannedSelectors = new WeakMap<Call, VectorSelector>();

/** The selector of the info series an `info()` call reads (the same object on every call). */
export function infoSelector(call: Call): VectorSelector {
  const cached = plannedSelectors.get(call);
  if (cached !== undefined) return cached;
  const labelSelector = labelSelectorOf(call);
  const given = labelSelector?.matchers ?? [];
  const nameMatchers = infoNameMatchers(labelSelector);
  // The selector's own __name__ matchers are among the effective ones; only the added one is new.
  const matchers: LabelMatcher[] = [
    ...nameMatchers.filter((m) => !given.includes(m)),
    ...given,
  ];
  const first = firstSelector(call.args[0]);
  const selector: VectorSelector = {
    kind: 'VectorSelector',
    name: '',
    matchers,
    offsetMs: first?.offsetMs ?? 0,
    at: first?.at ?? null,
    pos: call.pos,
  };
  plannedSelectors.set(call, selector);
  return selector;
}

/**
 * The `__name__` matchers an info series' name must pass (Prometheus's effective info name
 * matchers): the selector's own, plus `__name__="target_info"` when it has none, or
 * `__name__=~".+_info"` when all of them are negative (`!=`, `!~`), so that a selector such as
 * `{__name__!="target_info"}` picks other info metrics rather than every other series. A series of
 * `v` that passes them all is an info series itself and is passed through unchanged.
 */
export function infoNameMatchers(labelSelector: VectorSelector | null): readonly LabelMatcher[] {
  const own = (labelSelector?.matchers ?? []).filter((m) => m.name === METRIC_NAME);
  if (own.length === 0) return [newMatcher('=', METRIC_NAME, DEFAULT_INFO_METRIC)];
  if (own.some((m) => m.op === '=' || m.op === '=~')) return own;
  return [...own, newMatcher('=~', METRIC_NAME, INFO_METRIC_NAME_PATTERN)];
}

function labelSelectorOf(call: Call): VectorSelector | null {
  if (call.args.length < 2) return null;
  let arg = call.args[1];
  while (arg.kind === 'ParenExpr') arg = arg.expr;
  if (arg.kind !== 'VectorSelector') throw new QueryError('bad_data', 'expected label selectors only as the second argument of info()');
  return arg;
}

/** The first vector selector in `e`, depth first (whose offset and `@` set the info series' range). */
function firstSelector(e: Expr | undefined): VectorSelector | null {
  if (e === undefined) return null;
  switch (e.kind) {
    case 'VectorSelector':
      return e;
    case 'MatrixSelector':
      return e.vector;
    case 'ParenExpr':
    case 'UnaryExpr':
    case 'SubqueryExpr':
      return firstSelector(e.expr);
    case 'AggregateExpr':
      return (e.param === null ? null : firstSelector(e.param)) ?? firstSelector(e.expr);
    case 'BinaryExpr':
      return firstSelector(e.lhs) ?? firstSelector(e.rhs);
    case 'Call':
      for (const a of e.args) {
        const found = firstSelector(a);
        if (found !== null) return found;
      }
      return null;
    case 'NumberLiteral':
    case 'StringLiteral':
      return null;
  }
}

/** One info series' sample picked at a step: the sample's own time tells a newer one from an older one. */
interface PickedInfo {
  readonly labels: Labels;
  readonly t: number;
}

export function evalInfo(ev: Evaluator, call: Call): EvalMatrix {
  const limits = ev.ctx.limits;
  const original = limits.current;
  const base = ev.evalMatrix(call.args[0]);
  const labelSelector = labelSelectorOf(call);
  const nameMatchers = infoNameMatchers(labelSelector);
  const dataMatchers = (labelSelector?.matchers ?? []).filter((m) => m.name !== METRIC_NAME);
  const dataLabelNames = new Set(dataMatchers.map((m) => m.name));
  const dropUnmatched = dataMatchers.some((m) => !m.matchesEmpty);

  // Info series themselves are passed through. A name due to be dropped counts as gone already,
  // as it is in Prometheus without delayed name removal.
  const passThrough = base.map((s) => {
    const name = s.dropName ? '' : getLabel(s.labels, METRIC_NAME);
    return nameMatchers.every((m) => m.matchesValue(name));
  });

  // The identifying label values of the series to enrich; an info series must carry one of them
  // for every identifying label any of those series has.
  const idValues = new Map<string, Set<string>>();
  base.forEach((s, i) => {
    if (passThrough[i]) return;
    for (const name of IDENTIFYING_LABELS) {
      const v = getLabel(s.labels, name);
      if (v === '') continue;
      let set = idValues.get(name);
      if (set === undefined) idValues.set(name, (set = new Set()));
      set.add(v);
    }
  });
  const fetched = ev.ctx.data.get(infoSelector(call));
  if (fetched === undefined) throw new QueryError('internal', 'bug in the PromQL engine: the info series were not fetched before evaluation');
  const required = [...idValues];
  const infos: FetchedSeries[] = required.length === 0
    ? []
    : fetched.filter((s) => required.every(([name, values]) => values.has(getLabel(s.labels, name))));
  const infoSigs = infos.map((s) => signature(getLabel(s.labels, METRIC_NAME), s.labels));
  const infoNames = [...new Set(infos.map((s) => getLabel(s.labels, METRIC_NAME)))];
  const baseSigs = base.map((s) => infoNames.map((name) => signature(name, s.labels)));

  const cursors = new Int32Array(base.length);
  const picked = new Map<string, PickedInfo>();
  const bySeries = new Map<string, { s: EvalSeries; lastT: number }>();
  const order: EvalSeries[] = [];
  let produced = 0;
  for (let ts = ev.start; ts <= ev.end; ts += ev.interval) {
    limits.check();
    picked.clear();
    for (let i = 0; i < infos.length; i++) {
      const s = infos[i];
      const at = pickInstant(s, ts, ev.ctx.lookbackMs);
      if (at < 0) continue;
      const t = s.ts[at];
      const existing = picked.get(infoSigs[i]);
      if (existing === undefined || existing.t < t) picked.set(infoSigs[i], { labels: s.labels, t });
      else if (existing.t === t) {
        throw new QueryError(
          'execution',
          `found duplicate series for info metric: existing ${formatLabels(existing.labels)} @ ${existing.t}, new ${formatLabels(s.labels)} @ ${t}`,
        );
      }
    }
    for (let i = 0; i < base.length; i++) {
      const s = base[i];
      const c = cursors[i];
      if (c >= s.length || s.ts[c] !== ts) continue;
      cursors[i] = c + 1;
      const labels = passThrough[i] ? s.labels : enrich(s.labels, baseSigs[i], picked, dataLabelNames, dropUnmatched);
      if (labels === null) continue;
      produced++;
      const key = labelsKey(labels);
      const entry = bySeries.get(key);
      if (entry === undefined) {
        const out = new EvalSeries(labels, s.dropName, Math.min(ev.numSteps, 16));
        out.push(ts, s.values[c]);
        bySeries.set(key, { s: out, lastT: ts });
        order.push(out);
      } else {
        if (entry.lastT === ts) throw new QueryError('execution', 'vector cannot contain metrics with the same labelset');
        entry.lastT = ts;
        entry.s.push(ts, s.values[c]);
      }
    }
  }
  limits.set(original);
  limits.add(produced);
  return order;
}

/** Which info series a series matches for one info metric: the metric's name and the identifying labels. */
function signature(infoName: string, labels: Labels): string {
  let key = infoName;
  for (const name of IDENTIFYING_LABELS) {
    const v = getLabel(labels, name);
    if (v !== '') key += '\uffff' + name + '\uffff' + v;
  }
  return key;
}

/** `labels` with the data labels of its matching info series, or null when the series is to be dropped. */
function enrich(
  labels: Labels,
  sigs: readonly string[],
  picked: ReadonlyMap<string, PickedInfo>,
  dataLabelNames: ReadonlySet<string>,
  dropUnmatched: boolean,
): Labels | null {
  const added = new Map<string, string>();
  let matched = false;
  for (const sig of sigs) {
    const info = picked.get(sig);
    if (info === undefined) continue;
    matched = true;
    for (let j = 0; j < info.labels.length; j += 2) {
      const name = info.labels[j];
      const value = info.labels[j + 1];
      if (name === METRIC_NAME) continue;
      if (dataLabelNames.size > 0 && !dataLabelNames.has(name)) continue;
      const prev = added.get(name);
      if (prev !== undefined && prev !== value) throw new QueryError('execution', `conflicting label: ${name}`);
      if (getLabel(labels, name) !== '') continue;
      added.set(name, value);
    }
  }
  if (!matched) return dropUnmatched ? null : labels;
  if (added.size === 0) return labels;
  const merged = labelsToMap(labels);
  for (const [name, value] of added) merged.set(name, value);
  return labelsFromMap(merged);
}
