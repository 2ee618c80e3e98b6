import { spawnSync } from 'node:child_process';

/** A peer program on PATH, or undefined (Debian: `apt-get install prometheus victoria-metrics`). */
export function findPeer(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/bin', '/usr/sbin'])) {
    if (!dir) continue;
    const path = `${dir}/${binary}`;
    if (spawnSync(path, ['--version'], { stdio: 'ignore' }).status === 0) return path;
  }
  return undefined;
}
