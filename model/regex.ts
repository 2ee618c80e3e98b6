import { RE2JS, RE2JSException, RE2JSSyntaxException } from 're2js';

/**
 * User-supplied regular expressions (relabel rules, label matchers, series selectors).
 *
 * Every pattern is compiled with RE2 syntax by `re2js`, which matches in time linear in the input:
 * no backtracking, so no pattern a user writes can stall the pipeline (`(a+)+$` against a long run
 * of `a`s is as cheap as `a+`). Patterns are fully anchored the way Prometheus anchors them,
 * `^(?s:<pattern>)$`: a regex must match the whole value, and `.` also matches a newline.
 *
 * A pattern is first compiled on its own, then anchored. Compiling it alone rejects patterns that
 * would only compile once wrapped (`a)|(b` would become `^(?s:a)|(b)$`, which is no longer
 * anchored); Prometheus accepts those, sluice reports them as errors instead.
 */

/** A pattern that does not compile; `position` is a 0-based offset into `pattern`, or -1. */
export class RegexSyntaxError extends Error {
  override readonly name = 'RegexSyntaxError';

  constructor(
    readonly pattern: string,
    /** What is wrong, in RE2's words ("missing closing )"). */
    readonly reason: string,
    /** The offending part of the pattern as RE2 reported it, when it names one. */
    readonly fragment: string,
    readonly position: number,
    options?: { cause?: unknown },
  ) {
    super(
      `invalid regex ${JSON.stringify(pattern)}: ${reason}` +
        (fragment !== '' && fragment !== pattern ? ` at ${JSON.stringify(fragment)}` : '') +
        (position >= 0 ? ` (offset ${position})` : ''),
      options,
    );
  }
}

/** Compiles `pattern` with RE2 syntax, unanchored. Throws `RegexSyntaxError`. */
export function compileRegex(pattern: string): RE2JS {
  try {
    return RE2JS.compile(pattern);
  } catch (error) {
    throw toSyntaxError(pattern, error);
  }
}

