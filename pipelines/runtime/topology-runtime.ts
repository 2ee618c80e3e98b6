import type { Observable } from 'rxjs';
import type { Logger } from 'pino';
import { MetadataStore } from '../../model/metadata.ts';
import type { StreamBatch } from '../../model/stream.ts';
import { SeriesRegistry } from '../../model/series-registry.ts';
import type {
  ClickHouseData,
  ComponentContext,
  OperatorInstance,
  QueryableData,
  RuntimeServices,
  SinkInstance,
  SourceInstance,
} from '../component.ts';
import { SelfMetrics } from '../self-metrics.ts';
import type { CompiledNode, CompiledTopology } from '../topology/compile.ts';
import { fanOut } from './fan-out.ts';
import { driveSink } from './sink-driver.ts';
import { mergeWithWatermarks } from './watermark-merge.ts';

export interface RuntimeDeps {
  readonly logger: Logger;
  readonly services: RuntimeServices;
  readonly metrics?: SelfMetrics;
  readonly registry?: SeriesRegistry;
}

interface Built {
  readonly sources: Array<{ node: CompiledNode; instance: SourceInstance }>;
  readonly sinks: Array<{ node: CompiledNode; instance: SinkInstance<StreamBatch>; done?: Promise<void> }>;
}

/**
 * Runs a compiled topology: builds every component, wires their streams (fan-in with watermark
 * merging, fan-out with ack retention), starts sinks before sources, and drains in order on stop:
 * sources stop pulling, operators flush as their input completes, sinks finish their writes and
 * close, and only then do sources close their connections (after every ack has settled).
 */
export class TopologyRuntime {
  readonly metrics: SelfMetrics;
  readonly registry: SeriesRegistry;
  readonly metadata = new MetadataStore();
  private built: Built | undefined;
  private stopping: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    readonly topology: CompiledTopology,
    private readonly deps: RuntimeDeps,
  ) {
    this.metrics = deps.metrics ?? new SelfMetrics();
    this.registry = deps.registry ?? new SeriesRegistry();
  }

  /** The first error a stream raised (a bug in an operator or sink driver), if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  async start(): Promise<void> {
    if (this.built) throw new Error('bug: topology started twice');
    const streams = new Map<string, Observable<StreamBatch>>();
    const built: Built = { sources: [], sinks: [] };
    this.built = built;
    const outputOf = (node: CompiledNode, stream: Observable<StreamBatch>) => {
      streams.set(node.name, fanOut(stream, node.outputs.length));
    };
    const inputOf = (node: CompiledNode) => mergeWithWatermarks(node.inputs.map((name) => streams.get(name)!));

    for (const node of this.topology.nodes) {
      const ctx = this.contextFor(node);
      switch (node.component.kind) {
        case 'source': {
          const instance = node.component.build(node.config, ctx) as SourceInstance;
          built.sources.push({ node, instance });
          outputOf(node, instance.output);
          break;
        }
        case 'operator': {
          const instance = node.component.build(node.config, ctx) as OperatorInstance<StreamBatch, StreamBatch>;
          outputOf(node, instance.apply(inputOf(node)));
          break;
        }
        case 'sink': {
          const instance = node.component.build(node.config, ctx) as SinkInstance<StreamBatch>;
          built.sinks.push({ node, instance });
          break;
        }
      }
    }
    for (const sink of built.sinks) await sink.instance.start();
    // Subscribe every sink before any source produces, so no batch is emitted into the void.
    for (const sink of built.sinks) {
      const ctx = this.contextFor(sink.node);
      sink.done = driveSink(inputOf(sink.node), sink.instance, ctx.metrics, ctx.logger).catch((error: unknown) => {
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        this.deps.logger.error({ err: error, component: sink.node.name }, 'stream failed');
      });
    }
    for (const source of built.sources) await source.instance.start();
    this.deps.logger.info(
      { sources: built.sources.length, sinks: built.sinks.length, components: this.topology.nodes.length },
      'topology running',
    );
  }

  /** Started sinks whose stored data can be queried (chunk stores), in topology order. */
  queryableSinks(): Array<{ name: string; data: QueryableData }> {
    const out: Array<{ name: string; data: QueryableData }> = [];
    for (const s of this.built?.sinks ?? []) if (s.instance.queryable) out.push({ name: s.node.name, data: s.instance.queryable });
    return out;
  }

  /** Started sinks writing the ClickHouse tier, in topology order. */
  clickhouseSinks(): Array<{ name: string; data: ClickHouseData }> {
    const out: Array<{ name: string; data: ClickHouseData }> = [];
    for (const s of this.built?.sinks ?? []) if (s.instance.clickhouse) out.push({ name: s.node.name, data: s.instance.clickhouse });
    return out;
  }

  /** Drains and stops; safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    const built = this.built;
    if (!built) return;
    const log = this.deps.logger;
    log.info('draining: sources stop pulling');
    await Promise.all(built.sources.map((s) => s.instance.stop()));
    log.info('draining: waiting for sinks to finish their writes');
    await Promise.all(built.sinks.map((s) => s.done));
    await Promise.all(built.sinks.map((s) => s.instance.close()));
    log.info('draining: acknowledging and closing sources');
    await Promise.all(built.sources.map((s) => s.instance.close()));
    log.info('drained');
  }

  private contextFor(node: CompiledNode): ComponentContext {
    return {
      name: node.name,
      registry: this.registry,
      metadata: this.metadata,
      metrics: this.metrics.forComponent(node.name, node.type),
      logger: this.deps.logger.child({ component: node.name, type: node.type }),
      dataDir: this.topology.dataDir,
      services: this.deps.services,
    };
  }
}
