import type { PosRange } from '../ast.ts';

/**
 * What kind of problem a parse error reports:
 * - `syntax`: the text is not PromQL;
 * - `type`: well-formed, but the types or modifiers do not fit (Prometheus's checkAST);
 * - `experimental`: Prometheus accepts it only behind a feature flag, and the caller did not allow
 *   experimental syntax;
 * - `unsupported`: valid (experimental) Prometheus syntax sluice does not implement; a conformance
 *   runner counts these as skipped.
 */
export type ParseErrorCode = 'syntax' | 'type' | 'experimental' | 'unsupported';

/**
 * A user-facing PromQL error. `message` reads like Prometheus's (`1:14: parse error: unexpected
 * <by> in aggregation`); `reason` is the same without the position prefix.
 */
export class PromQLParseError extends Error {
  override readonly name = 'PromQLParseError';
  /** 1-based line of `pos.start`. */
  readonly line: number;
  /** 1-based column (UTF-16 units) of `pos.start`. */
  readonly column: number;
  /** Whether Prometheus puts the construct behind a feature flag. */
  readonly experimental: boolean;

  constructor(
    readonly query: string,
    readonly pos: PosRange,
    readonly reason: string,
    readonly code: ParseErrorCode = 'syntax',
    /** A suggestion for the user, or '' when there is none. */
    readonly hint = '',
    options?: { cause?: unknown; experimental?: boolean },
  ) {
    const { line, column } = lineColumn(query, pos.start);
    super(`${line}:${column}: parse error: ${reason}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.line = line;
    this.column = column;
    this.experimental = options?.experimental ?? (code === 'experimental' || code === 'unsupported');
  }
}

/** The 1-based line and column of `offset` in `text`. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
