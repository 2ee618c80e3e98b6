import { compareLabels, formatLabels, type Labels } from '../../../model/labels.ts';
import { matchesAll } from '../../../model/matchers.ts';
import type { Expr, VectorSelector } from '../ast.ts';
import { Engine } from '../engine/engine.ts';
import { MemoryQueryable } from '../engine/testing/memory-queryable.ts';
import { QueryError, type EngineOptions, type Queryable, type QueryResult, type QueryValue, type Sample } from '../engine/types.ts';
import { parseExpr, PromQLParseError, type QueryDurations } from '../parser/index.ts';
import {
  parseTestFile,
  type EvalCommand,
  type ExpectedSeries,
  type LoadCommand,
  type MessageMatch,
  type SequenceValue,
  type TestCommand,
} from './test-file.ts';

/**
 * Runs parsed PromQL test files (test-file.ts) against a PromQL backend and compares results the
 * way upstream's harness does (`promql/promqltest/test.go`, Prometheus 3.x):
 *
 * - floats match within a relative error of 1e-6 (`util/almost.Equal`: exact equality first, an
 *   absolute bound of 1e-6 * the smallest normal float when either side is zero), NaN equals NaN
 *   (a stale marker is a NaN too);
 * - a vector compares as a set of label sets unless the eval is ordered; a matrix must come sorted
 *   by labels; label sets compare exactly;
 * - `expect fail` passes on a query error whose message matches (`msg:` exactly, `regex:` as an
 *   unanchored search, or anything); a query that succeeds fails the eval;
 * - every instant eval is run again with `@ <t>` on each selector and subquery that has none (not
 *   inside a subquery), at eval times -10t, 0, t/5, t, 10t (-1s, 0, 1s when t is 0) - unless the
 *   query calls a function whose result depends on the evaluation time (`time`, `timestamp`,
 *   `predict_linear`, the date functions, start(), end(), range(), step()) - and each of those
 *   runs is repeated as a range query from t-1m to t+1m step 1m, its middle point compared; not
 *   for `expect string` and `expect range vector` evals, nor for queries calling start(), end(),
 *   range() or step(); ordered evals skip the middle-point comparison (range results are sorted
 *   by labels).
 *
 * Annotations: `expect warn|info` (and `eval_warn|eval_info`) need at least one matching
 * annotation from the engine, and once any such line is present every annotation of that kind
 * must match one; `expect no_warn|no_info` fail on any annotation of the kind, exactly as
 * upstream. An eval without any of those lines ignores annotations. One deliberate difference:
 * sluice's engine works on the AST and reports annotations without Prometheus's trailing
 * ` (line:col)` position, so positions are not compared (a trailing position is dropped from
 * `msg:` texts, from `regex:` patterns and from the engine's annotations before matching).
 *
 * Skipped, with the reason: evals whose expected values are native histograms, evals selecting
 * series that were loaded with native-histogram samples (or by `load_with_nhcb`), queries the
 * parser rejects as experimental or unsupported syntax, and file constructs test-file.ts does not
 * support. A line that does not parse is a failure.
 */

/** What the runner needs from a PromQL implementation; the engine backend is `engineBackend()`. */
export interface PromQLBackend {
  readonly name: string;
  /**
   * Throws a parse error; one marked unsupported/experimental skips the eval. `durations` are the
   * step and range of the query the eval runs (step 0 and range 0 for an instant eval), for
   * `step()` and `range()` in duration expressions.
   */
  parse(text: string, durations?: QueryDurations): Expr;
  instantQuery(queryable: Queryable, expr: Expr, timeMs: number): Promise<QueryResult>;
  rangeQuery(queryable: Queryable, expr: Expr, startMs: number, endMs: number, stepMs: number): Promise<QueryResult>;
  /** A reason to skip when `error` (from `parse`) is syntax sluice does not support yet; null otherwise. */
  unsupported(error: unknown): string | null;
}

/**
 * sluice's engine over the in-memory store, set up as upstream's test engine is: lookback 5m, 1m
 * subquery step without one, experimental functions and syntax on.
 */
