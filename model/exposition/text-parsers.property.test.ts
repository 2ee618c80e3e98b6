import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchBuilder } from '../sample-batch.ts';
import { SeriesRegistry } from '../series-registry.ts';
import { float64Bits } from '../stale-nan.ts';
import { parseOpenMetrics } from './openmetrics.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { SeriesKeyCache } from './series-key-cache.ts';
import type { ExpositionParser } from './types.ts';

const parsers: [string, ExpositionParser][] = [
  ['prometheus text', parsePrometheusText],
  ['openmetrics', parseOpenMetrics],
];

const enc = new TextEncoder();

const VALID = [
  '# HELP a Help \\\\ text\n# TYPE a counter\na_total{b="c",d="e\\n"} 1 1700000000\n',
  '# TYPE h histogram\nh_bucket{le="1"} 1 # {trace_id="x"} 1 1.5\nh_bucket{le="+Inf"} 2\nh_count 2\nh_sum 3\n',
  '{"my.metric", "a.b"="v"} NaN\nplain -Inf\nvm{a="1", b="2",} 1e-3 5\n',
  '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\ns_sum 1\n# UNIT x_seconds seconds\n# EOF\n',
];

const TOKENS = [
  'a', 'b_total', 'h_bucket', 'le', 'x', '{', '}', '"', '\\', '\\n', '\\"', '=', ',', ', ', ' ', '\t', '\n', '\r\n', '\r',
  '#', '# HELP ', '# TYPE ', '# UNIT ', '# EOF', ' # {', 'counter', 'histogram', 'summary', 'gauge',
  '1', '1.5', '-2e3', 'NaN', '+Inf', 'inf', '1700000000', '0.5', 'e', '.', '-', '\u00e9', '\u{1f600}', '\x00',
];

/** One parse with a fresh or given target; checks the invariants every result must satisfy. */
function check(parser: ExpositionParser, bytes: Uint8Array, target = newTarget()) {
  const before = target.builder.length;
  const result = parser(bytes, { defaultTimestampMs: 1000, exemplars: 'keep', maxErrorDetails: 5 }, target);
  expect(result.errorCount).toBeGreaterThanOrEqual(result.errors.length);
  expect(result.errors.length).toBeLessThanOrEqual(5);
  expect(result.samples).toBe(target.builder.length - before);
  for (const e of result.errors) {
    expect(e.line).toBeGreaterThanOrEqual(1);
    expect(e.column).toBeGreaterThanOrEqual(1);
    expect(e.reason).toMatch(/^[a-z0-9_]+$/);
  }
  for (let i = before; i < target.builder.length; i++) {
    expect(target.builder.refs[i]).toBeLessThan(target.series.registry.size);
  }
  for (const ex of result.exemplars) expect(ex.seriesRef).toBeLessThan(target.series.registry.size);
  return result;
}

function newTarget() {
  return { builder: new BatchBuilder(8), series: new SeriesKeyCache(new SeriesRegistry()) };
}

/** The samples a parse appended, as comparable rows (value bits, so NaN payloads count). */
function rows(target: ReturnType<typeof newTarget>, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) {
    out.push(`${target.builder.refs[i]} ${target.builder.ts[i]} ${float64Bits(target.builder.values[i])}`);
  }
  return out;
}

const randomBytes = fc.uint8Array({ maxLength: 400 });
const tokenText = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((t) => enc.encode(t.join('')));
const mutated = fc
  .tuple(
    fc.constantFrom(...VALID.map((v) => enc.encode(v))),
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 6 }),
  )
  .map(([base, edits]) => {
    const bytes = Array.from(base);
    for (const [at, byte, op] of edits) {
      const i = at % (bytes.length + 1);
      if (op === 'set' && i < bytes.length) bytes[i] = byte;
      else if (op === 'insert') bytes.splice(i, 0, byte);
      else bytes.splice(i, 1 + (byte % 4));
    }
    return new Uint8Array(bytes);
  });
const inputs = fc.oneof(randomBytes, tokenText, mutated);

describe.each(parsers)('%s never throws on arbitrary input', (_name, parser) => {
  it('keeps its invariants on random bytes, token soup and mutated payloads', () => {
    fc.assert(
      fc.property(inputs, (bytes) => {
        check(parser, bytes);
      }),
      { numRuns: 3000, seed: 1234 },
    );
  });

  it('parses a payload the same way with a cold and a warm series cache', () => {
    fc.assert(
      fc.property(inputs, (bytes) => {
        const target = newTarget();
        const first = check(parser, bytes, target);
        const mid = target.builder.length;
        const second = check(parser, bytes, target);
        expect(rows(target, mid, target.builder.length)).toEqual(rows(target, 0, mid));
        expect(second.errors).toEqual(first.errors);
        expect(second.errorCount).toBe(first.errorCount);
        expect(second.metadata).toEqual(first.metadata);
      }),
      { numRuns: 2000, seed: 99 },
    );
  });
});
