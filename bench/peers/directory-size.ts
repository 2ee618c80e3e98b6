import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Bytes of every regular file below `dir`; `filter` picks files by their path relative to `dir`. */
export function directorySize(dir: string, filter: (relative: string) => boolean = () => true, prefix = ''): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += directorySize(path, filter, relative);
    else if (entry.isFile() && filter(relative)) total += statSync(path).size;
  }
  return total;
}
