import { getLabel, type Labels } from './labels.ts';
import { compileAnchored, type AnchoredRegex } from './regex.ts';

/**
 * Label matchers as PromQL and series selectors use them: `=`, `!=`, `=~`, `!~`.
 *
 * A label that is absent has the empty value, so `{foo=""}` matches series without `foo` and
 * `{foo!=""}` those that have it. Regexes are fully anchored (`^(?s:re)$`) and run on RE2 (see
 * regex.ts); a literal or literal alternation (`=~"a|b|c"`) is answered by a set lookup.
 */
export type MatchOp = '=' | '!=' | '=~' | '!~';

export const MATCH_OPS: readonly MatchOp[] = ['=', '!=', '=~', '!~'];

export class LabelMatcher {
  /** The compiled regex of `=~` / `!~`; null for the equality operators. */
  readonly regex: AnchoredRegex | null;

  /** Throws `RegexSyntaxError` when a regex operator's value does not compile. */
  constructor(
    readonly op: MatchOp,
    readonly name: string,
    readonly value: string,
  ) {
    this.regex = op === '=~' || op === '!~' ? compileAnchored(value) : null;
  }

  /** Whether a label value (the empty string for an absent label) satisfies the matcher. */
  matchesValue(value: string): boolean {
    switch (this.op) {
      case '=':
        return value === this.value;
      case '!=':
        return value !== this.value;
      case '=~':
        return this.regex!.test(value);
      case '!~':
        return !this.regex!.test(value);
    }
  }

  matches(labels: Labels): boolean {
    return this.matchesValue(getLabel(labels, this.name));
  }

  /** Whether the matcher accepts a series that lacks the label. */
  get matchesEmpty(): boolean {
    return this.matchesValue('');
  }

  toString(): string {
    return `${this.name}${this.op}${JSON.stringify(this.value)}`;
  }
}

export function newMatcher(op: MatchOp, name: string, value: string): LabelMatcher {
  return new LabelMatcher(op, name, value);
}

/** Whether every matcher accepts `labels` (an empty list accepts every series). */
export function matchesAll(matchers: readonly LabelMatcher[], labels: Labels): boolean {
  for (let i = 0; i < matchers.length; i++) if (!matchers[i].matches(labels)) return false;
  return true;
}

/** Like `matchesAll`, over labels read through `get` (the empty string for an absent label). */
export function matchesAllWith(matchers: readonly LabelMatcher[], get: (name: string) => string): boolean {
  for (let i = 0; i < matchers.length; i++) {
    const m = matchers[i];
    if (!m.matchesValue(get(m.name))) return false;
  }
  return true;
}
