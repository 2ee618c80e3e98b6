import { ReplacementTemplate, compileAnchored, type AnchoredRegex } from '../../model/regex.ts';
import type { Call, Expr } from '../promql/ast.ts';
import { isValidUtf8LabelName } from '../promql/engine/labels-functions.ts';
import { QueryError } from '../promql/engine/types.ts';
import { letIn } from './array-numerics.ts';
import { UnsupportedQueryError } from './errors.ts';
import type { Params } from './params.ts';

/**
 * label_replace / label_join as expressions over a label map column. The regex is matched by
 * ClickHouse's RE2 (`match` / `replaceRegexpOne`) anchored as the engine anchors it, `^(?s:re)$`,
 * and the Go-style replacement template is compiled here (with the engine's own template parser,
 * so `$1x`, `${1}x`, `$$` and named groups mean what they mean in Prometheus) into ClickHouse's
 * `\N` form. Every string reaches SQL as a query parameter.
 */

function stringArg(e: Expr, what: string): string {
  const s = e.kind === 'ParenExpr' ? e.expr : e;
  if (s.kind !== 'StringLiteral') throw new UnsupportedQueryError(`${what} with an argument that is not a string literal`);
  return s.value;
}

/** `labels` with `dst` set to the String expression `value`, or removed when it is empty (as the engine's setLabel). */
function setLabel(labels: string, dst: string, value: string): string {
  return letIn(value, '_nv', `mapSort(if(_nv = '', mapFilter((k, x) -> k != ${dst}, ${labels}), mapUpdate(${labels}, map(${dst}, _nv))))`);
}

/** The replacement template in replaceRegexpOne's syntax: literal text (backslashes doubled) and `\N` group references. */
function clickhouseTemplate(template: ReplacementTemplate): string {
  let out = '';
  for (const part of template.parts) {
    if (typeof part === 'string') out += part.replaceAll('\\', '\\\\');
    else if (part > 9) throw new UnsupportedQueryError('label_replace with a reference to a capture group above 9');
    else if (part >= 0) out += `\\${part}`;
  }
  return out;
}

export interface LabelFunction {
  /** The new label map, an expression over `labels`. */
  readonly map: (labels: string) => string;
  /** Label names the function reads (the engine still sees `__name__` there until the end of the query). */
  readonly reads: readonly string[];
  readonly dst: string;
  /** Whether the function writes `dst` of a row, an expression over `labels` (label_replace: where the regex matches). */
  readonly matches: (labels: string) => string;
}

export function labelReplace(e: Call, p: Params): LabelFunction {
  const dst = stringArg(e.args[1], 'label_replace');
  const repl = stringArg(e.args[2], 'label_replace');
  const src = stringArg(e.args[3], 'label_replace');
  const pattern = stringArg(e.args[4], 'label_replace');
  let regex: AnchoredRegex;
  try {
    regex = compileAnchored(pattern);
  } catch (error) {
    throw new QueryError('execution', `invalid regular expression in label_replace(): ${pattern}`, { cause: error });
  }
  if (!isValidUtf8LabelName(dst)) throw new QueryError('execution', `invalid destination label name in label_replace(): ${dst}`);
  const template = clickhouseTemplate(new ReplacementTemplate(repl, regex));
  const re = p.string(`^(?s:${pattern})$`);
  const d = p.string(dst);
  const value = (labels: string) => `${labels}[${p.string(src)}]`;
  return {
    map: (labels) => {
      const v = value(labels);
      return `if(match(${v}, ${re}), ${setLabel(labels, d, `replaceRegexpOne(${v}, ${re}, ${p.string(template)})`)}, ${labels})`;
    },
    reads: [src],
    dst,
    matches: (labels) => `match(${value(labels)}, ${re})`,
  };
}

export function labelJoin(e: Call, p: Params): LabelFunction {
  const dst = stringArg(e.args[1], 'label_join');
  const sep = stringArg(e.args[2], 'label_join');
  const srcs = e.args.slice(3).map((a) => stringArg(a, 'label_join'));
  for (const src of srcs) {
    if (!isValidUtf8LabelName(src)) throw new QueryError('execution', `invalid source label name in label_join(): ${src}`);
  }
  if (!isValidUtf8LabelName(dst)) throw new QueryError('execution', `invalid destination label name in label_join(): ${dst}`);
  const d = p.string(dst);
  return {
    map: (labels) => {
      const parts = srcs.map((s) => `${labels}[${p.string(s)}]`);
      const joined = parts.length === 0 ? `''` : `arrayStringConcat([${parts.join(', ')}], ${p.string(sep)})`;
      return setLabel(labels, d, joined);
    },
    reads: srcs,
    dst,
    matches: () => '1',
  };
}
