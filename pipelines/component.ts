import type { Observable } from 'rxjs';
import type { ClickHouseClient } from '@clickhouse/client';
import type { ZodType } from 'zod';
import type { Logger } from 'pino';
import type { SampleBatch } from '../model/sample-batch.ts';
import type { StreamBatch, StreamKind } from '../model/stream.ts';
import type { SeriesRegistry } from '../model/series-registry.ts';
import type { MetadataStore } from '../model/metadata.ts';
import type { ComponentMetrics } from './self-metrics.ts';
import type { MetricMetadata } from '../model/metadata.ts';
import type { Querier } from '../sinks/chunks/storage.ts';

/**
 * The contract every source, operator and sink exports: `{ kind, type, schema, build }`.
 * `schema` validates the component's own keys (without `type` and `inputs`, which the topology
 * schema owns) purely and strictly; `build` is the only place that may do I/O, and only when the
 * topology is started, never while it is checked.
 */
export interface ComponentContext {
  /** The component's name in the topology. */
  readonly name: string;
  readonly registry: SeriesRegistry;
  readonly metadata: MetadataStore;
  readonly metrics: ComponentMetrics;
  readonly logger: Logger;
  /** The topology's data directory (for WAL, queues, a local nats-server). */
  readonly dataDir: string;
  /** Services the runtime started on this component's behalf (e.g. a local NATS URL). */
  readonly services: RuntimeServices;
}

export interface RuntimeServices {
  /** The NATS URL to use when a component names none: NATS_URL, or a local nats-server. */
  natsUrl(): Promise<string>;
}

export interface SourceInstance {
  /**
   * The batches this source produces. The source itself honours backpressure: it pulls more only
   * while fewer than its in-flight bound of batches are unacknowledged.
   */
  readonly output: Observable<SampleBatch>;
  /** Connects; resolves once the source is ready to produce. */
  start(): Promise<void>;
  /** Stops pulling; `output` completes once what was pulled is emitted. */
  stop(): Promise<void>;
  /** Releases connections after every emitted batch has settled. */
  close(): Promise<void>;
}

/**
 * `In` is what the component's `accepts` admits: the topology compiler refuses any other edge,
 * so an instance never sees a kind it did not declare.
 */
export interface OperatorInstance<In extends StreamBatch = SampleBatch, Out extends StreamBatch = SampleBatch> {
  /** Wraps the merged input stream; completes (after flushing) when the input completes. */
  apply(input: Observable<In>): Observable<Out>;
}

/** Stored data a sink can answer queries over (the chunk store): `sluice run` serves the query API on it. */
export interface QueryableData {
  querier(mint: number, maxt: number): Querier;
  metadata(metric?: string): readonly MetricMetadata[];
  /** The oldest sample time held (Infinity when empty): older queries go to the long-term tier. */
  minTime(): number;
}

/** The ClickHouse database a sink writes: the query API answers older ranges from it. */
export interface ClickHouseData {
  readonly client: ClickHouseClient;
  /** Database holding sluice's tables (an identifier checked by the sink's config). */
  readonly database: string;
}

export interface SinkInstance<In extends StreamBatch = SampleBatch> {
  /** Writes the runtime keeps under way at once (default 1: batches are written in order). */
  readonly concurrency?: number;
  /** Present on sinks whose stored data can be queried, once started. */
  readonly queryable?: QueryableData;
  /** Present on sinks writing the ClickHouse tier, once started. */
  readonly clickhouse?: ClickHouseData;
  start(): Promise<void>;
  /** Resolves once the batch is durable (then the runtime acknowledges it upstream). */
  write(batch: In): Promise<void>;
  /** Flushes and releases resources; called after the input completed and writes settled. */
  close(): Promise<void>;
}

interface ComponentBase<K extends string, C, I> {
  readonly kind: K;
  readonly type: string;
  readonly description: string;
  readonly schema: ZodType<C>;
  build(config: C, ctx: ComponentContext): I;
}

/** A source emits one kind of stream. */
export interface SourceComponent<C = unknown> extends ComponentBase<'source', C, SourceInstance> {
  readonly emits: StreamKind;
}
/** An operator accepts one or more kinds and emits one. */
export interface OperatorComponent<C = unknown, In extends StreamBatch = SampleBatch, Out extends StreamBatch = SampleBatch>
  extends ComponentBase<'operator', C, OperatorInstance<In, Out>> {
  readonly accepts: readonly In['kind'][];
  readonly emits: Out['kind'];
}
/** A sink accepts one or more kinds. */
export interface SinkComponent<C = unknown, In extends StreamBatch = SampleBatch> extends ComponentBase<'sink', C, SinkInstance<In>> {
  readonly accepts: readonly In['kind'][];
}
export type Component = SourceComponent<any> | OperatorComponent<any, any, any> | SinkComponent<any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type ComponentKind = Component['kind'];
