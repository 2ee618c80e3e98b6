import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writerFor } from '../../model/exposition/writers/index.ts';
import type { DatasetSeries } from '../dataset-series.ts';
import { directorySize } from './directory-size.ts';
import { findPeer } from './peer-binaries.ts';

export interface PeerStorageSize {
  readonly peer: string;
  readonly version: string;
  readonly totalBytes: number;
  /** Bytes of sample data alone (Prometheus: chunk files; VictoriaMetrics: data parts). */
  readonly dataBytes: number;
}

/** The dataset as one OpenMetrics file with explicit timestamps, series after series. */
export function datasetAsOpenMetrics(data: DatasetSeries): string {
  const writer = writerFor('openmetrics');
  const parts: string[] = [];
  const decoder = new TextDecoder();
  data.labels.forEach((labels, i) => {
    const n = data.ts[i].length;
    const text = decoder.decode(
      writer.write({ refs: new Uint32Array(n), ts: data.ts[i], values: data.values[i], length: n }, () => labels),
    );
    parts.push(text.endsWith('# EOF\n') ? text.slice(0, -'# EOF\n'.length) : text);
  });
  parts.push('# EOF\n');
  return parts.join('');
}

/**
 * Prometheus's TSDB on the same samples: blocks built by `promtool tsdb create-blocks-from
 * openmetrics`, measured on disk (the whole block directories, and their chunk files alone).
 */
export function prometheusBlockSize(data: DatasetSeries): PeerStorageSize | { peer: string; unavailable: string } {
  const promtool = findPeer('promtool');
  if (!promtool) return { peer: 'prometheus', unavailable: 'promtool not installed (apt-get install prometheus)' };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-peer-prom-'));
  try {
    const input = join(dir, 'input.om');
    writeFileSync(input, datasetAsOpenMetrics(data));
    const out = join(dir, 'blocks');
    const run = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, out], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`promtool failed: ${run.stderr || run.stdout}`);
    const version = (spawnSync(promtool, ['--version'], { encoding: 'utf8' }).stdout.match(/version (\S+)/) ?? [])[1] ?? 'unknown';
    return {
      peer: 'prometheus',
      version,
      totalBytes: directorySize(out),
      dataBytes: directorySize(out, (p) => p.includes('/chunks/')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
