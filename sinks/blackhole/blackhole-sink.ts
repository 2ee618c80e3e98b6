import type { StreamBatch } from '../../model/stream.ts';
import type { SinkComponent } from '../../pipelines/component.ts';
import { blackholeSinkConfig, type BlackholeSinkConfig } from '../../schemas/blackhole-sink.ts';

/** Accepts and discards every batch at once: for benchmarks and for trying a topology out. */
export const blackholeSink: SinkComponent<BlackholeSinkConfig, StreamBatch> = {
  kind: 'sink',
  accepts: ['samples', 'rollups'],
  type: 'blackhole',
  description: 'Discards every batch (counted in self-metrics); for benchmarks and dry runs.',
  schema: blackholeSinkConfig,
  build: () => ({
    start: async () => {},
    write: async () => {},
    close: async () => {},
  }),
};
