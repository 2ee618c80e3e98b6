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

/**
 * Server error codes that say the statement or its data is wrong, so the same block fails again
 * (numbers from chDB's own `errorCodeToName`): CANNOT_PARSE_* (6, 25, 26, 27, 38, 41, 72, 376,
 * 467, 675, 676), INCORRECT_NUMBER_OF_COLUMNS 7, THERE_IS_NO_COLUMN 8, NO_SUCH_COLUMN_IN_TABLE 16,
 * ATTEMPT_TO_READ_AFTER_EOF 32, CANNOT_READ_ALL_DATA 33, BAD_ARGUMENTS 36,
 * NUMBER_OF_ARGUMENTS_DOESNT_MATCH 42, ILLEGAL_TYPE_OF_ARGUMENT 43, ILLEGAL_COLUMN 44,
 * UNKNOWN_FUNCTION 46, UNKNOWN_IDENTIFIER 47, UNKNOWN_TYPE 50, TYPE_MISMATCH 53, SYNTAX_ERROR 62,
 * ARGUMENT_OUT_OF_BOUND 69, CANNOT_CONVERT_TYPE 70, UNKNOWN_FORMAT 73, INCORRECT_QUERY 80,
 * UNKNOWN_SETTING 115, INCORRECT_DATA 117, TOO_LARGE_STRING_SIZE 131, QUERY_IS_TOO_LARGE 229,
 * VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE 321.
 */
const REJECTED_CODES = new Set([6, 7, 8, 16, 25, 26, 27, 32, 33, 36, 38, 41, 42, 43, 44, 46, 47, 50, 53, 62, 69, 70, 72, 73, 80, 115, 117, 131, 229, 321, 376, 467, 675, 676]);
/** UNKNOWN_TABLE 60, UNKNOWN_DATABASE 81: the schema is gone; migrate again, then retry. */
const SCHEMA_GONE_CODES = new Set([60, 81]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNABORTED', 'ETIMEDOUT']);

export function classifyInsertError(error: unknown): InsertFailure {
  if (error instanceof ClickHouseWriteError) return { reason: 'rejected', retryable: false };
  if (error instanceof InsertTimeoutError) return { reason: 'timeout', retryable: true };
  const code = serverErrorCode(error);
  if (code !== undefined) {
    if (SCHEMA_GONE_CODES.has(code)) return { reason: 'unknown_table', retryable: true };
    if (REJECTED_CODES.has(code)) return { reason: 'rejected', retryable: false };
    return { reason: 'server', retryable: true };
  }
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return { reason: 'bug', retryable: false };
  const errno = (error as { code?: unknown } | null)?.code;
  if (typeof errno === 'string' && NETWORK_CODES.has(errno)) return { reason: 'connection', retryable: true };
  const message = error instanceof Error ? error.message : String(error);
  if (/timeout|timed out/i.test(message)) return { reason: 'timeout', retryable: true };
  if (/socket hang up|ECONN|network/i.test(message)) return { reason: 'connection', retryable: true };
  return { reason: 'other', retryable: true };
}

/**
 * The server's error code when the error came from ClickHouse. Read from the error's shape, not by
 * `instanceof` (chDB's connection raises the ClickHouseError class of its own copy of
 * @clickhouse/client-common) and not from its `type` (which that copy sometimes parses wrongly
 * out of chDB's message): `code` as digits, chDB's `clickhouseCode`, or `Code: N.` in the message.
 */
function serverErrorCode(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const e = error as Error & { code?: unknown; clickhouseCode?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && /^\d+$/.test(e.code)) return Number(e.code);
  if (typeof e.clickhouseCode === 'number') return e.clickhouseCode;
  const m = /\bCode: (\d+)\./.exec(e.message);
  if (m) return Number(m[1]);
  return e.cause instanceof Error ? serverErrorCode(e.cause) : undefined;
}
