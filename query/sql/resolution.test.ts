import { describe, expect, it } from 'vitest';
import { parseExpr } from '../promql/parser/index.ts';
import { UnsupportedQueryError } from './errors.ts';
import { chooseResolution, formatDuration, type ResolutionOptions } from './resolution.ts';
import { translateInstantQuery, translateRangeQuery, type TranslateOptions } from './translate.ts';

const H = 3_600_000;
const D = 24 * H;
/** Raw samples exist from day 30 on; "old" queries read days 0..10, "recent" ones days 40..41. */
const RAW_FROM = 30 * D;
const OLD = { startMs: 5 * D, endMs: 10 * D };
const RECENT = { startMs: 40 * D, endMs: 41 * D };
const base: ResolutionOptions = { rawMinTimeMs: RAW_FROM };

interface Case {
  name: string;
  q: string;
  grid: { startMs: number; endMs: number };
  /** 0: an instant query at grid.endMs. */
  stepMs: number;
  o?: ResolutionOptions;
  want: 'raw' | '5m' | '1h' | RegExp;
  reason?: RegExp;
}

const CASES: Case[] = [
  { name: 'no raw retention configured: raw holds everything', q: 'rate(m[5m])', grid: OLD, stepMs: H, o: {}, want: 'raw' },
  { name: 'inside the raw retention: raw, even at a coarse step', q: 'sum by (job) (rate(m[1h]))', grid: RECENT, stepMs: 6 * H, want: 'raw', reason: /inside the raw retention/ },
  { name: 'old data, rate over 5m: no rollup holds two points', q: 'rate(m[5m])', grid: OLD, stepMs: H, want: /rate\(m\[5m\]\), whose range is shorter than two 5m rollup points \(a range of 10m at least\).*raw samples have expired/ },
  { name: 'rate over 1h: 1h rollups hold one point, 5m rollups twelve', q: 'rate(m[1h])', grid: OLD, stepMs: H, want: '5m' },
  { name: 'rate over 1d at a 6h step: the coarsest within step/5', q: 'rate(m[1d])', grid: OLD, stepMs: 6 * H, want: '1h', reason: /coarsest at most step\/5 = 1h12m/ },
  { name: 'rate over 1d at a 1h step: 1h > step/5', q: 'rate(m[1d])', grid: OLD, stepMs: H, want: '5m' },
  { name: 'rate at exactly two 1h windows, 5h step', q: 'increase(m[2h])', grid: OLD, stepMs: 5 * H, want: '1h' },
  { name: 'a step finer than 5 windows of any rollup: the finest', q: 'rate(m[1d])', grid: OLD, stepMs: 60_000, want: '5m', reason: /step 1m is finer than 5 rollup windows/ },
  { name: '*_over_time needs one window: 1h over 1h', q: 'sum_over_time(m[1h])', grid: OLD, stepMs: 6 * H, want: '1h' },
  { name: 'avg_over_time shorter than a 1h window', q: 'avg_over_time(m[30m])', grid: OLD, stepMs: 6 * H, want: '5m' },
  { name: 'a plain selector in an instant query: the finest', q: 'm', grid: OLD, stepMs: 0, want: '5m', reason: /instant query/ },
  { name: 'a plain selector at a day step', q: 'max by (job) (m)', grid: OLD, stepMs: D, want: '1h' },
  { name: 'the narrowest range decides', q: 'rate(m[1d]) / rate(m[90m])', grid: OLD, stepMs: 6 * H, want: '5m' },
  { name: 'changes cannot be answered from rollups', q: 'changes(m[1d])', grid: OLD, stepMs: H, want: /changes\(m\[1d\]\) over 5m or 1h rollups \(the query reads data before 1970-01-31T00:00:00.000Z/ },
  { name: 'resets neither (the counter aggregate has folded them in)', q: 'sum(resets(m[1d]))', grid: OLD, stepMs: H, want: /resets\(m\[1d\]\)/ },
  { name: 'quantile_over_time neither', q: 'quantile_over_time(0.9, m[1d])', grid: OLD, stepMs: H, want: /quantile_over_time\(m\[1d\]\)/ },
  { name: 'subqueries are not translated over rollups', q: 'max_over_time(rate(m[1h])[1d:1h])', grid: OLD, stepMs: H, want: /a subquery \(\[1d:1h\]\)/ },
  { name: 'a range that starts before the raw retention ends inside it: rollups', q: 'rate(m[1h])', grid: { startMs: 29 * D, endMs: 31 * D }, stepMs: H, want: '5m' },
  { name: 'the range of a window reaches into expired raw data', q: 'rate(m[2d])', grid: { startMs: 31 * D, endMs: 32 * D }, stepMs: 6 * H, want: '1h' },
  { name: 'an offset moves the read into expired raw data', q: 'm offset 20d', grid: RECENT, stepMs: 6 * H, want: '1h' },
  { name: '@ pins the read into expired raw data', q: `rate(m[1d] @ ${(5 * D) / 1000})`, grid: RECENT, stepMs: 6 * H, want: '1h' },
  { name: 'only 1h rollups reach back: 1h, though the step is fine', q: 'rate(m[1d])', grid: OLD, stepMs: H, o: { ...base, rollupMinTimeMs: { '5m': 7 * D } }, want: '1h', reason: /step 1h is finer/ },
  { name: 'no rollup reaches back: still answered, and said so', q: 'rate(m[1d])', grid: OLD, stepMs: 6 * H, o: { ...base, rollupMinTimeMs: { '5m': 7 * D, '1h': 7 * D } }, want: '1h', reason: /no rollup table reaches back/ },
  { name: 'retention given as a duration before now', q: 'rate(m[1h])', grid: OLD, stepMs: H, o: { rawRetentionMs: 15 * D, nowMs: () => 40 * D }, want: '5m' },
  { name: 'retention given as a duration, inside it', q: 'rate(m[1h])', grid: RECENT, stepMs: H, o: { rawRetentionMs: 15 * D, nowMs: () => 42 * D }, want: 'raw' },
  { name: 'forced raw', q: 'changes(m[5m])', grid: OLD, stepMs: H, o: { ...base, resolution: 'raw' }, want: 'raw', reason: /forced/ },
  { name: 'forced 1h, inside the raw retention', q: 'sum_over_time(m[1d])', grid: RECENT, stepMs: 60_000, o: { ...base, resolution: '1h' }, want: '1h', reason: /forced/ },
  { name: 'forced 1h cannot hold two points of rate over 1h', q: 'rate(m[1h])', grid: RECENT, stepMs: H, o: { ...base, resolution: '1h' }, want: /rate\(m\[1h\]\), whose range is shorter than two 1h rollup points \(a range of 2h at least\) over 1h rollups \(resolution forced\)/ },
  { name: 'forced 5m cannot count changes', q: 'changes(m[1h])', grid: RECENT, stepMs: H, o: { ...base, resolution: '5m' }, want: /changes\(m\[1h\]\) over 5m rollups \(resolution forced\)/ },
  { name: 'an unknown forced resolution', q: 'm', grid: RECENT, stepMs: H, o: { resolution: '10m' as '5m' }, want: /resolution "10m" \(valid: raw, 5m, 1h, auto\)/ },
  { name: 'no selector at all reads nothing: raw', q: 'vector(time())', grid: OLD, stepMs: H, want: 'raw' },
];

describe('resolution choice', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const expr = parseExpr(c.q, { experimental: true });
      const instant = c.stepMs === 0;
      const grid = instant ? { startMs: c.grid.endMs, endMs: c.grid.endMs, stepMs: 1, instant } : { ...c.grid, stepMs: c.stepMs, instant };
      const run = () => chooseResolution(expr, grid, c.o ?? base, 'db.sluice_samples_raw');
      if (c.want instanceof RegExp) {
        let error: unknown;
        try {
          run();
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(UnsupportedQueryError);
        expect((error as UnsupportedQueryError).status).toBe(422);
        expect((error as Error).message).toMatch(c.want);
        return;
      }
      const got = run();
      expect(got.resolution).toBe(c.want);
      if (c.reason) expect(got.reason).toMatch(c.reason);
      expect(got.rollup?.table ?? null).toBe(c.want === 'raw' ? null : `db.sluice_rollup_${c.want}`);
    });
  }
});

