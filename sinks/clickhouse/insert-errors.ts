import { ClickHouseError } from '@clickhouse/client';
import { ClickHouseWriteError } from './writer.ts';

/**
 * Why an insert failed, and whether trying the same block again can succeed. The sink retries
 * (and spills) what can; what cannot (the statement or the data is wrong) fails the batch, or,
 * for a spilled block, is set aside, so one bad block never wedges the queue behind it.
 */
export type InsertFailureReason = 'connection' | 'timeout' | 'server' | 'unknown_table' | 'rejected' | 'bug' | 'other';

export interface InsertFailure {
  readonly reason: InsertFailureReason;
  readonly retryable: boolean;
}

/** An insert ClickHouse did not answer within the sink's `timeout` (it may still have been written). */
export class InsertTimeoutError extends Error {
  constructor(ms: number) {
    super(`ClickHouse did not answer the insert within ${ms} ms`);
    this.name = 'InsertTimeoutError';
  }
}

/** Server errors that say the statement or its data is wrong: the same block fails again. */
const REJECTED_TYPES =
  /^(CANNOT_PARSE_\w+|SYNTAX_ERROR|TYPE_MISMATCH|ILLEGAL_\w+|UNKNOWN_IDENTIFIER|UNKNOWN_SETTING|UNKNOWN_FORMAT|NO_SUCH_COLUMN_IN_TABLE|INCORRECT_DATA|CANNOT_READ_ALL_DATA|ATTEMPT_TO_READ_AFTER_EOF|VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE|TOO_LARGE_STRING_SIZE|BAD_ARGUMENTS|NUMBER_OF_COLUMNS_DOESNT_MATCH|INCORRECT_NUMBER_OF_COLUMNS|DECIMAL_OVERFLOW|ARGUMENT_OUT_OF_BOUND)$/;
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'ETIMEDOUT']);

export function classifyInsertError(error: unknown): InsertFailure {
  if (error instanceof ClickHouseWriteError) return { reason: 'rejected', retryable: false };
  if (error instanceof InsertTimeoutError) return { reason: 'timeout', retryable: true };
  if (error instanceof ClickHouseError) {
    const type = error.type ?? '';
    if (type === 'UNKNOWN_TABLE' || type === 'UNKNOWN_DATABASE') return { reason: 'unknown_table', retryable: true };
    if (REJECTED_TYPES.test(type)) return { reason: 'rejected', retryable: false };
    return { reason: 'server', retryable: true };
  }
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return { reason: 'bug', retryable: false };
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return { reason: 'connection', retryable: true };
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout|timed out/i.test(message)) return { reason: 'timeout', retryable: true };
  if (/socket hang up|ECONN|network/i.test(message)) return { reason: 'connection', retryable: true };
  return { reason: 'other', retryable: true };
}
