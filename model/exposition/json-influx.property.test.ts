import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BatchBuilder } from '../sample-batch.ts';
import { SeriesRegistry } from '../series-registry.ts';
import { parseInflux } from './influx.ts';
import { parseJsonLines } from './json-lines.ts';
import { SeriesKeyCache } from './series-key-cache.ts';
import type { ExpositionParser } from './types.ts';

/** Parses, and checks the result is consistent: never a throw, sane error positions. */
function check(parser: ExpositionParser, payload: Uint8Array, cache: SeriesKeyCache): void {
  const builder = new BatchBuilder(4);
  const lines = payload.reduce((n, b) => n + (b === 10 ? 1 : 0), 1);
  const result = parser(payload, { defaultTimestampMs: 0, exemplars: 'drop', maxErrorDetails: 5 }, { builder, series: cache });
  expect(result.samples).toBe(builder.length);
  expect(result.errors.length).toBeLessThanOrEqual(Math.min(5, result.errorCount));
  for (const err of result.errors) {
    expect(err.line).toBeGreaterThanOrEqual(1);
    expect(err.line).toBeLessThanOrEqual(lines);
    expect(err.column).toBeGreaterThanOrEqual(1);
    expect(err.reason).toMatch(/^[a-z_]+$/);
  }
  for (let i = 0; i < builder.length; i++) expect(builder.refs[i]).toBeLessThan(cache.registry.size);
}

const bytes = fc.uint8Array({ maxLength: 300 });

/** Bytes drawn mostly from each format's own punctuation, to get past the first checks. */
const influxish = fc
  .array(
    fc.constantFrom(
      ...'abc_xyz019.-+eEiutTfF'.split(''),
      ' ', ',', '=', '\\', '"', '#', '\n', '\r', '\t', 'NaN', 'Inf', 'true', '1700000000000000000', '-', 'é',
    ),
    { maxLength: 120 },
  )
  .map((parts) => new TextEncoder().encode(parts.join('')));

const jsonish = fc
  .array(
    fc.oneof(
      fc.constantFrom('{', '}', '[', ']', ':', ',', '"', '\n', ' ', 'null', 'true', '"NaN"', '"+Inf"', '1', '-0.5e3', '1700000000000'),
      fc.constantFrom('"metric"', '"values"', '"timestamps"', '"__name__"', '"job"', '"up"', '"a-b"', '"__proto__"'),
    ),
    { maxLength: 80 },
  )
  .map((parts) => new TextEncoder().encode(parts.join('')));

/** Well-formed lines with random pieces, so the cached paths see many shapes too. */
const jsonLine = fc
  .record({
    metric: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
    values: fc.array(fc.oneof(fc.double(), fc.constantFrom('NaN', '+Inf', '-Inf', 'Inf', null)), { maxLength: 3 }),
    timestamps: fc.array(fc.integer(), { maxLength: 3 }),
  })
  .map((line) => JSON.stringify(line));

describe.each([
  ['parseJsonLines', parseJsonLines, jsonish],
  ['parseInflux', parseInflux, influxish],
] as const)('%s never throws', (_name, parser, shaped) => {
  it('on random bytes', () => {
    const cache = new SeriesKeyCache(new SeriesRegistry());
    fc.assert(fc.property(bytes, (payload) => check(parser, payload, cache)), { numRuns: 1000 });
  });

  it('on payloads made of its own punctuation', () => {
    const cache = new SeriesKeyCache(new SeriesRegistry());
    fc.assert(fc.property(shaped, (payload) => check(parser, payload, cache)), { numRuns: 2000 });
  });
});

it('parseJsonLines never throws on schema-shaped lines', () => {
  const cache = new SeriesKeyCache(new SeriesRegistry());
  fc.assert(
    fc.property(fc.array(jsonLine, { maxLength: 4 }), (lines) => check(parseJsonLines, new TextEncoder().encode(lines.join('\n')), cache)),
    { numRuns: 1000 },
  );
});