describe('the translation reports and reads the chosen table', () => {
  const options: TranslateOptions = { tables: { series: 'db.sluice_series', samples: 'db.sluice_samples_raw' }, rawMinTimeMs: RAW_FROM };
  it('a range query over old data reads the 1h rollups, counter aggregate, widened lookback', () => {
    const out = translateRangeQuery(parseExpr('sum by (job) (rate(m[1d])) + on (job) group_left max by (job) (m)'), OLD.startMs, OLD.endMs, 6 * H, options);
    expect(out.resolution).toBe('1h');
    expect(out.resolutionReason).toMatch(/^1h rollups/);
    expect(out.sql).toMatch(/FROM db\.sluice_rollup_1h FINAL/);
    expect(out.sql).not.toMatch(/sluice_samples_raw/);
    expect(out.sql).toMatch(/counter AS _c/);
    expect(out.sql).toMatch(/last_value AS _v/);
    expect(Object.values(out.params)).toContain(H); // the lookback of `m` is the 1h resolution
  });
  it('rollup tables can be named', () => {
    const out = translateInstantQuery(parseExpr('count_over_time(m[1h])'), OLD.endMs, { ...options, rollupTables: { '5m': 'x.r5', '1h': 'x.r1' } });
    expect(out.resolution).toBe('5m');
    expect(out.sql).toMatch(/FROM x\.r5 FINAL/);
    expect(out.sql).toMatch(/toFloat64\(count\) AS _v/);
  });
  it('recent data reads raw samples', () => {
    const out = translateRangeQuery(parseExpr('rate(m[5m])'), RECENT.startMs, RECENT.endMs, 60_000, options);
    expect(out.resolution).toBe('raw');
    expect(out.sql).not.toMatch(/sluice_rollup/);
  });
});

describe('formatDuration', () => {
  const table: [number, string][] = [[0, '0s'], [300_000, '5m'], [5_400_000, '1h30m'], [1500, '1s500ms'], [2 * D, '2d'], [-60_000, '-1m']];
  for (const [ms, want] of table) it(`${ms} -> ${want}`, () => expect(formatDuration(ms)).toBe(want));
});
