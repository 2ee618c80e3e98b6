import { Gauge, type Registry } from 'prom-client';
import type { ChunkStore } from './chunk-store.ts';

/** Stores by component, per metrics registry: one set of gauges serves every chunks sink. */
const stores = new WeakMap<Registry, Map<string, ChunkStore>>();

/**
 * Registers a chunks sink's store for its gauges on `/metrics`: head series, chunks and samples,
 * heap bytes, WAL size, blocks, bytes on disk, compactions, damaged blocks. Values are read from
 * the store when scraped.
 */
export function registerStoreMetrics(registry: Registry, component: string, store: ChunkStore): () => void {
  let byComponent = stores.get(registry);
  if (!byComponent) {
    byComponent = new Map();
    stores.set(registry, byComponent);
    defineGauges(registry, byComponent);
  }
  byComponent.set(component, store);
  return () => byComponent.delete(component);
}

function defineGauges(registry: Registry, byComponent: Map<string, ChunkStore>): void {
  const gauge = (name: string, help: string, read: (s: ReturnType<ChunkStore['stats']>) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['component'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [component, store] of byComponent) this.set({ component }, read(store.stats()));
      },
    });
  gauge('sluice_chunks_head_series', 'Series in the head.', (s) => s.head.series);
  gauge('sluice_chunks_head_chunks', 'Chunks in the head (open and sealed).', (s) => s.head.chunksOpen + s.head.chunksSealed);
  gauge('sluice_chunks_head_samples', 'Samples in the head.', (s) => s.head.samples);
  gauge('sluice_chunks_head_heap_bytes', 'Approximate memory held by the head.', (s) => s.head.heapBytes);
  gauge('sluice_chunks_wal_bytes', 'Bytes of WAL segments and checkpoint on disk.', (s) => s.wal.bytes);
  gauge('sluice_chunks_wal_segments', 'WAL segment files.', (s) => s.wal.segments);
  gauge('sluice_chunks_wal_fsyncs', 'WAL fsyncs since start.', (s) => s.wal.fsyncs);
  gauge('sluice_chunks_blocks', 'Blocks on disk.', (s) => s.blocks);
  gauge('sluice_chunks_block_samples', 'Samples in blocks on disk.', (s) => s.blockSamples);
  gauge('sluice_chunks_disk_bytes', 'Bytes on disk: blocks and WAL.', (s) => s.blockBytes + s.wal.bytes);
  gauge('sluice_chunks_compactions', 'Block compactions since start.', (s) => s.compactions);
  gauge('sluice_chunks_blocks_cut', 'Blocks cut from the head since start.', (s) => s.blocksCut);
  gauge('sluice_chunks_corrupt_blocks', 'Damaged blocks found (at open or by a query) since start.', (s) => s.corruptBlocks);
}
