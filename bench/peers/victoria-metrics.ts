import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writerFor } from '../../model/exposition/writers/index.ts';
import { freePort } from '../../pipelines/services/free-port.ts';
import type { DatasetSeries } from '../dataset-series.ts';
import { debianPackageVersion, findPeer } from './peer-binaries.ts';
import type { PeerStorageSize } from './prometheus-tsdb.ts';

async function waitReady(base: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('victoria-metrics did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sum of `metric{...}` values in a Prometheus text page whose labels contain `labelFilter`. */
function sumMetric(page: string, metric: string, labelFilter: (labels: string) => boolean): number {
  let sum = 0;
  for (const line of page.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.indexOf('}');
    if (labelFilter(line.slice(metric.length + 1, close))) sum += Number(line.slice(close + 1).trim());
  }
  return sum;
}

/**
 * VictoriaMetrics on the same samples: imported through `/api/v1/import/prometheus`, flushed and
 * merged, then sized by its own `vm_data_size_bytes` (all types; data parts alone as dataBytes).
 */
export async function victoriaMetricsSize(data: DatasetSeries): Promise<PeerStorageSize | { peer: string; unavailable: string }> {
  const binary = findPeer('victoria-metrics');
  if (!binary) return { peer: 'victoriametrics', unavailable: 'victoria-metrics not installed (apt-get install victoria-metrics)' };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-peer-vm-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    binary,
    [`-storageDataPath=${join(dir, 'data')}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-loggerLevel=ERROR'],
    { stdio: 'ignore' },
  );
  try {
    await waitReady(base);
    const writer = writerFor('prom');
    const batch: string[] = [];
    let batchSamples = 0;
    const send = async () => {
      if (batch.length === 0) return;
      const res = await fetch(`${base}/api/v1/import/prometheus`, { method: 'POST', body: batch.join('') });
      if (!res.ok) throw new Error(`import failed: ${res.status} ${await res.text()}`);
      batch.length = 0;
      batchSamples = 0;
    };
    const decoder = new TextDecoder();
    for (let i = 0; i < data.labels.length; i++) {
      const n = data.ts[i].length;
      const labels = data.labels[i];
      batch.push(decoder.decode(writer.write({ refs: new Uint32Array(n), ts: data.ts[i], values: data.values[i], length: n }, () => labels)));
      batchSamples += n;
      if (batchSamples >= 100_000) await send();
    }
    await send();
    await fetch(`${base}/internal/force_flush`);
    const merged = await fetch(`${base}/internal/force_merge`);
    if (!merged.ok) throw new Error(`force_merge failed: ${merged.status}`);
    // force_merge returns once the merge ran; give the size gauges a moment to refresh.
    await new Promise((r) => setTimeout(r, 2000));
    const page = await (await fetch(`${base}/metrics`)).text();
    const version = (page.match(/vm_app_version\{[^}]*version="([^"]+)"/) ?? [])[1] ?? debianPackageVersion('victoria-metrics') ?? 'unknown';
    return {
      peer: 'victoriametrics',
      version,
      totalBytes: sumMetric(page, 'vm_data_size_bytes', () => true),
      dataBytes: sumMetric(page, 'vm_data_size_bytes', (l) => l.includes('type="storage/')),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}
