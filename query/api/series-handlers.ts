import { compareLabels, compareStrings, type Labels } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';
import type { Querier } from '../../sinks/chunks/storage.ts';
import { isValidLabelName, unescapeLabelName } from './label-name.ts';
import { invalidParam, limitParam, MAX_TIME_MS, MIN_TIME_MS, goQuote, timeParam } from './params.ts';
import { ApiError, RawJson, labelsJson } from './responses.ts';
import { parseMatchSelectors } from './selectors.ts';
import type { ApiDeps, ApiReply, ApiRequest } from './types.ts';

/**
 * `/api/v1/series`, `/api/v1/labels` and `/api/v1/label/<name>/values`: what series exist, by
 * `match[]` selectors (several are a union) within [`start`, `end`] (default: all time).
 * Results are sorted (series by labels, names and values as strings); with `limit`, the first
 * `limit` are returned with the warning "results truncated due to limit" when there were more.
 */

const TRUNCATED = 'results truncated due to limit';

interface Selection {
  readonly limit: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly sets: LabelMatcher[][];
}

/** `limit`, `start`, `end`, `match[]`, in Prometheus's order; match[] errors as the endpoint words them. */
function selection(req: ApiRequest, wrapMatchError: boolean): Selection {
  const { form } = req;
  const limit = limitParam('limit', form.get('limit'));
  const startMs = timeParam('start', form.get('start'), MIN_TIME_MS);
  const endMs = timeParam('end', form.get('end'), MAX_TIME_MS);
  let sets: LabelMatcher[][];
  try {
    sets = parseMatchSelectors(form.all('match[]'));
  } catch (error) {
    if (wrapMatchError) throw invalidParam('match[]', error);
    throw new ApiError('bad_data', (error as Error).message, { cause: error });
  }
  return { limit, startMs, endMs, sets };
}

async function withQuerier<T>(deps: ApiDeps, s: Selection, fn: (q: Querier) => Promise<T>): Promise<T> {
  let q: Querier;
  try {
    q = deps.queryable.querier(s.startMs, s.endMs);
  } catch (error) {
    throw new ApiError('execution', (error as Error).message, { cause: error });
  }
  try {
    return await fn(q);
  } finally {
    q.close();
  }
}

function truncate<T>(items: T[], limit: number, warnings: string[]): T[] {
  if (limit > 0 && items.length > limit) {
    warnings.push(TRUNCATED);
    return items.slice(0, limit);
  }
  return items;
}

export async function seriesHandler(req: ApiRequest, deps: ApiDeps): Promise<ApiReply> {
  if (req.form.all('match[]').length === 0) throw new ApiError('bad_data', 'no match[] parameter provided');
  const s = selection(req, true);
  return withQuerier(deps, s, async (q) => {
    const warnings: string[] = [];
    const found = new Map<string, Labels>();
    for (const set of s.sets) {
      if (req.signal.aborted) throw new ApiError('canceled', 'context canceled');
      const r = await q.select(set, s.startMs, s.endMs);
      warnings.push(...r.warnings);
      for (const series of r.series) found.set(series.labels.join('\u0000'), series.labels);
    }
    const all = truncate([...found.values()].sort(compareLabels), s.limit, warnings);
    return { data: all.map((l) => new RawJson(labelsJson(l))), warnings };
  });
}

export async function labelNamesHandler(req: ApiRequest, deps: ApiDeps): Promise<ApiReply> {
  const s = selection(req, false);
  return withQuerier(deps, s, async (q) => {
    const names = await union(s.sets, (set) => q.labelNames(set, s.startMs, s.endMs));
    const warnings: string[] = [];
    return { data: truncate(names, s.limit, warnings), warnings };
  });
}

export async function labelValuesHandler(req: ApiRequest, deps: ApiDeps): Promise<ApiReply> {
  const name = unescapeLabelName(req.params.name);
  if (!isValidLabelName(name)) throw new ApiError('bad_data', `invalid label name: ${goQuote(name)}`);
  const s = selection(req, false);
  return withQuerier(deps, s, async (q) => {
    const values = await union(s.sets, (set) => q.labelValues(name, set, s.startMs, s.endMs));
    const warnings: string[] = [];
    return { data: truncate(values, s.limit, warnings), warnings };
  });
}

/** The sorted union of what `fn` finds for each matcher set (no sets: for every series). */
async function union(sets: LabelMatcher[][], fn: (set: LabelMatcher[]) => Promise<string[]>): Promise<string[]> {
  if (sets.length === 0) return [...(await fn([]))].sort(compareStrings);
  const seen = new Set<string>();
  for (const set of sets) for (const v of await fn(set)) seen.add(v);
  return [...seen].sort(compareStrings);
}