export function engineBackend(options: EngineOptions = {}): PromQLBackend {
  const engine = new Engine({ experimentalFunctions: true, ...options });
  return {
    name: 'engine',
    parse: (text, durations) => parseExpr(text, { experimental: true, queryDurations: durations, fillModifiers: true, extendedRangeSelectors: true }),
    instantQuery: async (queryable, expr, timeMs) => engine.instantQuery(queryable, expr, timeMs),
    rangeQuery: async (queryable, expr, startMs, endMs, stepMs) => engine.rangeQuery(queryable, expr, startMs, endMs, stepMs),
    unsupported(error) {
      if (!(error instanceof PromQLParseError)) return null;
      if (error.code === 'unsupported' || error.code === 'experimental' || error.experimental) return `unsupported syntax: ${error.reason}`;
      return null;
    },
  };
}

export type CaseResult =
  | { readonly status: 'passed'; readonly line: number; readonly title: string }
  | { readonly status: 'failed'; readonly line: number; readonly title: string; readonly message: string }
  | { readonly status: 'skipped'; readonly line: number; readonly title: string; readonly reason: string };

export interface FileResult {
  readonly file: string;
  readonly cases: readonly CaseResult[];
}

/** Relative tolerance of float comparisons (upstream's defaultEpsilon). */
export const EPSILON = 1e-6;
const MIN_NORMAL = 2.2250738585072014e-308;

/** Upstream's `almost.Equal`. */
export function almostEqual(a: number, b: number, epsilon = EPSILON): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < MIN_NORMAL) return diff < epsilon * MIN_NORMAL;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

/** Parses and runs one test file. `file` names it in results. */
export async function runTestFile(text: string, file: string, backend: PromQLBackend): Promise<FileResult> {
  return runCommands(parseTestFile(text), file, backend);
}

/** A one-line title of a command: `eval instant at 50m sum(foo)`. */
export function commandTitle(command: TestCommand): string {
  switch (command.kind) {
    case 'eval':
      return `${command.header} ${command.expr}`;
    case 'load':
      return `load ${command.intervalMs}ms`;
    case 'clear':
      return 'clear';
    case 'skip':
    case 'invalid':
      return command.text;
  }
}

export async function runCommands(commands: readonly TestCommand[], file: string, backend: PromQLBackend): Promise<FileResult> {
  const storage = new TestStorage();
  const cases: CaseResult[] = [];
  for (const command of commands) {
    const title = commandTitle(command);
    switch (command.kind) {
      case 'clear':
        storage.clear();
        break;
      case 'load':
        storage.load(command);
        break;
      case 'skip':
        if (command.load) storage.load(command.load);
        storage.shadow(command.shadowedSeries);
        cases.push({ status: 'skipped', line: command.line, title, reason: command.reason });
        break;
      case 'invalid':
        cases.push({ status: 'failed', line: command.line, title, message: `cannot read the test file: ${command.message}` });
        break;
      case 'eval':
        cases.push(await runEval(command, storage, backend, file));
        break;
    }
  }
  return { file, cases };
}

/** The loaded series of a test file, as upstream's test storage: additive loads, `clear` wipes. */
class TestStorage {
  private series = new Map<string, { labels: Labels; samples: Map<number, number> }>();
  /** Series with samples sluice cannot load (native histograms): evals selecting them are skipped. */
  shadowed: Labels[] = [];
  private cached: MemoryQueryable | null = null;

  clear(): void {
    this.series.clear();
    this.shadowed = [];
    this.cached = null;
  }

  load(command: LoadCommand): void {
    for (const s of command.series) {
      const key = s.labels.join('\u0000');
      let entry = this.series.get(key);
      if (!entry) this.series.set(key, (entry = { labels: s.labels, samples: new Map() }));
      let histogram = false;
      s.values.forEach((v, i) => {
        if (v.kind === 'float') entry.samples.set(i * command.intervalMs, v.value);
        else if (v.kind === 'histogram') histogram = true;
      });
      if (histogram) this.shadowed.push(s.labels);
    }
    this.cached = null;
  }

  shadow(series: readonly Labels[]): void {
    this.shadowed.push(...series);
  }

