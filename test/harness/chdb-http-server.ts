/**
 * ClickHouse's HTTP interface in front of an embedded chDB engine, as a program of its own so a
 * test can kill it (SIGKILL) and start it again on the same port and data directory: a ClickHouse
 * server going away mid-ingest and coming back. No ClickHouse server recent enough for sluice's
 * schema is packaged on this machine; chDB is the same engine, and this front speaks the part of
 * the HTTP protocol `@clickhouse/client` uses, so the client's whole HTTP path runs for real
 * (URL parameters, request bodies, error bodies, sockets that break).
 *
 *   node --import tsx test/harness/chdb-http-server.ts --port 8123 --data-dir DIR
 *
 * prints `listening <port>` on stdout once it accepts requests.
 *
 * What it does as the server does:
 * - `GET /ping` answers `Ok.`;
 * - the statement is the `query` URL parameter followed by the request body (a body alone when
 *   there is no `query`), so `INSERT ... FORMAT X` in the URL with rows in the body works; more
 *   than one statement is refused (`Multi-statements are not allowed`);
 * - `param_<name>` are query parameters, parsed by the engine exactly as the server parses them
 *   (each handed over as `SET param_<name> = '<text>'`);
 * - `database` is the database of unqualified names; `default_format` (TabSeparated when absent)
 *   formats a result whose statement names none;
 * - any other URL parameter is a setting for this request only (set before, back to DEFAULT after);
 * - a request body with `Content-Encoding: gzip` is inflated; a gzip response is sent when the
 *   client asks with `enable_http_compression=1` and `Accept-Encoding: gzip`;
 * - an error answers HTTP 500 with the engine's `Code: N. DB::Exception: ... (NAME)` text and an
 *   `X-ClickHouse-Exception-Code` header, which the client turns into a ClickHouseError.
 *
 * Where it differs: requests run one at a time (the embedded engine has one session), and a query
 * parameter once set stays set for later requests of the same process (the engine has no way to
 * unset one), so a statement that forgets a parameter another request gave is not refused here.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

interface ChdbResult {
  bytes(): Uint8Array;
}
interface ChdbSession {
  queryAsync(sql: string, options?: { format?: string }): Promise<ChdbResult>;
}

/** URL parameters that are part of the protocol, not settings. */
const PROTOCOL_PARAMS = new Set(['query', 'query_id', 'database', 'default_format', 'session_id', 'session_timeout', 'session_check', 'user', 'password', 'role', 'compress', 'decompress']);
/** Settings only the HTTP layer reads; the engine would refuse them as unknown. */
const HTTP_ONLY_SETTINGS = new Set([
  'enable_http_compression',
  'http_zlib_compression_level',
  'wait_end_of_query',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
  'http_send_progress_interval_ms',
  'http_response_buffer_size',
  'http_wait_end_of_query',
  'http_native_compression_disable_checksumming_on_decompress',
]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const sqlString = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function parseArgs(argv: readonly string[]): { port: number; dataDir: string } {
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    if (i < 0 || i + 1 >= argv.length) throw new Error(`usage: chdb-http-server --port N --data-dir DIR (missing ${flag})`);
    return argv[i + 1]!;
  };
  return { port: Number(at('--port')), dataDir: at('--data-dir') };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

/** The engine's error code from its message (`Code: N.`), 1001 (STD_EXCEPTION) when it has none. */
function errorCode(message: string): number {
  const m = /\bCode: (\d+)\./.exec(message);
  return m ? Number(m[1]) : 1001;
}

class Front {
  /** One request at a time: settings and the current database belong to the one engine session. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly session: ChdbSession) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' }).end('Ok.\n');
      return;
    }
    if (url.pathname !== '/') {
      res.writeHead(404).end(`There is no handle ${url.pathname}\n`);
      return;
    }
    const run = this.queue.then(() => this.run(req, res, url));
    this.queue = run.catch(() => undefined);
  }

  private async run(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const queryId = url.searchParams.get('query_id') || randomUUID();
    const headers: Record<string, string> = { 'X-ClickHouse-Query-Id': queryId, 'X-ClickHouse-Server-Display-Name': 'chdb-http' };
    let reset: string[] = [];
    try {
      const body = (await readBody(req)).toString('utf8');
      const inUrl = url.searchParams.get('query');
      const statement = inUrl === null ? body : body.length > 0 ? `${inUrl}\n${body}` : inUrl;
      // A server takes one statement per request; the embedded engine would run several.
      await this.session.queryAsync(`SELECT formatQuery(${sqlString(inUrl ?? body)})`);
      const before: string[] = [];
      for (const [key, value] of url.searchParams) {
        if (PROTOCOL_PARAMS.has(key) || HTTP_ONLY_SETTINGS.has(key)) continue;
        if (!NAME.test(key)) throw new Error(`Code: 115. DB::Exception: Unknown setting '${key}'. (UNKNOWN_SETTING)`);
        before.push(`SET ${key} = ${sqlString(value)}`);
        if (!key.startsWith('param_')) reset.push(`SET ${key} = DEFAULT`);
      }
      const database = url.searchParams.get('database');
      if (database !== null) {
        if (!NAME.test(database)) throw new Error(`Code: 81. DB::Exception: Database ${database} does not exist. (UNKNOWN_DATABASE)`);
        before.push(`USE ${database}`);
        reset.push('USE default');
      }
      const format = url.searchParams.get('default_format') ?? 'TabSeparated';
      const sql = before.length > 0 ? `${before.join('; ')}; ${statement}` : statement;
      const result = Buffer.from((await this.session.queryAsync(sql, { format })).bytes());
      const gzip = url.searchParams.get('enable_http_compression') === '1' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      res.writeHead(200, { ...headers, 'Content-Type': 'text/plain; charset=UTF-8', ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) });
      res.end(gzip ? gzipSync(result) : result);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      res.writeHead(500, { ...headers, 'Content-Type': 'text/plain; charset=UTF-8', 'X-ClickHouse-Exception-Code': String(errorCode(message)) });
      res.end(message.endsWith('\n') ? message : `${message}\n`);
    } finally {
      const undo = reset;
      reset = [];
      if (undo.length > 0) await this.session.queryAsync(undo.join('; ')).catch(() => undefined);
    }
  }
}

const { port, dataDir } = parseArgs(process.argv.slice(2));
const { Session } = createRequire(import.meta.url)('chdb') as { Session: new (path: string) => ChdbSession };
const front = new Front(new Session(dataDir));
const server = createServer((req, res) => front.handle(req, res));
server.keepAliveTimeout = 10_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
