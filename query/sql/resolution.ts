import type { AtModifier, Expr } from '../promql/ast.ts';
import { UnsupportedQueryError } from './errors.ts';
import { RESOLUTION_MS, ROLLUP_FUNCTIONS, ROLLUP_RESOLUTIONS, type RollupResolution, type RollupSource } from './rollup-source.ts';

/**
 * Which table a translated query reads: the raw samples or one of the rollup tables.
 *
 * `auto` (the default), after Thanos's auto-downsampling:
 * 1. raw, while everything the query reads is still inside the raw table's retention;
 * 2. otherwise a rollup resolution that can answer every construct of the query (ROLLUP_FUNCTIONS;
 *    no subquery) and whose windows fit every range: a range function needing a difference keeps
 *    at least two rollup points in its range (range >= 2 x resolution, so `rate(m[5m])` never
 *    reads 5m rollups), any other at least one (range >= resolution);
 * 3. among those, preferring resolutions whose table still reaches back to the oldest time read:
 *    for a range query the coarsest at most step / 5 (Thanos's rule: five rollup points per step
 *    at least); when the step is finer than that for all of them, the finest; for an instant query
 *    the finest (one evaluation reads little, and finer is closer to raw).
 * A forced resolution is used as given; when it cannot answer a construct, translation fails with
 * an UnsupportedQueryError (422) naming the construct and the resolution.
 */

export type Resolution = 'raw' | RollupResolution;
export type ResolutionChoice = Resolution | 'auto';

export interface ResolutionOptions {
  /** Default `auto`. */
  readonly resolution?: ResolutionChoice;
  /**
   * Where raw samples begin (older ones have expired). Without it and without `rawRetentionMs`,
   * the raw table is taken to hold everything, and `auto` always reads raw.
   */
  readonly rawMinTimeMs?: number;
  /** The raw table's retention (its TTL): raw samples begin at `nowMs - rawRetentionMs`. */
  readonly rawRetentionMs?: number;
  /** Where each rollup table's data begins (its TTL), when known. */
  readonly rollupMinTimeMs?: Partial<Record<RollupResolution, number>>;
  /** Fully qualified rollup table names; default: `sluice_rollup_5m` / `sluice_rollup_1h` beside the raw table. */
  readonly rollupTables?: Readonly<Record<RollupResolution, string>>;
  /** The clock for `rawRetentionMs`; default Date.now. */
  readonly nowMs?: () => number;
}

export interface ResolutionDecision {
  readonly resolution: Resolution;
  /** Why, in a sentence for the API's info annotations. */
  readonly reason: string;
  /** The rollup table read; null for raw. */
  readonly rollup: RollupSource | null;
}

export interface QueryGrid {
  readonly startMs: number;
  readonly endMs: number;
  /** The step of a range query; ignored for an instant query. */
  readonly stepMs: number;
  readonly instant: boolean;
}

/** What the choice needs to know about a query. */
export interface QueryShape {
  /** The oldest sample time any selector reads (ms, exclusive bound of the widest window). */
  readonly minReadMs: number;
  /** Range functions over selectors, as written. */
  readonly ranges: ReadonlyArray<{ readonly func: string; readonly rangeMs: number; readonly text: string }>;
  /** Constructs no rollup resolution can answer. */
  readonly notFromRollups: readonly string[];
}

/** `5m`, `1h30m`, `90s`, `1500ms`: a duration as PromQL writes it, for messages. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const units: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]];
  let out = '';
  let rest = Math.abs(ms);
  for (const [u, size] of units) {
    const k = Math.floor(rest / size);
    if (k > 0) out += `${k}${u}`;
    rest -= k * size;
  }
  return (ms < 0 ? '-' : '') + out;
}

function unwrap(e: Expr): Expr {
  return e.kind === 'ParenExpr' ? unwrap(e.expr) : e;
}

/** Evaluation times of a node: an interval, after `@` and offsets of its ancestors. */
interface Span {
  readonly from: number;
  readonly to: number;
}

export function describeQuery(expr: Expr, grid: QueryGrid, lookbackMs: number): QueryShape {
  let minReadMs = Infinity;
  const ranges: Array<{ func: string; rangeMs: number; text: string }> = [];
  const notFromRollups: string[] = [];
  const pin = (at: AtModifier | null, span: Span): Span => {
    if (at === null) return span;
    const t = at.kind === 'timestamp' ? at.ms : at.kind === 'start' ? grid.startMs : grid.endMs;
    return { from: t, to: t };
  };
  const read = (span: Span, offsetMs: number, windowMs: number) => {
    minReadMs = Math.min(minReadMs, span.from - offsetMs - windowMs);
  };
  const walk = (node: Expr, span: Span, inRangeCall: string | null): void => {
    const e = unwrap(node);
    switch (e.kind) {
      case 'NumberLiteral':
      case 'StringLiteral':
        return;
      case 'VectorSelector':
        read(pin(e.at, span), e.offsetMs, lookbackMs);
        return;
      case 'MatrixSelector': {
        read(pin(e.vector.at, span), e.vector.offsetMs, e.rangeMs);
        const func = inRangeCall ?? '(a range vector result)';
        const name = e.vector.name || '{...}';
        const text = `${func}(${name}[${formatDuration(e.rangeMs)}])`;
        ranges.push({ func, rangeMs: e.rangeMs, text });
        if (!Object.hasOwn(ROLLUP_FUNCTIONS, func)) notFromRollups.push(text);
        return;
      }
      case 'SubqueryExpr': {
        notFromRollups.push(`a subquery ([${formatDuration(e.rangeMs)}:${e.stepMs > 0 ? formatDuration(e.stepMs) : ''}])`);
        const s = pin(e.at, span);
        walk(e.expr, { from: s.from - e.offsetMs - e.rangeMs, to: s.to - e.offsetMs }, null);
        return;
      }
      case 'AggregateExpr':
        if (e.param) walk(e.param, span, null);
        walk(e.expr, span, null);
        return;
      case 'BinaryExpr':
        walk(e.lhs, span, null);
        walk(e.rhs, span, null);
        return;
      case 'UnaryExpr':
      case 'ParenExpr':
        walk(e.expr, span, null);
        return;
      case 'Call':
        for (const a of e.args) walk(a, span, e.func);
        return;
    }
  };
  walk(expr, { from: grid.startMs, to: grid.endMs }, null);
  return { minReadMs, ranges, notFromRollups };
}