  queryable(): Queryable {
    if (this.cached) return this.cached;
    const input = [...this.series.values()].map(({ labels, samples }) => {
      const ts = Float64Array.from(samples.keys()).sort();
      // A typed array, not a JS array: V8 may canonicalise NaN payloads (the stale marker) in those.
      const values = new Float64Array(ts.length);
      for (let i = 0; i < ts.length; i++) values[i] = samples.get(ts[i])!;
      return { labels, ts, values };
    });
    return (this.cached = new MemoryQueryable(input));
  }
}

async function runEval(cmd: EvalCommand, storage: TestStorage, backend: PromQLBackend, file: string): Promise<CaseResult> {
  const title = commandTitle(cmd);
  const where = `${file}:${cmd.line}`;
  const skip = (reason: string): CaseResult => ({ status: 'skipped', line: cmd.line, title, reason });
  const fail = (message: string): CaseResult => ({ status: 'failed', line: cmd.line, title, message: `${where}: ${title}\n${message}` });

  if (cmd.nativeHistograms) return skip('native histograms in the expected result');
  let expr: Expr;
  try {
    expr = backend.parse(cmd.expr, queryDurations(cmd));
  } catch (error) {
    const reason = backend.unsupported(error);
    if (reason !== null) return skip(reason);
    if (cmd.fail !== null && isQueryFailure(error)) {
      // Prometheus finds some errors at run time that sluice's parser finds earlier; the user sees a failed query either way.
      const mismatch = checkFailure(cmd.fail, error);
      return mismatch === null ? { status: 'passed', line: cmd.line, title } : fail(mismatch);
    }
    return fail(`parse error: ${errorText(error)}`);
  }
  const shadowed = selectedShadowedSeries(expr, storage.shadowed);
  if (shadowed !== null) return skip(`native histograms in the selected series (${formatLabels(shadowed)})`);

  const queryable = storage.queryable();
  try {
    const problem = cmd.timing.kind === 'range' ? await runRangeEval(cmd, expr, queryable, backend) : await runInstantEval(cmd, expr, queryable, backend);
    return problem === null ? { status: 'passed', line: cmd.line, title } : fail(problem);
  } catch (error) {
    // Not a query error: a bug in the engine (or the runner), reported as a failure of this eval.
    return fail(`unexpected exception: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

/** The step and range of the query an eval runs, as Prometheus's durationVisitor sees them. */
export function queryDurations(cmd: Pick<EvalCommand, 'timing'>): QueryDurations {
  return cmd.timing.kind === 'range'
    ? { stepMs: cmd.timing.stepMs, rangeMs: cmd.timing.endMs - cmd.timing.startMs }
    : { stepMs: 0, rangeMs: 0 };
}

/** A query that failed as a query can: a QueryError or a parse error. Anything else is a bug. */
function isQueryFailure(error: unknown): boolean {
  return error instanceof QueryError || (error instanceof Error && error.name === 'PromQLParseError');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Attempt = { ok: true; result: QueryResult } | { ok: false; error: unknown };

async function attempt(run: () => Promise<QueryResult>): Promise<Attempt> {
  try {
    return { ok: true, result: await run() };
  } catch (error) {
    if (!isQueryFailure(error)) throw error;
    return { ok: false, error };
  }
}

async function runRangeEval(cmd: EvalCommand, expr: Expr, queryable: Queryable, backend: PromQLBackend): Promise<string | null> {
  if (cmd.timing.kind !== 'range') throw new Error('bug: runRangeEval on an instant eval');
  const { startMs, endMs, stepMs } = cmd.timing;
  const res = await attempt(() => backend.rangeQuery(queryable, expr, startMs, endMs, stepMs));
  if (!res.ok) return cmd.fail !== null ? checkFailure(cmd.fail, res.error) : `query failed: ${errorText(res.error)}`;
  if (cmd.fail !== null) return `expected the query to fail, but it returned:\n${formatValue(res.result.value)}`;
  return checkAnnotations(cmd, res.result) ?? withDiff(cmd, res.result.value, compareResult(cmd, res.result.value, { startMs, endMs, stepMs }));
}

/** One instant evaluation upstream performs for an instant eval. */
interface InstantVariant {
  readonly expr: Expr;
  readonly timeMs: number;
  readonly label: string;
}

async function runInstantEval(cmd: EvalCommand, expr: Expr, queryable: Queryable, backend: PromQLBackend): Promise<string | null> {
  if (cmd.timing.kind !== 'instant') throw new Error('bug: runInstantEval on a range eval');
  const t = cmd.timing.timeMs;
  const variants: InstantVariant[] = [{ expr, timeMs: t, label: '' }];
  const pinned = atModifierVariant(expr, t);
  if (pinned !== null) {
    const times = t === 0 ? [-1000, 0, 1000] : [-10 * t, 0, Math.trunc(t / 5), t, 10 * t];
    for (const et of times) variants.push({ expr: pinned, timeMs: et, label: `with @ ${t / 1000} on every selector, evaluated at ${et / 1000}s` });
  }
  for (const v of variants) {
    const problem = await runInstantVariant(cmd, v, queryable, backend);
    if (problem !== null) return v.label === '' ? problem : `${v.label}: ${problem}`;
  }
  return null;
}

async function runInstantVariant(cmd: EvalCommand, v: InstantVariant, queryable: Queryable, backend: PromQLBackend): Promise<string | null> {
  const res = await attempt(() => backend.instantQuery(queryable, v.expr, v.timeMs));
  if (!res.ok) return cmd.fail !== null ? checkFailure(cmd.fail, res.error) : `query failed: ${errorText(res.error)}`;
  if (cmd.fail !== null) return `expected the query to fail, but it returned:\n${formatValue(res.result.value)}`;
  const matrixTiming = cmd.rangeVector ?? { startMs: v.timeMs, endMs: null, stepMs: 0 };
  const problem = checkAnnotations(cmd, res.result) ?? withDiff(cmd, res.result.value, compareResult(cmd, res.result.value, matrixTiming));
  if (problem !== null) return problem;

  if (cmd.excludeFromRangeQuery || QUERY_CONTEXT_FUNCS.test(cmd.expr)) return null;
  const range = await attempt(() => backend.rangeQuery(queryable, v.expr, v.timeMs - 60_000, v.timeMs + 60_000, 60_000));
  if (!range.ok) return `range mode (t-1m to t+1m step 1m): query failed: ${errorText(range.error)}`;
  if (cmd.ordered) return null;
  const value = range.result.value;
  if (value.type !== 'matrix') return `range mode: expected a matrix, got a ${value.type}`;
  const unsorted = matrixUnsorted(value.series);
  if (unsorted !== null) return `range mode: ${unsorted}`;
  const samples: Sample[] = [];
  for (const s of value.series) {
    const i = s.ts.indexOf(v.timeMs);
    if (i >= 0) samples.push({ labels: s.labels, t: v.timeMs, v: s.values[i] });
  }
  let middle: QueryValue;
  if (res.result.value.type === 'scalar') {
    if (samples.length === 0) return `range mode: the scalar query returned no point at the middle step\n  got: ${formatValue(value)}`;
    middle = { type: 'scalar', t: v.timeMs, v: samples[0].v };
  } else {
    middle = { type: 'vector', samples };
  }
  const mismatch = withDiff(cmd, middle, compareResult(cmd, middle, matrixTiming));
  return mismatch === null ? null : `range mode (t-1m to t+1m step 1m, middle point): ${mismatch}`;
}

const QUERY_CONTEXT_FUNCS = /(start|end|range|step)\(\)/i;

/**
 * Functions whose result can change with the evaluation time alone: upstream's
 * AtModifierUnsafeFunctions, plus the query-context functions start(), end(), range() and step()
 * (Prometheus 3.14's own tests, `eval instant at 100s start()`, cannot pass an `@` run at -1000s).
 */
const AT_MODIFIER_UNSAFE = new Set([
  'days_in_month', 'day_of_month', 'day_of_week', 'day_of_year', 'hour', 'minute', 'month', 'year',
  'predict_linear', 'time', 'timestamp', 'start', 'end', 'range', 'step',
]);

/**
 * `expr` with `@ timeMs` on every selector and subquery that has no `@` (the selector of a range
 * selector carries it), leaving everything inside a subquery alone; null when the expression calls
 * a function that is not safe under `@` (outside subqueries), as upstream's atModifierTestCases.
 */
export function atModifierVariant(expr: Expr, timeMs: number): Expr | null {
  let unsafe = false;
  const at = { kind: 'timestamp', ms: timeMs } as const;
  const pinSelector = (vs: VectorSelector): VectorSelector => (vs.at === null ? { ...vs, at } : vs);
  const visit = (e: Expr): Expr => {
    switch (e.kind) {
      case 'VectorSelector':
        return pinSelector(e);
      case 'MatrixSelector':
        return { ...e, vector: pinSelector(e.vector) };
      case 'SubqueryExpr':
        return e.at === null ? { ...e, at } : e;
      case 'Call':
        if (AT_MODIFIER_UNSAFE.has(e.func)) unsafe = true;
        return { ...e, args: e.args.map(visit) };
      case 'AggregateExpr':
        return { ...e, expr: visit(e.expr), param: e.param === null ? null : visit(e.param) };
      case 'BinaryExpr':
        return { ...e, lhs: visit(e.lhs), rhs: visit(e.rhs) };
      case 'UnaryExpr':
      case 'ParenExpr':
        return { ...e, expr: visit(e.expr) };
      case 'NumberLiteral':
      case 'StringLiteral':
        return e;
    }
  };
  const out = visit(expr);
  return unsafe ? null : out;
}

/** Every vector selector in `expr`, those inside subqueries and range selectors included. */
export function vectorSelectors(expr: Expr): VectorSelector[] {
  const out: VectorSelector[] = [];
  const visit = (e: Expr): void => {
    switch (e.kind) {
      case 'VectorSelector':
        out.push(e);
        break;
      case 'MatrixSelector':
        out.push(e.vector);
        break;
      case 'SubqueryExpr':
      case 'UnaryExpr':
      case 'ParenExpr':
        visit(e.expr);
        break;
      case 'Call':
        e.args.forEach(visit);
        break;
      case 'AggregateExpr':
        visit(e.expr);
        if (e.param !== null) visit(e.param);
        break;
      case 'BinaryExpr':
        visit(e.lhs);
        visit(e.rhs);
        break;
      case 'NumberLiteral':
      case 'StringLiteral':
        break;
    }
  };
  visit(expr);
  return out;
}

function selectedShadowedSeries(expr: Expr, shadowed: readonly Labels[]): Labels | null {
  if (shadowed.length === 0) return null;
  for (const vs of vectorSelectors(expr)) {
    for (const labels of shadowed) if (matchesAll(vs.matchers, labels)) return labels;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Comparison (upstream's compareResult, checkExpectedFailure, checkAnnotations)

/** The time grid expected matrix values sit on; `endMs` null: an instant query without `expect range vector`. */
export interface MatrixTiming {
  readonly startMs: number;
  readonly endMs: number | null;
  readonly stepMs: number;
}

/** Compares a result with the eval's expectation; the first difference, or null when they match. */
export function compareResult(cmd: EvalCommand, value: QueryValue, timing: MatrixTiming): string | null {
  const expectScalar = cmd.expectScalar !== null;
  switch (value.type) {
    case 'matrix': {
      if (cmd.ordered) return 'expected an ordered result, but the query returned a matrix';
      if (expectScalar) return 'expected a scalar, but the query returned a matrix';
      const unsorted = matrixUnsorted(value.series);
      if (unsorted !== null) return unsorted;
      const expected = expectedByLabels(cmd.expected);
      const seen = new Set<string>();
      for (const s of value.series) {
        const key = labelsKey(s.labels);
        const exp = expected.get(key);
        if (!exp) return `unexpected series ${formatLabels(s.labels)} in the result`;
        seen.add(key);
        const points: { t: number; v: number }[] = [];
        for (let i = 0; i < exp.values.length; i++) {
          const t = timing.startMs + i * timing.stepMs;
          if (timing.endMs === null || t > timing.endMs) {
            return `expected ${exp.values.length} points for ${formatLabels(exp.labels)}, but the query's time range cannot return this many`;
          }
          const e = exp.values[i];
          if (e.kind === 'float') points.push({ t, v: e.value });
        }
        if (points.length !== s.ts.length) {
          return `expected ${points.length} points for ${formatLabels(exp.labels)}, got ${s.ts.length}`;
        }
        for (let i = 0; i < points.length; i++) {
          if (points[i].t !== s.ts[i]) {
            return `point ${i} of ${formatLabels(exp.labels)}: expected timestamp ${points[i].t}, got ${s.ts[i]}`;
          }
          if (!almostEqual(points[i].v, s.values[i])) {
            return `point ${i} (t=${s.ts[i]}) of ${formatLabels(exp.labels)}: expected ${formatNumber(points[i].v)}, got ${formatNumber(s.values[i])}`;
          }
        }
      }
      for (const [key, exp] of expected) if (!seen.has(key)) return `expected series ${formatLabels(exp.labels)} not found`;
      return null;
    }
    case 'vector': {
      if (expectScalar) return 'expected a scalar, but the query returned a vector';
      if (cmd.expectString !== null) return `expected string "${cmd.expectString}", but the query returned a vector`;
      const expected = expectedByLabels(cmd.expected);
      const seen = new Set<string>();
      for (let pos = 0; pos < value.samples.length; pos++) {
        const sample = value.samples[pos];
        const key = labelsKey(sample.labels);
        const exp = expected.get(key);
        if (!exp) return `unexpected series ${formatLabels(sample.labels)} ${formatNumber(sample.v)} in the result`;
        if (cmd.ordered && exp.position !== pos + 1) {
          return `expected ${formatLabels(sample.labels)} at position ${exp.position}, but it was at ${pos + 1}`;
        }
        const first = exp.values[0];
        if (first === undefined) return `no expected value for ${formatLabels(exp.labels)}`;
        const want = first.kind === 'float' ? first.value : 0;
        if (!almostEqual(want, sample.v)) return `expected ${formatNumber(want)} for ${formatLabels(sample.labels)}, got ${formatNumber(sample.v)}`;
        seen.add(key);
      }
      for (const [key, exp] of expected) if (!seen.has(key)) return `expected series ${formatLabels(exp.labels)} not found`;
      return null;
    }
    case 'scalar':
      if (!expectScalar) return `expected a vector or matrix, but the query returned the scalar ${formatNumber(value.v)}`;
      return almostEqual(cmd.expectScalar!, value.v) ? null : `expected scalar ${formatNumber(cmd.expectScalar!)}, got ${formatNumber(value.v)}`;
    case 'string':
      if (cmd.expectString === null) {
        return value.v === '' && cmd.expected.length === 0 && !expectScalar ? null : `expected no string, but the query returned the string ${JSON.stringify(value.v)}`;
      }
      return cmd.expectString === value.v ? null : `expected string ${JSON.stringify(cmd.expectString)}, got ${JSON.stringify(value.v)}`;
  }
}

