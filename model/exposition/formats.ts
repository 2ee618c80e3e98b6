import { parseInflux } from './influx.ts';
import { parseJsonLines } from './json-lines.ts';
import { parseOpenMetrics } from './openmetrics.ts';
import { parsePrometheusText } from './prometheus-text.ts';
import { EXPOSITION_FORMATS, type ExpositionFormat, type ExpositionParser } from './types.ts';

const PARSERS: Record<ExpositionFormat, ExpositionParser> = {
  prom: parsePrometheusText,
  openmetrics: parseOpenMetrics,
  json: parseJsonLines,
  influx: parseInflux,
};

export function parserFor(format: ExpositionFormat): ExpositionParser {
  return PARSERS[format];
}

export function isExpositionFormat(text: string): text is ExpositionFormat {
  return (EXPOSITION_FORMATS as readonly string[]).includes(text);
}

/**
 * The format a Content-Type names: Prometheus text (`text/plain; version=0.0.4`), OpenMetrics
 * (`application/openmetrics-text`), JSON lines (`application/json`, `application/x-ndjson`,
 * `application/jsonl`) or Influx line protocol (`text/plain` is ambiguous and means Prometheus).
 */
export function formatFromContentType(contentType: string): ExpositionFormat | undefined {
  const mime = contentType.split(';')[0].trim().toLowerCase();
  switch (mime) {
    case 'text/plain':
      return 'prom';
    case 'application/openmetrics-text':
      return 'openmetrics';
    case 'application/json':
    case 'application/x-ndjson':
    case 'application/jsonl':
    case 'application/stream+json':
      return 'json';
    case 'application/x-influx':
    case 'application/vnd.influx':
      return 'influx';
    default:
      return undefined;
  }
}
