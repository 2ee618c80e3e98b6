import type { LabelMatcher } from '../../model/matchers.ts';
import { lineColumn } from '../promql/parser/errors.ts';
import { parseExpr } from '../promql/parser/index.ts';

/**
 * `match[]` series selectors (`up`, `{job="api"}`, `http_requests_total{code=~"5.."}`), parsed by
 * the PromQL parser. A selector must be a plain vector selector (no range, offset, `@` or
 * operator) and must contain a matcher that does not match the empty string, as Prometheus's
 * parseMatchersParam requires. Errors are thrown as `Error`s in Prometheus's words.
 */
export function parseMatchSelectors(texts: readonly string[]): LabelMatcher[][] {
  const sets: LabelMatcher[][] = [];
  for (const text of texts) {
    const expr = parseExpr(text);
    if (expr.kind !== 'VectorSelector' || expr.offsetMs !== 0 || expr.at !== null) {
      const { line, column } = lineColumn(text, expr.pos.start);
      throw new Error(`${line}:${column}: parse error: expected a series selector (a vector selector without range, offset or @), got ${JSON.stringify(text)}`);
    }
    sets.push([...expr.matchers]);
  }
  for (const set of sets) {
    if (!set.some((m) => !m.matchesEmpty)) throw new Error('match[] must contain at least one non-empty matcher');
  }
  return sets;
}
