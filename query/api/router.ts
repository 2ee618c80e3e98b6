import type { IncomingMessage, ServerResponse } from 'node:http';
import { deflateSync, gzipSync } from 'node:zlib';
import { QueryError } from '../promql/engine/types.ts';
import { RawSamplesExpiredError } from '../routing/raw-horizon.ts';
import { UnsupportedQueryError } from '../sql/errors.ts';
import { readForm } from './form.ts';
import { buildInfoHandler, metadataHandler } from './metadata-handlers.ts';
import { formatQueryHandler, queryHandler, queryRangeHandler } from './query-handlers.ts';
import { ApiError, errorBody, statusCodeOf, successBody } from './responses.ts';
import { labelNamesHandler, labelValuesHandler, seriesHandler } from './series-handlers.ts';
import type { ApiDeps, ApiRequest, Endpoint } from './types.ts';
import { goQuote } from './params.ts';

/**
 * The Prometheus-compatible HTTP API under `/api/v1/`, as a handler to mount into an HTTP server
 * (pipelines/runtime/api-server.ts): it answers the paths it owns and returns false for others.
 *
 *     GET|POST /api/v1/query            instant query          (query, time, timeout, lookback_delta, stats)
 *     GET|POST /api/v1/query_range      range query            (query, start, end, step, timeout, lookback_delta, stats)
 *     GET|POST /api/v1/format_query     the query, printed     (query)
 *     GET|POST /api/v1/series           series by match[]      (match[], start, end, limit)
 *     GET|POST /api/v1/labels           label names            (match[], start, end, limit)
 *     GET      /api/v1/label/<name>/values  label values      (match[], start, end, limit; `U__` escaped names)
 *     GET      /api/v1/metadata         metric metadata        (metric, limit, limit_per_metric)
 *     GET      /api/v1/status/buildinfo build information
 *     OPTIONS  /api/v1/*                CORS preflight (204)
 *
 * POST takes the parameters as an application/x-www-form-urlencoded body (body values first,
 * then the URL's). Responses are gzip- or deflate-compressed when the client accepts it, and
 * carry CORS headers when the request has an Origin, as Prometheus's do.
 */
interface Route {
  readonly pattern: RegExp;
  readonly params: readonly string[];
  readonly methods: readonly string[];
  readonly endpoint: Endpoint;
}

const GET_POST = ['GET', 'POST'];
const GET = ['GET'];

const ROUTES: readonly Route[] = [
  { pattern: /^\/api\/v1\/query$/, params: [], methods: GET_POST, endpoint: queryHandler },
  { pattern: /^\/api\/v1\/query_range$/, params: [], methods: GET_POST, endpoint: queryRangeHandler },
  { pattern: /^\/api\/v1\/format_query$/, params: [], methods: GET_POST, endpoint: formatQueryHandler },
  { pattern: /^\/api\/v1\/series$/, params: [], methods: GET_POST, endpoint: seriesHandler },
  { pattern: /^\/api\/v1\/labels$/, params: [], methods: GET_POST, endpoint: labelNamesHandler },
  { pattern: /^\/api\/v1\/label\/([^/]+)\/values$/, params: ['name'], methods: GET, endpoint: labelValuesHandler },
  { pattern: /^\/api\/v1\/metadata$/, params: [], methods: GET, endpoint: metadataHandler },
  { pattern: /^\/api\/v1\/status\/buildinfo$/, params: [], methods: GET, endpoint: buildInfoHandler },
];

const CORS_HEADERS: Readonly<Record<string, string>> = {
  'Access-Control-Allow-Headers': 'Accept, Authorization, Content-Type, Origin',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Expose-Headers': 'Date',
  Vary: 'Origin',
};

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createApiHandler(deps: ApiDeps): RequestHandler {
  return (req, res) => {
    if (!(req.url ?? '').startsWith('/api/v1/')) return false;
    let url: URL;
    try {
      url = new URL(req.url!, 'http://localhost');
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('400 Bad Request\n');
      return true;
    }
    const path = url.pathname;
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      setCors(req, res, deps.corsOrigin);
      res.writeHead(204).end();
      return true;
    }
    for (const route of ROUTES) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (!route.methods.includes(method)) {
        res.writeHead(405, { 'Content-Type': 'text/plain; charset=utf-8', Allow: [...route.methods, 'OPTIONS'].join(', ') });
        res.end('Method Not Allowed\n');
        return true;
      }
      void serve(route, m, url, req, res, deps);
      return true;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('404 page not found\n');
    return true;
  };
}

async function serve(route: Route, m: RegExpExecArray, url: URL, req: IncomingMessage, res: ServerResponse, deps: ApiDeps): Promise<void> {
  const controller = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  setCors(req, res, deps.corsOrigin);
  try {
    const params: Record<string, string> = {};
    route.params.forEach((name, i) => (params[name] = decodePathSegment(m[i + 1])));
    const request: ApiRequest = { form: await readForm(req, url), params, signal: controller.signal };
    const reply = await route.endpoint(request, deps);
    if (reply === null) {
      res.writeHead(204).end();
      return;
    }
    send(req, res, 200, successBody(reply.data, reply.warnings, reply.infos));
  } catch (error) {
    const { type, message } = classify(error);
    if (type === 'internal') deps.logger.error({ err: error, path: url.pathname }, 'API request failed');
    if (res.headersSent || res.destroyed) return;
    send(req, res, statusCodeOf(type), errorBody(type, message));
  }
}

function classify(error: unknown): { type: ApiError['errorType']; message: string } {
  if (error instanceof ApiError) return { type: error.errorType, message: error.message };
  if (error instanceof QueryError) return { type: error.errorType, message: error.message };
  // A construct the ClickHouse tier cannot answer at the resolution asked for: the query's fault, 422.
  if (error instanceof UnsupportedQueryError || error instanceof RawSamplesExpiredError) return { type: 'execution', message: error.message };
  return { type: 'internal', message: error instanceof Error ? error.message : String(error) };
}

/** A path segment, percent-decoded; one that is not UTF-8 is refused as Prometheus refuses the name. */
function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError('bad_data', `invalid label name: ${goQuote(segment)}`);
  }
}

function setCors(req: IncomingMessage, res: ServerResponse, origin: RegExp | undefined): void {
  const requestOrigin = req.headers.origin;
  if (!requestOrigin) return;
  for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
  if (origin === undefined) res.setHeader('Access-Control-Allow-Origin', '*');
  else if (origin.test(requestOrigin)) res.setHeader('Access-Control-Allow-Origin', requestOrigin);
}

/** Writes a JSON body, compressed as Prometheus's CompressionHandler would (first of gzip/deflate listed). */
function send(req: IncomingMessage, res: ServerResponse, status: number, body: string): void {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  let payload: Buffer = Buffer.from(body, 'utf8');
  for (const token of String(req.headers['accept-encoding'] ?? '').split(',')) {
    const encoding = token.trim();
    if (encoding === 'gzip') payload = gzipSync(payload);
    else if (encoding === 'deflate') payload = deflateSync(payload);
    else continue;
    headers['Content-Encoding'] = encoding;
    break;
  }
  headers['Content-Length'] = String(payload.length);
  res.writeHead(status, headers).end(payload);
}