function toSyntaxError(pattern: string, error: unknown): Error {
  if (error instanceof RE2JSSyntaxException) {
    const fragment = error.input ?? '';
    const at = fragment === '' ? -1 : pattern.indexOf(fragment);
    return new RegexSyntaxError(pattern, error.error, fragment, at, { cause: error });
  }
  if (error instanceof RE2JSException) {
    return new RegexSyntaxError(pattern, error.message, '', -1, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Characters that are literal in RE2 syntax outside a class (no metacharacters, no escapes). */
const LITERAL_ALTERNATIVES = /^[A-Za-z0-9_:;,=@#%&~<>'"/ !-]*(?:\|[A-Za-z0-9_:;,=@#%&~<>'"/ !-]*)*$/;

/**
 * A fully anchored regex. `test` is the matcher hot path: patterns that are plain literals or
 * alternations of literals (`a|b|c`), and the ubiquitous `.*` / `.+`, skip the regex engine.
 */
export class AnchoredRegex {
  /** The pattern as the user wrote it. */
  readonly source: string;
  /** The compiled `^(?s:<source>)$`. */
  readonly re: RE2JS;
  /** Number of capture groups; group 0 (the whole match) is not counted. */
  readonly groupCount: number;
  /** Named capture groups, name -> index. */
  readonly groupNames: ReadonlyMap<string, number>;
  /** The set of strings the pattern matches, when it is a finite set of literals; else null. */
  readonly literals: ReadonlySet<string> | null;
  private readonly kind: 0 | 1 | 2 | 3; // 0 engine, 1 literal set, 2 anything, 3 non-empty

  constructor(source: string) {
    compileRegex(source); // rejects patterns that only compile once wrapped
    this.source = source;
    try {
      this.re = RE2JS.compile(`^(?s:${source})$`);
    } catch (error) {
      throw toSyntaxError(source, error);
    }
    this.groupCount = this.re.groupCount();
    this.groupNames = new Map(Object.entries(this.re.namedGroups()));
    if (LITERAL_ALTERNATIVES.test(source)) {
      this.literals = new Set(source.split('|'));
      this.kind = 1;
    } else {
      this.literals = null;
      this.kind = source === '.*' ? 2 : source === '.+' ? 3 : 0;
    }
  }

  /** Whether the whole of `value` matches. */
  test(value: string): boolean {
    switch (this.kind) {
      case 1:
        return this.literals!.has(value);
      case 2:
        return true;
      case 3:
        return value.length > 0;
      default:
        return this.re.testExact(value);
    }
  }

  /**
   * Matches the whole of `value` and returns its groups (index 0 the whole match; null for a group
   * that took no part), or null when it does not match.
   */
  exec(value: string): (string | null)[] | null {
    const m = this.re.matcher(value);
    if (!m.matches()) return null;
    const groups: (string | null)[] = new Array(this.groupCount + 1);
    for (let i = 0; i <= this.groupCount; i++) groups[i] = m.group(i);
    return groups;
  }

  toString(): string {
    return this.source;
  }
}

/** Compiles a fully anchored regex (Prometheus relabel / matcher semantics). Throws `RegexSyntaxError`. */
export function compileAnchored(pattern: string): AnchoredRegex {
  return new AnchoredRegex(pattern);
}

/**
 * A replacement template compiled against one regex, expanded by Go's `regexp.Expand` rules, which
 * Prometheus relabeling uses for `replacement` and `target_label`:
 *
 * - `$$` is a literal `$`;
 * - `$name` and `${name}` name a group, where a name is the longest run of letters, digits and `_`
 *   (so `$1x` names the group "1x", not group 1 followed by "x"; use `${1}x`);
 * - a name made only of digits (without a leading zero) is a group number;
 * - a group that does not exist or took no part in the match expands to the empty string;
 * - a `$` not followed by a valid name (`$`, `${`, `${}`, `$-`) is kept as a literal `$`.
 */
export class ReplacementTemplate {
  /** Alternating literal text and group indexes (-1: no such group, expands to ''). */
  readonly parts: readonly (string | number)[];
  /** Whether the template refers to any group at all. */
  readonly isLiteral: boolean;

  constructor(
    readonly template: string,
    regex: AnchoredRegex,
  ) {
    this.parts = parseTemplate(template, regex);
    this.isLiteral = this.parts.every((p) => typeof p === 'string');
  }

  expand(groups: readonly (string | null)[]): string {
    if (this.isLiteral) return this.parts.length === 0 ? '' : (this.parts[0] as string);
    let out = '';
    for (const part of this.parts) {
      if (typeof part === 'string') out += part;
      else if (part >= 0) out += groups[part] ?? '';
    }
    return out;
  }
}

const NAME_CHAR = /[\p{L}\p{Nd}_]/u;

function parseTemplate(template: string, regex: AnchoredRegex): (string | number)[] {
  const parts: (string | number)[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const dollar = template.indexOf('$', i);
    if (dollar < 0) {
      text += template.slice(i);
      break;
    }
    text += template.slice(i, dollar);
    i = dollar + 1;
    if (template[i] === '$') {
      text += '$';
      i++;
      continue;
    }
    const brace = template[i] === '{';
    let j = brace ? i + 1 : i;
    const nameStart = j;
    while (j < template.length) {
      const cp = template.codePointAt(j)!;
      const ch = String.fromCodePoint(cp);
      if (!NAME_CHAR.test(ch)) break;
      j += ch.length;
    }
    const name = template.slice(nameStart, j);
    if (name === '' || (brace && template[j] !== '}')) {
      text += '$'; // malformed reference: the `$` is literal text
      continue;
    }
    i = brace ? j + 1 : j;
    if (text !== '') parts.push(text);
    text = '';
    parts.push(groupIndex(name, regex));
  }
  if (text !== '') parts.push(text);
  return parts;
}

function groupIndex(name: string, regex: AnchoredRegex): number {
  if (/^[0-9]+$/.test(name) && (name.length === 1 || name[0] !== '0') && name.length <= 8) {
    const n = Number(name);
    return n <= regex.groupCount ? n : -1;
  }
  return regex.groupNames.get(name) ?? -1;
}
