import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../pipelines/services/free-port.ts';
import { debianPackageVersion, findPeer } from './peer-binaries.ts';

export interface RunningPrometheus {
  readonly url: string;
  readonly version: string;
  stop(): Promise<void>;
}

/**
 * Builds Prometheus blocks from an OpenMetrics file with `promtool tsdb create-blocks-from
 * openmetrics` into `<dir>/data`, then starts Debian's `prometheus` over them on a free loopback
 * port (no scrape targets, 100 years of retention so old data is kept). Undefined when the
 * binaries are not installed (`apt-get install prometheus`).
 */
export async function startPrometheusOver(dir: string, openMetrics: string): Promise<RunningPrometheus | undefined> {
  mkdirSync(dir, { recursive: true });
  const input = join(dir, 'input.om');
  writeFileSync(input, openMetrics);
  return startPrometheusOverFile(dir, input);
}

/** As `startPrometheusOver`, from an OpenMetrics file already on disk (large inputs are streamed there). */
export async function startPrometheusOverFile(dir: string, input: string): Promise<RunningPrometheus | undefined> {
  const promtool = findPeer('promtool');
  const prometheus = findPeer('prometheus');
  if (!promtool || !prometheus) return undefined;
  mkdirSync(dir, { recursive: true });
  const data = join(dir, 'data');
  const built = spawnSync(promtool, ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', input, data], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`promtool failed: ${built.stderr || built.stdout}`);
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, 'global:\n  scrape_interval: 1h\n');
  const port = await freePort();
  const child: ChildProcess = spawn(
    prometheus,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${data}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=100y',
      '--log.level=error',
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('prometheus did not become ready within 60 s');
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    version: debianPackageVersion('prometheus') ?? 'unknown',
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
