import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { compareLabels, formatLabels, metricName } from '../../model/labels.ts';
import { parseSeriesSelector, SeriesSelectorError } from '../../model/series-selector.ts';
import { ChunkStore } from '../../sinks/chunks/chunk-store.ts';
import { directorySize } from '../../bench/peers/directory-size.ts';
import { UsageError } from '../cli.ts';
import { formatFloat } from '../../model/exposition/writers/common.ts';
import type { StoredSeries } from '../../sinks/chunks/storage.ts';
import type { LabelMatcher } from '../../model/matchers.ts';

const USAGE = 'usage: sluice tsdb stats PATH [--top N] | sluice tsdb dump PATH [SELECTOR...] [--min-time MS] [--max-time MS]';

/**
 * `sluice tsdb stats|dump PATH`: inspects a chunk store directory read-only (safe beside a
 * running sluice: nothing is repaired or moved).
 */
export async function commandTsdb(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '10' },
      'min-time': { type: 'string' },
      'max-time': { type: 'string' },
    },
  });
  const [sub, path, ...selectors] = positionals;
  if ((sub !== 'stats' && sub !== 'dump') || path === undefined) throw new UsageError(USAGE);
  if (!existsSync(path)) {
    process.stderr.write(`sluice tsdb: ${path} does not exist\n`);
    return 1;
  }
  const store = await ChunkStore.open(path, { readOnly: true, logger: pino({ level: 'error' }, pino.destination(2)) });
  try {
    if (sub === 'stats') printStats(store, path, Number(values.top));
    else {
      const mint = values['min-time'] !== undefined ? Number(values['min-time']) : -Infinity;
      const maxt = values['max-time'] !== undefined ? Number(values['max-time']) : Infinity;
      await dump(store, selectors, mint, maxt);
    }
  } finally {
    await store.close();
  }
  return 0;
}

function printStats(store: ChunkStore, path: string, top: number): void {
  const s = store.stats();
  const blocks = store.blockMetas();
  const samples = s.blockSamples + s.head.samples;
  const bytes = directorySize(path);
  const out: string[] = [];
  out.push(`store ${path}`);
  out.push(`  blocks            ${blocks.length}`);
  for (const b of blocks) {
    out.push(
      `    ${b.ulid}  ${new Date(b.minTime).toISOString()} .. ${new Date(b.maxTime).toISOString()}  level ${b.compaction.level}  ` +
        `series ${b.stats.numSeries}  samples ${b.stats.numSamples}  bytes ${b.stats.indexBytes + b.stats.chunkBytes}`,
    );
  }
  out.push(`  head series       ${s.head.series}`);
  out.push(`  head samples      ${s.head.samples} in ${s.head.chunksOpen + s.head.chunksSealed} chunks`);
  out.push(`  WAL               ${s.wal.bytes} bytes in ${s.wal.segments} segments`);
  const series = store.allSeriesLabels();
  out.push(`  series            ${series.length}`);
  out.push(`  samples           ${samples}`);
  out.push(`  bytes on disk     ${bytes}`);
  out.push(`  bytes per sample  ${samples > 0 ? (bytes / samples).toFixed(3) : '-'} (blocks alone: ${s.blockSamples > 0 ? (s.blockBytes / s.blockSamples).toFixed(3) : '-'})`);
  const byMetric = new Map<string, number>();
  for (const labels of series) {
    const name = metricName(labels);
    byMetric.set(name, (byMetric.get(name) ?? 0) + 1);
  }
  out.push(`  top metrics by series:`);
  for (const [name, n] of [...byMetric].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, top)) {
    out.push(`    ${String(n).padStart(8)}  ${name}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Prints `labels value timestamp` per sample, series in label order, as promtool's dump does. */
async function dump(store: ChunkStore, selectors: string[], mint: number, maxt: number): Promise<void> {
  const groups: LabelMatcher[][] = selectors.length === 0 ? [[]] : [];
  for (const text of selectors) {
    try {
      groups.push(...parseSeriesSelector(text).groups.map((g) => [...g]));
    } catch (error) {
      if (error instanceof SeriesSelectorError) throw new UsageError(`invalid selector ${JSON.stringify(text)}: ${error.message}`);
      throw error;
    }
  }
  const q = store.querier(mint, maxt);
  try {
    const found = new Map<string, StoredSeries>();
    for (const group of groups) {
      const set = await q.select(group, mint, maxt);
      for (const w of set.warnings) process.stderr.write(`warning: ${w}\n`);
      for (const s of set.series) found.set(s.labels.join('\u0000'), s);
    }
    const lines: string[] = [];
    for (const s of [...found.values()].sort((a, b) => compareLabels(a.labels, b.labels))) {
      const name = formatLabels(s.labels);
      const c = s.cursor();
      while (c.next()) for (let i = 0; i < c.length; i++) lines.push(`${name} ${formatFloat(c.values[i])} ${c.ts[i]}`);
      if (lines.length > 10_000) process.stdout.write(`${lines.splice(0).join('\n')}\n`);
    }
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    q.close();
  }
}