function expectedByLabels(series: readonly ExpectedSeries[]): Map<string, ExpectedSeries> {
  return new Map(series.map((s) => [labelsKey(s.labels), s]));
}

function labelsKey(labels: Labels): string {
  return labels.join('\u0000');
}

function matrixUnsorted(series: readonly { labels: Labels }[]): string | null {
  for (let i = 0; i + 1 < series.length; i++) {
    if (compareLabels(series[i].labels, series[i + 1].labels) > 0) {
      return `matrix results must be sorted by labels, but ${formatLabels(series[i + 1].labels)} (index ${i + 1}) sorts before ${formatLabels(series[i].labels)} (index ${i})`;
    }
  }
  return null;
}

/** Checks a query error against `expect fail`; null when it matches. */
export function checkFailure(expected: MessageMatch, error: unknown): string | null {
  const message = errorText(error);
  if (matchesMessage(expected, message)) return null;
  return `expected the query to fail with ${describeMatch(expected)}, but it failed with: ${message}`;
}

function matchesMessage(expected: MessageMatch, message: string): boolean {
  switch (expected.kind) {
    case 'any':
      return true;
    case 'msg':
      return expected.text === message;
    case 'regex':
      return expected.regex.test(message);
  }
}

function describeMatch(m: MessageMatch): string {
  return m.kind === 'any' ? 'any error' : m.kind === 'msg' ? `message "${m.text}"` : `an error matching /${m.source}/`;
}

