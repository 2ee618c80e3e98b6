import type { Component, ComponentKind } from './component.ts';
import type { ComponentCatalog } from './topology/compile.ts';
import { natsSource } from '../sources/nats/nats-source.ts';
import { relabelOperator } from '../operators/relabel/relabel.ts';
import { downsampleOperator } from '../operators/downsample/downsample.ts';
import { blackholeSink } from '../sinks/blackhole/blackhole-sink.ts';
import { chunksSink } from '../sinks/chunks/chunks-sink.ts';
import { clickhouseSink } from '../sinks/clickhouse/clickhouse-sink.ts';
import { fileSink } from '../sinks/file/file-sink.ts';
import { natsSink } from '../sinks/nats/nats-sink.ts';

/** Every component type sluice knows, one line each. A new component is added here and nowhere else. */
export const COMPONENTS: readonly Component[] = [
  natsSource,
  relabelOperator,
  downsampleOperator,
  blackholeSink,
  chunksSink,
  clickhouseSink,
  fileSink,
  natsSink,
];

export class ComponentRegistry implements ComponentCatalog {
  private readonly byKey = new Map<string, Component>();

  constructor(components: readonly Component[] = COMPONENTS) {
    for (const c of components) {
      const key = `${c.kind}/${c.type}`;
      if (this.byKey.has(key)) throw new Error(`bug: component ${key} registered twice`);
      this.byKey.set(key, c);
    }
  }

  lookup(kind: ComponentKind, type: string): Component | undefined {
    return this.byKey.get(`${kind}/${type}`);
  }

  types(kind: ComponentKind): string[] {
    return [...this.byKey.values()].filter((c) => c.kind === kind).map((c) => c.type).sort();
  }
}
