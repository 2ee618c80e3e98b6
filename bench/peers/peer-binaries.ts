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

/** The installed Debian package version of a peer, when dpkg knows it (the binaries' own --version may be blank). */
export function debianPackageVersion(pkg: string): string | undefined {
  const run = spawnSync('dpkg-query', ['-W', '-f', '${Version}', pkg], { encoding: 'utf8' });
  return run.status === 0 && run.stdout.trim() !== '' ? run.stdout.trim() : undefined;
}