/** An annotation's trailing ` (line:col)`, which sluice's engine does not add. */
const POSITION_SUFFIX = /\s*\(\d+:\d+\)$/;
/** A regex source's trailing `\(...\)` position pattern (`\(1:21\)`, `\([0-9]+:[0-9]+\)`). */
const POSITION_PATTERN_SUFFIX = /\s*\\\((?:[^()\\]|\\[^()])*\\\)\$?$/;

function matchesAnnotation(expected: MessageMatch, annotation: string): boolean {
  const actual = annotation.replace(POSITION_SUFFIX, '');
  switch (expected.kind) {
    case 'any':
      return true;
    case 'msg':
      return expected.text === annotation || expected.text.replace(POSITION_SUFFIX, '') === actual;
    case 'regex':
      if (expected.regex.test(annotation)) return true;
      try {
        return new RegExp(expected.source.replace(POSITION_PATTERN_SUFFIX, '')).test(actual);
      } catch {
        return false;
      }
  }
}

/** Upstream's checkAnnotations (positions aside, see the file comment); null when they satisfy the eval. */
export function checkAnnotations(cmd: EvalCommand, result: QueryResult): string | null {
  const { warnings, infos } = result;
  const list = (xs: readonly string[]) => (xs.length === 0 ? 'none' : xs.map((x) => `"${x}"`).join(', '));
  if (cmd.anyWarn && warnings.length === 0) return 'expected warnings, but got none';
  if (cmd.anyInfo && infos.length === 0) return 'expected info annotations, but got none';
  for (const [kind, expected, actual] of [
    ['warn', cmd.warn, warnings],
    ['info', cmd.info, infos],
  ] as const) {
    if (expected.length === 0) continue;
    if (actual.length === 0) return `expected ${kind} annotations, but got none`;
    for (const e of expected) {
      if (!actual.some((a) => matchesAnnotation(e, a))) return `expected a ${kind} annotation matching ${describeMatch(e)}, found: ${list(actual)}`;
    }
    for (const a of actual) {
      if (!expected.some((e) => matchesAnnotation(e, a))) return `unexpected ${kind} annotation "${a}"`;
    }
  }
  if (cmd.noWarn && warnings.length > 0) return `unexpected warnings: ${list(warnings)}`;
  if (cmd.noInfo && infos.length > 0) return `unexpected info annotations: ${list(infos)}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Rendering for failure messages

function withDiff(cmd: EvalCommand, value: QueryValue, problem: string | null): string | null {
  if (problem === null) return null;
  return `${problem}\n  expected:\n${indent(formatExpected(cmd))}\n  got:\n${indent(formatValue(value))}`;
}

function indent(text: string): string {
  return text === '' ? '    (nothing)' : text.split('\n').map((l) => `    ${l}`).join('\n');
}

export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function formatSequence(values: readonly SequenceValue[]): string {
  return values.map((v) => (v.kind === 'float' ? formatNumber(v.value) : v.kind === 'omitted' ? '_' : v.text)).join(' ');
}

export function formatExpected(cmd: EvalCommand): string {
  if (cmd.expectScalar !== null) return formatNumber(cmd.expectScalar);
  if (cmd.expectString !== null) return JSON.stringify(cmd.expectString);
  return cmd.expected.map((s) => `${formatLabels(s.labels)} ${formatSequence(s.values)}`).join('\n');
}

export function formatValue(value: QueryValue): string {
  switch (value.type) {
    case 'scalar':
      return formatNumber(value.v);
    case 'string':
      return JSON.stringify(value.v);
    case 'vector':
      return value.samples.map((s) => `${formatLabels(s.labels)} ${formatNumber(s.v)}`).join('\n');
    case 'matrix':
      return value.series
        .map((s) => `${formatLabels(s.labels)} ${Array.from(s.values, (v, i) => `${formatNumber(v)}@${s.ts[i] / 1000}s`).join(' ')}`)
        .join('\n');
  }
}
