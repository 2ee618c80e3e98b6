/**
 * The per-payload error list every exposition parser returns (`ParseResult.errors` and
 * `errorCount`): every malformed line is counted, the first `maxErrorDetails` are kept in detail.
 * Parsers add to it only on their error paths; it builds nothing for a well-formed payload.
 */
import type { ParseError } from './types.ts';

/** Detailed errors kept per payload when `ParseOptions.maxErrorDetails` is not given. */
export const DEFAULT_MAX_ERROR_DETAILS = 100;

/** Counts every error and keeps the first `max` in detail. */
export class ErrorSink {
  readonly errors: ParseError[] = [];
  count = 0;
  private readonly max: number;

  /** `max`: `ParseOptions.maxErrorDetails`, `DEFAULT_MAX_ERROR_DETAILS` when not given. */
  constructor(max?: number) {
    this.max = max ?? DEFAULT_MAX_ERROR_DETAILS;
  }

  add(line: number, column: number, reason: string, message: string): void {
    this.count++;
    if (this.errors.length < this.max) this.errors.push({ line, column, reason, message });
  }
}