/** Why `resolution` cannot answer the query: the constructs it cannot express, and ranges too short for its windows. */
export function rollupProblems(shape: QueryShape, resolution: RollupResolution): string[] {
  const res = RESOLUTION_MS[resolution];
  const problems = [...shape.notFromRollups];
  for (const r of shape.ranges) {
    const f = Object.hasOwn(ROLLUP_FUNCTIONS, r.func) ? ROLLUP_FUNCTIONS[r.func] : undefined;
    if (f === undefined) continue;
    if (r.rangeMs < f.minPoints * res) {
      const need = f.minPoints === 2 ? `two ${resolution} rollup points (a range of ${formatDuration(2 * res)} at least)` : `a whole ${resolution} rollup window`;
      problems.push(`${r.text}, whose range is shorter than ${need}`);
    }
  }
  return [...new Set(problems)];
}

/** Where the raw table begins to hold every sample; -Infinity when nothing says it has expired anything. */
export function rawMinTime(o: ResolutionOptions): number {
  if (o.rawMinTimeMs !== undefined) return o.rawMinTimeMs;
  if (o.rawRetentionMs !== undefined) return (o.nowMs ?? Date.now)() - o.rawRetentionMs;
  return -Infinity;
}

function source(resolution: RollupResolution, rawTable: string, o: ResolutionOptions): RollupSource {
  let table = o.rollupTables?.[resolution];
  if (table === undefined) {
    const dot = rawTable.lastIndexOf('.');
    table = `${dot >= 0 ? rawTable.slice(0, dot + 1) : ''}sluice_rollup_${resolution}`;
  }
  return { resolution, resolutionMs: RESOLUTION_MS[resolution], table };
}

function refuse(resolution: string, problems: readonly string[], why: string): never {
  throw new UnsupportedQueryError(`${problems.join('; ')} over ${resolution} rollups${why} (rollups keep per window only count, sum, min, max, the counter and the first and last samples)`);
}

export function chooseResolution(expr: Expr, grid: QueryGrid, o: ResolutionOptions & { readonly lookbackDeltaMs?: number }, rawTable: string): ResolutionDecision {
  const want = o.resolution ?? 'auto';
  if (want === 'raw') return { resolution: 'raw', reason: 'raw samples (forced)', rollup: null };
  const shape = describeQuery(expr, grid, o.lookbackDeltaMs ?? 300_000);
  if (want !== 'auto') {
    if (!ROLLUP_RESOLUTIONS.includes(want)) throw new UnsupportedQueryError(`the resolution "${String(want)}" (valid: raw, ${ROLLUP_RESOLUTIONS.join(', ')}, auto)`);
    const problems = rollupProblems(shape, want);
    if (problems.length > 0) refuse(want, problems, ' (resolution forced)');
    return { resolution: want, reason: `${want} rollups (forced)`, rollup: source(want, rawTable, o) };
  }
  const rawFrom = rawMinTime(o);
  if (shape.minReadMs >= rawFrom) return { resolution: 'raw', reason: 'raw samples (the query reads only data inside the raw retention)', rollup: null };
  const older = Number.isFinite(rawFrom) ? ` before ${new Date(rawFrom).toISOString()}, where raw samples have expired` : '';
  const able = ROLLUP_RESOLUTIONS.filter((r) => rollupProblems(shape, r).length === 0);
  if (able.length === 0) refuse(ROLLUP_RESOLUTIONS.join(' or '), rollupProblems(shape, ROLLUP_RESOLUTIONS[0]), ` (the query reads data${older})`);
  const reaching = able.filter((r) => shape.minReadMs >= (o.rollupMinTimeMs?.[r] ?? -Infinity));
  const candidates = reaching.length > 0 ? reaching : able; // finest first
  let pick: RollupResolution;
  let reason: string;
  if (grid.instant) {
    pick = candidates[0];
    reason = `${pick} rollups (an instant query over data${older}: the finest rollups that answer it)`;
  } else {
    const fit = candidates.filter((r) => RESOLUTION_MS[r] <= grid.stepMs / 5);
    if (fit.length > 0) {
      pick = fit[fit.length - 1];
      reason = `${pick} rollups (the coarsest at most step/5 = ${formatDuration(Math.floor(grid.stepMs / 5))} that answer the query over data${older})`;
    } else {
      pick = candidates[0];
      reason = `${pick} rollups (the finest that answer the query over data${older}; the step ${formatDuration(grid.stepMs)} is finer than 5 rollup windows)`;
    }
  }
  if (reaching.length === 0) reason += '; no rollup table reaches back to the oldest time read';
  return { resolution: pick, reason, rollup: source(pick, rawTable, o) };
}
