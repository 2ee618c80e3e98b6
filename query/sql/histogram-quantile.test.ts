import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClickHouseClient } from '@clickhouse/client';
import { Engine } from '../promql/engine/engine.ts';
import { MemoryQueryable } from '../promql/engine/testing/memory-queryable.ts';
import type { QueryResult } from '../promql/engine/types.ts';
import type { PromQLBackend } from '../promql/test/runner.ts';
import { openEmbeddedTestBackend } from './open-test-backend.ts';
import { closeValues, comparable } from './testing/compare-values.ts';

/**
 * histogram_quantile and histogram_fraction in SQL (histogram-quantile.ts, histogram-fraction.ts) against the TypeScript engine on seeded random
 * classic histograms: bucket counters with resets, buckets that are not monotonic (by far, and by
 * floating-point noise), a histogram without +Inf, duplicate `le` spellings ("1" and "1.0"),
 * bounds <= 0, a malformed `le`, and φ inside and outside [0, 1], literal or varying per step.
 * Values agree within the promqltest runner's tolerance; warnings and infos exactly.
 */

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface HistogramShape {
  readonly labels: Record<string, string>;
  readonly les: readonly string[];
  /** How each bucket's count is perturbed: none, a large decrease now and then, relative noise of ±1e-14 (below the tolerance: no info). */
  readonly skew: 'none' | 'nonmonotonic' | 'noise';
}

const SHAPES: HistogramShape[] = [
  { labels: { __name__: 'rq_bucket', job: 'a' }, les: ['0.1', '0.5', '1', '5', '+Inf'], skew: 'none' },
  { labels: { __name__: 'rq_bucket', job: 'b' }, les: ['0.1', '1', '1.0', '1e0', '10', '+Inf'], skew: 'none' },
  { labels: { __name__: 'rq_bucket', job: 'c' }, les: ['-1', '0', '2', '4', 'inf'], skew: 'nonmonotonic' },
  { labels: { __name__: 'rq_bucket', job: 'd' }, les: ['0.25', '0.5', '1'], skew: 'none' },
  { labels: { __name__: 'noise_bucket', job: 'e' }, les: ['1', '2', '3', '+Inf'], skew: 'noise' },
  { labels: { __name__: 'rq_bucket', job: 'f' }, les: ['0.5', 'abc', '+Inf'], skew: 'nonmonotonic' },
  { labels: { __name__: 'rq_bucket', job: 'g' }, les: ['+Inf'], skew: 'none' },
  { labels: { __name__: 'other_bucket', job: 'a' }, les: ['.5', '5.', '+5e1', '+Inf', 'Infinity'], skew: 'nonmonotonic' },
];

/** Cumulative bucket counters scraped every 10-25 s for an hour, with resets; a third of them skewed. */
function histogramData(seed: number): MemoryQueryable {
  const r = rng(seed);
  const q = new MemoryQueryable();
  for (const shape of SHAPES) {
    const ts: number[] = [];
    for (let t = 1 + Math.floor(r() * 10_000); t < 3_600_000; t += 10_000 + Math.floor(r() * 15_000)) ts.push(t);
    // Per bucket a counter of observations at or below it; a reset sets them all to 0 together.
    const counts = shape.les.map(() => [] as number[]);
    const running = shape.les.map(() => 0);
    for (let k = 0; k < ts.length; k++) {
      if (r() < 0.03) running.fill(0);
      let below = 0;
      for (let b = 0; b < shape.les.length; b++) {
        below += Math.floor(r() * (b === 0 ? 3 : 5));
        running[b] = Math.max(running[b], below + (b > 0 ? running[b - 1] - below : 0));
        running[b] += Math.floor(r() * 2);
        let v = running[b];
        if (shape.skew === 'nonmonotonic' && r() < 0.3) v = Math.max(0, v - Math.floor(r() * 20));
        if (shape.skew === 'noise' && r() < 0.5) v = v * (r() < 0.5 ? 1 - 1e-14 : 1 + 1e-14);
        counts[b].push(v);
      }
    }
    shape.les.forEach((le, b) => q.add({ labels: { ...shape.labels, le }, ts, values: Float64Array.from(counts[b]) }));
  }
  // φ that varies by step, in and out of [0, 1].
  const phiTs: number[] = [];
  const phiValues: number[] = [];
  for (let t = 0; t < 3_600_000; t += 30_000) {
    phiTs.push(t);
    phiValues.push(Math.round((r() * 1.4 - 0.2) * 100) / 100);
  }
  q.add({ labels: { __name__: 'phi' }, ts: phiTs, values: Float64Array.from(phiValues) });
  return q;
}

