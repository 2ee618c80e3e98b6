import type { IncomingMessage } from 'node:http';
import { ApiError } from './responses.ts';

/**
 * A request's parameters as Go's `r.Form` holds them: the values of an
 * `application/x-www-form-urlencoded` POST body first, then those of the URL query. `get` is Go's
 * `FormValue` (the first value, '' when absent); `all` is `r.Form[name]`.
 */
export class Form {
  constructor(private readonly values: ReadonlyMap<string, readonly string[]>) {}

  get(name: string): string {
    return this.values.get(name)?.[0] ?? '';
  }

  all(name: string): readonly string[] {
    return this.values.get(name) ?? [];
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  static of(...sources: URLSearchParams[]): Form {
    const values = new Map<string, string[]>();
    for (const source of sources) {
      for (const [k, v] of source) {
        const list = values.get(k);
        if (list) list.push(v);
        else values.set(k, [v]);
      }
    }
    return new Form(values);
  }
}

/** Go's limit on a form body (net/http maxFormSize). */
const MAX_FORM_BYTES = 10 << 20;

/** Reads the form of a request: the body only for a form-encoded POST or PUT, as Go's ParseForm. */
export async function readForm(req: IncomingMessage, url: URL): Promise<Form> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if ((req.method === 'POST' || req.method === 'PUT') && type === 'application/x-www-form-urlencoded') {
    const body = await readBody(req, MAX_FORM_BYTES);
    return Form.of(new URLSearchParams(body), url.searchParams);
  }
  return Form.of(url.searchParams);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) {
        failed = true;
        reject(new ApiError('bad_data', 'error parsing form values: http: POST too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (error) => {
      if (!failed) reject(error);
    });
  });
}
