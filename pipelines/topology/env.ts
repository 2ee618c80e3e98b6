/**
 * Environment interpolation in topology values.
 *
 *   ${NAME}            the variable's value; an error when it is unset
 *   ${NAME:-default}   the default when NAME is unset or empty (as in shell)
 *   ${NAME-default}    the default only when NAME is unset
 *   $$                 a literal `$`
 *
 * Any other `$` is literal, so regexes such as `^up$` need no escaping. Defaults may themselves
 * hold references (`${A:-${B:-x}}`). Interpolation runs on the parsed document's scalar values,
 * never on the raw text, so line and column positions stay exact and keys are left alone.
 */
import { isScalar } from 'yaml';
import type { Document, Scalar } from 'yaml';
import { walkDocument } from './positions.ts';
import type { DocPath, LocatedIssue } from './positions.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export type InterpolationResult =
  | { readonly ok: true; readonly value: string; /** true when the text held `${...}` or `$$` */ readonly changed: boolean }
  | { readonly ok: false; readonly errors: readonly string[] };

type Segment = string | Reference;

interface Reference {
  readonly name: string;
  /** `:-` falls back on unset or empty, `-` on unset only; undefined means no default. */
  readonly op: ':-' | '-' | undefined;
  readonly fallback: readonly Segment[];
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** Parses the reference syntax; collects every malformed reference, not just the first. */
class Parser {
  readonly errors: string[] = [];
  changed = false;
  private pos = 0;

  constructor(private readonly text: string) {}

  parseAll(): Segment[] {
    return this.segments(false);
  }

  /** Reads text up to the end, or up to an unmatched `}` when inside a default. */
  private segments(inDefault: boolean): Segment[] {
    const out: Segment[] = [];
    let literal = '';
    const { text } = this;
    while (this.pos < text.length) {
      const c = text[this.pos];
      if (inDefault && c === '}') break;
      if (c !== '$') {
        literal += c;
        this.pos++;
        continue;
      }
      const next = text[this.pos + 1];
      if (next === '$') {
        literal += '$';
        this.pos += 2;
        this.changed = true;
        continue;
      }
      if (next !== '{') {
        literal += '$';
        this.pos++;
        continue;
      }
      const ref = this.reference();
      if (ref !== undefined) {
        if (literal !== '') out.push(literal);
        literal = '';
        out.push(ref);
      }
    }
    if (literal !== '') out.push(literal);
    return out;
  }

  /** At `${`: parses one reference, or records why it is malformed and skips past it. */
  private reference(): Reference | undefined {
    const start = this.pos;
    const { text } = this;
    this.changed = true;
    NAME.lastIndex = start + 2;
    const match = NAME.exec(text);
    if (match === null) {
      return this.malformed(start, 'expected a variable name (a letter or "_", then letters, digits or "_") after "${"');
    }
    const name = match[0];
    this.pos = start + 2 + name.length;
    if (this.pos >= text.length) return this.malformed(start, 'missing the closing "}"');
    if (text[this.pos] === '}') {
      this.pos++;
      return { name, op: undefined, fallback: [] };
    }
    let op: ':-' | '-';
    if (text.startsWith(':-', this.pos)) op = ':-';
    else if (text[this.pos] === '-') op = '-';
    else return this.malformed(start, `expected "}", ":-default}" or "-default}" after "\${${name}"`);
    this.pos += op.length;
    const fallback = this.segments(true);
    if (text[this.pos] !== '}') return this.malformed(start, 'missing the closing "}"');
    this.pos++;
    return { name, op, fallback };
  }

  private malformed(start: number, why: string): undefined {
    const close = this.text.indexOf('}', start);
    const end = close === -1 ? this.text.length : close + 1;
    this.errors.push(
      `malformed variable reference "${this.text.slice(start, end)}": ${why} ` +
        '(write "$$" for a literal "$", e.g. "$${1}" in a regex replacement)',
    );
    this.pos = end;
    return undefined;
  }
}

function evaluate(segments: readonly Segment[], env: Env, errors: string[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'string') {
      out += seg;
      continue;
    }
    const value = env[seg.name];
    const useDefault = seg.op === ':-' ? value === undefined || value === '' : seg.op === '-' ? value === undefined : false;
    if (useDefault) {
      out += evaluate(seg.fallback, env, errors);
    } else if (value === undefined) {
      errors.push(
        `environment variable ${seg.name} is not set and has no default ` +
          `(set it, or write \${${seg.name}:-default})`,
      );
    } else {
      out += value;
    }
  }
  return out;
}

/** Interpolates one string. */
export function interpolate(text: string, env: Env): InterpolationResult {
  const parser = new Parser(text);
  const segments = parser.parseAll();
  if (parser.errors.length > 0) return { ok: false, errors: parser.errors };
  if (!parser.changed) return { ok: true, value: text, changed: false };
  const errors: string[] = [];
  const value = evaluate(segments, env, errors);
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, value, changed: true };
}

/**
 * Resolves a plain scalar's text the way the YAML 1.2 core schema would: null, booleans,
 * integers (decimal, 0o octal, 0x hex) and floats (.inf, .nan). Anything else stays a string; an
 * empty result stays the empty string (an unset `${X-}` means "", not null).
 */
export function resolveCoreScalar(text: string): string | number | boolean | null {
  if (/^(?:~|null|Null|NULL)$/.test(text)) return null;
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^0o[0-7]+$/.test(text)) return parseInt(text.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(text)) return parseInt(text.slice(2), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(text)) return NaN;
  return text;
}

/**
 * Interpolates every scalar value of the document in place. A plain (unquoted, untagged) scalar
 * whose text changed is re-resolved with core-schema rules, so `port: ${PORT:-4222}` is the number
 * 4222; quoted and block scalars stay strings. Returns one issue per scalar that failed.
 */
export function interpolateDocument(doc: Document, env: Env): LocatedIssue[] {
  const issues: LocatedIssue[] = [];
  walkDocument(doc, (node, path: DocPath, role) => {
    if (role !== 'value' || !isScalar(node) || typeof node.value !== 'string') return;
    if (!node.value.includes('$')) return;
    const result = interpolate(node.value, env);
    if (!result.ok) {
      for (const message of result.errors) {
        issues.push({ path, target: 'value', message, offset: node.range?.[0] });
      }
      return;
    }
    if (!result.changed) return;
    const scalar = node as Scalar<unknown>;
    scalar.value = scalar.type === 'PLAIN' && scalar.tag === undefined ? resolveCoreScalar(result.value) : result.value;
  });
  return issues;
}