const QUERIES = [
  'histogram_quantile(0.5, rq_bucket)', 'histogram_quantile(0.9, rq_bucket)', 'histogram_quantile(0, rq_bucket)', 'histogram_quantile(1, rq_bucket)',
  'histogram_quantile(-0.5, rq_bucket)', 'histogram_quantile(1.5, rq_bucket)', 'histogram_quantile(NaN, rq_bucket)',
  'histogram_quantile(0.5, noise_bucket)', 'histogram_quantile(0.999, noise_bucket)', 'histogram_quantile(scalar(phi), rq_bucket)', 'histogram_quantile(scalar(phi), other_bucket)',
  'histogram_quantile(0.9, rate(rq_bucket[5m]))', 'histogram_quantile(0.5, sum by (le) (rate(rq_bucket[5m])))', 'histogram_quantile(0.75, sum by (job, le) (increase(rq_bucket[10m])))',
  'histogram_quantile(0.3, rq_bucket offset 3m)', 'histogram_quantile(0.3, rq_bucket @ 1800)', 'histogram_quantile(0.99, max_over_time(rq_bucket[10m:1m]))',
  'histogram_quantile(0.2, rq_bucket{job="c"} - 3)', 'histogram_quantile(0.6, label_replace(rq_bucket, "le", "1.00", "le", "1[.]0"))',
  'histogram_fraction(0, 1, rq_bucket)', 'histogram_fraction(-1, 0.3, rq_bucket)', 'histogram_fraction(0.7, 0.2, rq_bucket)', 'histogram_fraction(-Inf, +Inf, other_bucket)',
  'histogram_fraction(0.1, 20, {__name__=~"(noise|other)_bucket"})', 'histogram_fraction(NaN, 1, rq_bucket)', 'histogram_fraction(scalar(phi), scalar(phi) * 4, rq_bucket)',
  'histogram_fraction(0, 0.5, rate(rq_bucket[5m]))', 'histogram_fraction(3, 4, sum by (le) (rq_bucket))',
  // Several φ over histograms without repeated bounds (job b repeats 1, other_bucket +Inf; see the refusal below).
  'histogram_quantiles(rq_bucket{job!="b"}, "q", 0, 0.25, 0.5, 0.999, 1)', 'histogram_quantiles(noise_bucket, "quantile", -0.1, NaN, 1e-3, 0.5, 1.5)',
  'histogram_quantiles(sum by (job, le) (rate(rq_bucket{job!="b"}[5m])), "q", 0.9, 0.1)', 'histogram_quantiles(rq_bucket, "q", 0.9)', 'histogram_quantiles(other_bucket, "q", 0.9, 2)',
  'histogram_quantiles(rate(rq_bucket{job!="b"}[5m]), "__name__", 0.5)', 'histogram_quantiles(rate(rq_bucket{job!="b"}[5m]), "__name__", 0.5, 0.9)', 'histogram_quantiles(rq_bucket, "job", 0.5)', 'histogram_quantiles(rq_bucket{job!="b"}, "job", 0.5, 0.9)', 'histogram_quantiles(rq_bucket, "\xff", 0.5)',
  // The engine's errors: two metric names with the same other labels, and "1.0" matching "1e0" too.
  'histogram_quantile(0.01, {__name__=~".*_bucket"})', 'histogram_quantile(0.6, label_replace(rq_bucket, "le", "1.00", "le", "1.0"))',
];

