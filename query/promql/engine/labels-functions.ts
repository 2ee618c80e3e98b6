import { METRIC_NAME, getLabel } from '../../../model/labels.ts';
import { ReplacementTemplate, compileAnchored, type AnchoredRegex } from '../../../model/regex.ts';
import type { Call, Expr } from '../ast.ts';
import type { Evaluator } from './evaluator.ts';
import { unwrapParens } from './preprocess.ts';
import { QueryError } from './types.ts';
import { EvalSeries, labelsKey, setLabel, type EvalMatrix } from './values.ts';

/**
 * `label_replace` and `label_join`: they rewrite series labels and never look at values, so they
 * work on whole series rather than step by step. A rewrite that makes two series identical is
 * fine as long as their points do not share a step.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Prometheus 3 label names: any non-empty valid UTF-8 (so no lone surrogates, no replacement character). */
export function isValidUtf8LabelName(name: string): boolean {
  return name.length > 0 && !LONE_SURROGATE.test(name) && !name.includes('\ufffd');
}

function stringArg(e: Expr): string {
  const s = unwrapParens(e);
  if (s.kind !== 'StringLiteral') throw new QueryError('execution', 'expected a string argument');
  return s.value;
}

export function evalLabelReplace(ev: Evaluator, e: Call): EvalMatrix {
  const dst = stringArg(e.args[1]);
  const repl = stringArg(e.args[2]);
  const src = stringArg(e.args[3]);
  const pattern = stringArg(e.args[4]);
  let regex: AnchoredRegex;
  try {
    regex = compileAnchored(pattern);
  } catch (error) {
    throw new QueryError('execution', `invalid regular expression in label_replace(): ${pattern}`, { cause: error });
  }
  if (!isValidUtf8LabelName(dst)) throw new QueryError('execution', `invalid destination label name in label_replace(): ${dst}`);
  const template = new ReplacementTemplate(repl, regex);
  const m = ev.evalMatrix(e.args[0]);
  for (const s of m) {
    const groups = regex.exec(getLabel(s.labels, src));
    if (groups === null) continue;
    s.labels = setLabel(s.labels, dst, template.expand(groups));
    if (dst === METRIC_NAME) s.dropName = false;
  }
  return mergeSameLabels(m);
}

export function evalLabelJoin(ev: Evaluator, e: Call): EvalMatrix {
  const dst = stringArg(e.args[1]);
  const sep = stringArg(e.args[2]);
  const srcs = e.args.slice(3).map(stringArg);
  for (const src of srcs) {
    if (!isValidUtf8LabelName(src)) throw new QueryError('execution', `invalid source label name in label_join(): ${src}`);
  }
  if (!isValidUtf8LabelName(dst)) throw new QueryError('execution', `invalid destination label name in label_join(): ${dst}`);
  const m = ev.evalMatrix(e.args[0]);
  for (const s of m) {
    s.labels = setLabel(s.labels, dst, srcs.map((n) => getLabel(s.labels, n)).join(sep));
    if (dst === METRIC_NAME) s.dropName = false;
  }
  return mergeSameLabels(m);
}

/**
 * Merges series that have come to share a label set (after a relabel, or once their names are
 * dropped); two points at the same step are an error.
 */
export function mergeSameLabels(m: EvalMatrix): EvalMatrix {
  if (m.length <= 1) return m;
  const byKey = new Map<string, EvalSeries[]>();
  let dup = false;
  for (const s of m) {
    const key = labelsKey(s.labels);
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [s]);
    else {
      list.push(s);
      dup = true;
    }
  }
  if (!dup) return m;
  const out: EvalMatrix = [];
  for (const list of byKey.values()) {
    if (list.length === 1) {
      out.push(list[0]);
      continue;
    }
    const points: [number, number][] = [];
    for (const s of list) for (let i = 0; i < s.length; i++) points.push([s.ts[i], s.values[i]]);
    points.sort((a, b) => a[0] - b[0]);
    const merged = new EvalSeries(list[0].labels, list[0].dropName, points.length);
    for (let i = 0; i < points.length; i++) {
      if (i > 0 && points[i][0] === points[i - 1][0]) throw new QueryError('execution', 'vector cannot contain metrics with the same labelset');
      merged.push(points[i][0], points[i][1]);
    }
    out.push(merged);
  }
  return out;
}
