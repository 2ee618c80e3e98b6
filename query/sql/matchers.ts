import type { LabelMatcher } from '../../model/matchers.ts';
import type { Params } from './params.ts';

/**
 * Label matchers as a WHERE condition over the series table (`metric` holds `__name__`, `labels`
 * every other label). Values and regexes only ever travel as query parameters. PromQL regexes are
 * fully anchored and `.` matches a newline: `^(?s:re)$` in RE2, which is ClickHouse's `match`.
 */
export function matcherSql(m: LabelMatcher, p: Params): string {
  const col = m.name === '__name__' ? 'metric' : `labels[${p.string(m.name)}]`;
  switch (m.op) {
    case '=':
      return `${col} = ${p.string(m.value)}`;
    case '!=':
      return `${col} != ${p.string(m.value)}`;
    case '=~':
      return `match(${col}, ${p.string(`^(?s:${m.value})$`)})`;
    case '!~':
      return `NOT match(${col}, ${p.string(`^(?s:${m.value})$`)})`;
  }
}

/** Every matcher (and the tenant, when given) ANDed; `1` when there is nothing to match. */
export function matchersWhere(matchers: readonly LabelMatcher[], p: Params, tenant?: string): string {
  const parts = matchers.map((m) => matcherSql(m, p));
  if (tenant !== undefined) parts.push(`tenant = ${p.string(tenant)}`);
  return parts.length === 0 ? '1' : parts.join(' AND ');
}