function annotations(r: QueryResult): unknown {
  const strip = (xs: readonly string[]) => [...new Set(xs)].sort();
  return { warnings: strip(r.warnings), infos: strip(r.infos) };
}

/** The result, or the error's message. */
async function outcome(run: () => Promise<QueryResult>): Promise<QueryResult | string> {
  return run().catch((e: Error) => e.message);
}

/** What the comparisons met, so the data is known to reach every case. */
const seen = { errors: 0, results: 0, infos: 0, badLe: 0, badPhi: 0, nan: 0 };

function agree(got: QueryResult | string, want: QueryResult | string, what: string): void {
  if (typeof want === 'string' || typeof got === 'string') {
    expect(got, what).toBe(want);
    seen.errors++;
    return;
  }
  seen.results++;
  if (want.infos.length > 0) seen.infos++;
  if (want.warnings.some((w) => w.includes('bucket label'))) seen.badLe++;
  if (want.warnings.some((w) => w.includes('quantile value'))) seen.badPhi++;
  const v = want.value;
  if ((v.type === 'vector' && v.samples.some((x) => Number.isNaN(x.v))) || (v.type === 'matrix' && v.series.some((x) => x.values.some(Number.isNaN)))) seen.nan++;
  expect(closeValues(comparable(got.value), comparable(want.value)), `${what}: ${JSON.stringify(comparable(got.value))} vs ${JSON.stringify(comparable(want.value))}`).toBe(true);
  expect(annotations(got), what).toEqual(annotations(want));
}

let backend: PromQLBackend;
let client: ClickHouseClient;
beforeAll(async () => {
  ({ backend, client } = await openEmbeddedTestBackend());
});
afterAll(async () => client?.close());

describe('histogram_quantile and histogram_fraction over chDB answer as the engine on random classic histograms', () => {
  const engine = new Engine({ experimentalFunctions: true });
  for (const seed of [1, 2]) {
    const data = histogramData(seed);
    for (const q of QUERIES) {
      it(`seed ${seed}: ${q}`, async () => {
        const expr = backend.parse(q);
        for (const t of [1_234_567, 2_700_000]) {
          const want = await outcome(() => engine.instantQuery(data, expr, t));
          agree(await outcome(() => backend.instantQuery(data, expr, t)), want, `instant at ${t}`);
        }
        const want = await outcome(() => engine.rangeQuery(data, expr, 600_000, 3_500_000, 47_000));
        agree(await outcome(() => backend.rangeQuery(data, expr, 600_000, 3_500_000, 47_000)), want, 'range');
      });
    }
  }
  it.each([
    // [several φ, the last φ alone, its label value]
    ['histogram_quantiles(rq_bucket{job="b"}, "q", 0, 0.5)', 'histogram_quantiles(rq_bucket{job="b"}, "q", 0.5)', '0.5'],
    ['histogram_quantiles(other_bucket, "q", 0.1, 0.9)', null, null],
  ])('refuses several φ in [0, 1] over buckets whose bounds repeat: %s', async (several, alone, label) => {
    const data = histogramData(1);
    await expect(backend.instantQuery(data, backend.parse(several), 1_234_567)).rejects.toThrow(/histogram_quantiles with several φ in \[0, 1\] over buckets whose le bounds repeat/);
    if (alone === null) return;
    // Not a needless refusal: the engine answers the last φ differently after the first merged the buckets.
    const valueOf = (r: QueryResult) => (r.value.type === 'vector' ? r.value.samples.filter((x) => x.labels.includes(label!)).map((x) => x.v) : []);
    const afterOthers = valueOf(await engine.instantQuery(data, backend.parse(several), 1_234_567));
    expect(afterOthers).toHaveLength(1);
    expect(afterOthers).not.toEqual(valueOf(await engine.instantQuery(data, backend.parse(alone), 1_234_567)));
  });

  it('met errors, monotonicity infos, malformed le, φ out of range and NaN results', () => {
    expect(seen.results).toBeGreaterThan(50);
    for (const k of ['errors', 'infos', 'badLe', 'badPhi', 'nan'] as const) expect(seen[k], k).toBeGreaterThan(0);
  });
});
