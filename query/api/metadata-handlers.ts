import { compareStrings } from '../../model/labels.ts';
import { ApiError, RawJson, jsonString, toJson } from './responses.ts';
import type { ApiDeps, ApiReply, ApiRequest } from './types.ts';

/**
 * `/api/v1/metadata` and `/api/v1/status/buildinfo`.
 *
 * Metadata is `{"<family>":[{"type","help","unit"}, ...]}`, families in name order. `metric`
 * selects one family; `limit` caps the families (a negative limit is no limit, 0 is none, as in
 * Prometheus), `limit_per_metric` the entries of each. sluice keeps one entry per family (the
 * latest announced), where Prometheus lists each distinct entry its targets report.
 */
export async function metadataHandler(req: ApiRequest, deps: ApiDeps): Promise<ApiReply> {
  const limit = intOrError(req.form.get('limit'), 'limit must be a number');
  const limitPerMetric = intOrError(req.form.get('limit_per_metric'), 'limit_per_metric must be a number');
  const metric = req.form.get('metric');
  const byFamily = new Map<string, Array<{ type: string; help: string; unit: string }>>();
  for (const m of deps.metadata(metric === '' ? undefined : metric)) {
    let list = byFamily.get(m.family);
    if (!list) byFamily.set(m.family, (list = []));
    if (limitPerMetric > 0 && list.length >= limitPerMetric) continue;
    if (!list.some((e) => e.type === m.type && e.help === m.help && e.unit === m.unit)) list.push({ type: m.type, help: m.help, unit: m.unit });
  }
  // Written by hand: a plain object would put integer-like keys ("123") first.
  const parts: string[] = [];
  for (const family of [...byFamily.keys()].sort(compareStrings)) {
    if (limit >= 0 && parts.length >= limit) break;
    parts.push(`${jsonString(family)}:${toJson(byFamily.get(family))}`);
  }
  return { data: new RawJson(`{${parts.join(',')}}`) };
}

/** Parses an optional integer as strconv.Atoi; -1 when absent. */
function intOrError(text: string, message: string): number {
  if (text === '') return -1;
  if (!/^[+-]?\d+$/.test(text)) throw new ApiError('bad_data', message);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new ApiError('bad_data', message);
  return n;
}

export async function buildInfoHandler(_req: ApiRequest, deps: ApiDeps): Promise<ApiReply> {
  const b = deps.buildInfo;
  return {
    data: { version: b.version, revision: b.revision, branch: b.branch, buildUser: b.buildUser, buildDate: b.buildDate, goVersion: b.goVersion },
  };
}
