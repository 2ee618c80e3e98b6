import type { RollupBatch } from './rollup-batch.ts';
import type { SampleBatch } from './sample-batch.ts';

/**
 * What flows on an edge of a topology: raw samples, or rollups (closed windows of a downsample
 * operator). Components declare the kinds they accept and emit; the topology compiler refuses an
 * edge whose kinds do not meet, so a sink never receives a kind it cannot store.
 */
export type StreamBatch = SampleBatch | RollupBatch;
export type StreamKind = StreamBatch['kind'];

export const STREAM_KINDS: readonly StreamKind[] = ['samples', 'rollups'];
