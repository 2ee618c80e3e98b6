import type { ExpositionFormat } from '../../model/exposition/types.ts';
import { formatFromContentType, isExpositionFormat } from '../../model/exposition/formats.ts';

/** Header naming a message's payload format (`prom`, `openmetrics`, `json`, `influx`). */
export const FORMAT_HEADER = 'Sluice-Format';
/** Header with the event time (unix ms) of samples that carry no timestamp of their own. */
export const TIMESTAMP_HEADER = 'Sluice-Timestamp';
/** Header with target labels for every series in the message: `job=node,instance=host:9100`. */
export const LABELS_HEADER = 'Sluice-Labels';

export interface HeaderReader {
  get(name: string): string;
}

export interface MessageRoute {
  readonly tenant: string;
  readonly format: ExpositionFormat | undefined;
}

/**
 * Tenant and format of a message by the subject convention `metrics.<tenant>.<format>`: the last
 * token names the format and the one before it the tenant. A subject that does not end in a known
 * format names neither. Headers win over the subject; a configured format wins over both.
 */
export function routeMessage(
  subject: string,
  headers: HeaderReader | undefined,
  configured: { format: ExpositionFormat | undefined; defaultTenant: string },
): MessageRoute {
  const tokens = subject.split('.');
  let tenant = configured.defaultTenant;
  let format: ExpositionFormat | undefined;
  const last = tokens[tokens.length - 1];
  if (tokens.length >= 3 && isExpositionFormat(last)) {
    format = last;
    tenant = tokens[tokens.length - 2];
  }
  if (headers) {
    const named = headers.get(FORMAT_HEADER).trim().toLowerCase();
    if (named !== '' && isExpositionFormat(named)) format = named;
    else if (named === '') {
      const contentType = headers.get('Content-Type');
      if (contentType !== '') format = formatFromContentType(contentType) ?? format;
    }
  }
  return { tenant, format: configured.format ?? format };
}

/** Parses the `Sluice-Labels` header value; returns undefined when malformed. */
export function parseLabelsHeader(value: string): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  if (value.trim() === '') return out;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    const name = part.slice(0, eq).trim();
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) return undefined;
    try {
      out.push([name, decodeURIComponent(part.slice(eq + 1).trim())]);
    } catch {
      return undefined; // a malformed %-escape
    }
  }
  return out;
}
