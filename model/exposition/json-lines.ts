/**
 * JSON lines: one JSON object per line, the VictoriaMetrics `/api/v1/import` line format.
 *
 *     {"metric":{"__name__":"up","job":"x"},"values":[1,0.5,"NaN"],"timestamps":[1700000000000,1700000001000]}
 *
 * - `metric`: label names to string values; `__name__` is required and must be a valid metric
 *   name, every other name a valid label name. Empty values mean "no label", as everywhere.
 * - `values`: numbers, or the strings "NaN", "+Inf", "-Inf", "Inf" (exactly these spellings).
 *   "NaN" is stored as Prometheus's normal NaN (`NORMAL_NAN`), as every parser stores a NaN.
 *   `null` means "no value at this timestamp": that value/timestamp pair is skipped, silently
 *   and uncounted, and the rest of the line is kept. (VictoriaMetrics stores a NaN instead; an
 *   invented NaN sample would be a wrong sample here.)
 * - `timestamps`: integer unix milliseconds, as many as `values`.
 * Unknown keys are errors (`.strict()`).
 *
 * A malformed line is a `ParseError` and adds no sample; the remaining lines are still parsed.
 * Reasons: `invalid_json`, `schema_violation`, `length_mismatch`, `missing_metric_name`,
 * `invalid_metric_name`, `invalid_label_name`. The message names the zod issue path
 * (`values[2]`, `metric.job`). The column is the JSON error position when the engine reports one,
 * else 1. Blank lines are skipped; a trailing `\r` is ignored.
 *
 * The payload is decoded once; a line's series is looked up by `JSON.stringify(metric)` (the
 * object as parsed), so a repeated series skips label sorting and interning.
 */
import { z } from 'zod';
import { isValidLabelName, isValidMetricName, labelsFromRecord, METRIC_NAME } from '../labels.ts';
import { NORMAL_NAN } from '../stale-nan.ts';
import { ErrorSink } from './parse-errors.ts';
import type { ExpositionParser, ParseOptions, ParseResult, ParseTarget } from './types.ts';

/** The spellings of non-finite values a line may carry, as strings ("NaN" is `NORMAL_NAN`). */
export const SPECIAL_VALUES = { NaN: NORMAL_NAN, '+Inf': Infinity, '-Inf': -Infinity, Inf: Infinity } as const;

/** One line of the format. Custom issues carry `params.reason` (see `reasonOf`). */
export const jsonLineSchema = z
  .strictObject({
    metric: z.record(z.string(), z.string()),
    values: z.array(z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf', 'Inf']), z.null()])),
    timestamps: z.array(z.int()),
  })
  .superRefine((line, ctx) => {
    const name = Object.hasOwn(line.metric, METRIC_NAME) ? line.metric[METRIC_NAME] : undefined;
    if (name === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['metric', METRIC_NAME],
        message: `missing "${METRIC_NAME}"`,
        params: { reason: 'missing_metric_name' },
      });
    } else if (!isValidMetricName(name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['metric', METRIC_NAME],
        message: `invalid metric name ${JSON.stringify(name)}`,
        params: { reason: 'invalid_metric_name' },
      });
    }
    for (const key of Object.keys(line.metric)) {
      if (key !== METRIC_NAME && !isValidLabelName(key)) {
        ctx.addIssue({
          code: 'custom',
          path: ['metric', key],
          message: `invalid label name ${JSON.stringify(key)}`,
          params: { reason: 'invalid_label_name' },
        });
      }
    }
    if (line.values.length !== line.timestamps.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['timestamps'],
        message: `${line.timestamps.length} timestamps for ${line.values.length} values`,
        params: { reason: 'length_mismatch' },
      });
    }
  });

export type JsonLine = z.infer<typeof jsonLineSchema>;

export const parseJsonLines: ExpositionParser = (
  payload: Uint8Array,
  options: ParseOptions,
  target: ParseTarget,
): ParseResult => {
  const errors = new ErrorSink(options.maxErrorDetails);
  let samples = 0;
  const fail = (line: number, column: number, reason: string, message: string): void => {
    errors.add(line, column, reason, `line ${line}: ${message}`);
  };

  const text = new TextDecoder('utf-8').decode(payload);
  let lineNo = 0;
  let pos = 0;
  while (pos < text.length) {
    lineNo++;
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    const line = text.slice(pos, end);
    pos = nl + 1;
    if (line.trim() === '') continue;

    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      fail(lineNo, jsonErrorColumn(line, message), 'invalid_json', `invalid JSON: ${message}`);
      continue;
    }
    const checked = jsonLineSchema.safeParse(raw);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      const path = formatPath(issue.path);
      fail(lineNo, 1, reasonOf(issue), `${path === '' ? 'line' : path}: ${issue.message}`);
      continue;
    }
    // The data comes from the object as parsed (zod's copy rebuilds records, and a label named
    // `__proto__` would not survive that).
    const line0 = raw as JsonLine;
    const key = JSON.stringify(line0.metric);
    let ref = target.series.getString(key);
    if (ref < 0) ref = target.series.addString(key, labelsFromRecord(line0.metric));
    const { values, timestamps } = line0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === null) continue;
      target.builder.append(ref, timestamps[i], typeof v === 'number' ? v : SPECIAL_VALUES[v]);
      samples++;
    }
  }
  return { samples, errors: errors.errors, errorCount: errors.count, metadata: [], exemplars: [] };
};

function reasonOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'custom') {
    const reason = (issue.params as { reason?: unknown } | undefined)?.reason;
    if (typeof reason === 'string') return reason;
  }
  return 'schema_violation';
}

/** `values[2]`, `metric.job`, `metric["a-b"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** 1-based byte column from a "... at position N" JSON error, else 1. */
function jsonErrorColumn(line: string, message: string): number {
  const m = /at position (\d+)/.exec(message);
  if (m === null) return 1;
  const at = Math.min(Number(m[1]), line.length);
  return Buffer.byteLength(line.slice(0, at), 'utf8') + 1;
}
