import type { Logger } from 'pino';
import { labelsFromPairs, type Labels } from '../../model/labels.ts';
import type { MetricMetadata } from '../../model/metadata.ts';
import { BatchBuilder } from '../../model/sample-batch.ts';
import type { SeriesRegistry } from '../../model/series-registry.ts';
import { parserFor } from '../../model/exposition/formats.ts';
import { SeriesKeyCache } from '../../model/exposition/series-key-cache.ts';
import type { ExpositionFormat } from '../../model/exposition/types.ts';
import type { ComponentMetrics } from '../../pipelines/self-metrics.ts';
import {
  LABELS_HEADER,
  TIMESTAMP_HEADER,
  parseLabelsHeader,
  routeMessage,
  type HeaderReader,
} from './message-routing.ts';

export interface DecoderSettings {
  readonly format: ExpositionFormat | undefined;
  readonly defaultTenant: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly exemplars: 'keep' | 'drop';
}

/** What became of one message. */
export type DecodeOutcome =
  | { kind: 'samples'; tenant: string; samples: number; errors: number }
  /** Nothing to store and nothing wrong (an empty payload). */
  | { kind: 'empty' }
  /** Nothing usable: redelivery cannot help, so the message is terminated. */
  | { kind: 'unusable'; reason: string };

/** Per tenant: the builder samples accumulate in until the batch is emitted. */
export interface TenantBatch {
  readonly builder: BatchBuilder;
  readonly metadata: MetricMetadata[];
}

/**
 * Turns NATS message payloads into samples. It keeps one series-key cache per (tenant, target
 * labels), so repeated payloads from the same publisher resolve series by their bytes alone.
 * Malformed lines are counted by reason and logged (a few per message); the rest of the payload
 * is still ingested.
 */
export class PayloadDecoder {
  private readonly caches = new Map<string, SeriesKeyCache>();
  private readonly staticLabels: Array<[string, string]>;

  constructor(
    private readonly settings: DecoderSettings,
    private readonly registry: SeriesRegistry,
    private readonly metrics: ComponentMetrics,
    private readonly logger: Logger,
  ) {
    this.staticLabels = Object.entries(settings.labels);
  }

  decode(
    subject: string,
    headers: HeaderReader | undefined,
    payload: Uint8Array,
    fallbackTimeMs: number,
    batchFor: (tenant: string) => TenantBatch,
  ): DecodeOutcome {
    const route = routeMessage(subject, headers, this.settings);
    if (route.format === undefined) {
      this.metrics.error('unknown_format');
      this.logger.warn({ subject }, 'message names no known format (subject metrics.<tenant>.<format> or a Sluice-Format header)');
      return { kind: 'unusable', reason: 'unknown_format' };
    }
    let timestampMs = fallbackTimeMs;
    let labelsHeader = '';
    if (headers) {
      const ts = headers.get(TIMESTAMP_HEADER);
      if (ts !== '') {
        const parsed = Number(ts);
        if (!Number.isFinite(parsed)) {
          this.metrics.error('invalid_header');
          this.logger.warn({ subject, value: ts }, `invalid ${TIMESTAMP_HEADER} header`);
          return { kind: 'unusable', reason: 'invalid_header' };
        }
        timestampMs = parsed;
      }
      labelsHeader = headers.get(LABELS_HEADER);
    }
    const cache = this.cacheFor(route.tenant, labelsHeader);
    if (cache === undefined) {
      this.metrics.error('invalid_header');
      this.logger.warn({ subject, value: labelsHeader }, `invalid ${LABELS_HEADER} header: expected name=value,name=value`);
      return { kind: 'unusable', reason: 'invalid_header' };
    }
    const batch = batchFor(route.tenant);
    const result = parserFor(route.format)(
      payload,
      { defaultTimestampMs: timestampMs, exemplars: this.settings.exemplars },
      { builder: batch.builder, series: cache },
    );
    for (const meta of result.metadata) batch.metadata.push(meta);
    if (result.errorCount > 0) {
      const byReason = new Map<string, number>();
      for (const e of result.errors) byReason.set(e.reason, (byReason.get(e.reason) ?? 0) + 1);
      const unlisted = result.errorCount - result.errors.length;
      if (unlisted > 0) byReason.set('other', (byReason.get('other') ?? 0) + unlisted);
      for (const [reason, n] of byReason) this.metrics.error(`parse_${reason}`, n);
      this.logger.warn(
        {
          subject,
          format: route.format,
          errors: result.errorCount,
          first: result.errors.slice(0, 3).map((e) => `line ${e.line}:${e.column}: ${e.message}`),
        },
        'malformed lines skipped; the rest of the payload was ingested',
      );
    }
    this.metrics.received(result.samples);
    if (result.samples === 0) {
      return result.errorCount > 0 ? { kind: 'unusable', reason: 'unparseable' } : { kind: 'empty' };
    }
    return { kind: 'samples', tenant: route.tenant, samples: result.samples, errors: result.errorCount };
  }

  private cacheFor(tenant: string, labelsHeader: string): SeriesKeyCache | undefined {
    const key = `${tenant}\u0000${labelsHeader}`;
    let cache = this.caches.get(key);
    if (cache) return cache;
    const headerLabels = parseLabelsHeader(labelsHeader);
    if (headerLabels === undefined) return undefined;
    const target: Labels = labelsFromPairs([...this.staticLabels, ...headerLabels]);
    if (this.caches.size >= 10_000) this.caches.clear(); // publishers with ever-new label headers
    cache = new SeriesKeyCache(this.registry, target);
    this.caches.set(key, cache);
    return cache;
  }
}
