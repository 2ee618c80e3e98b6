/** The one entry point of topology compilation that touches the file system. */
import { readFile } from 'node:fs/promises';
import { compileTopology } from './compile.ts';
import type { CompileResult, ComponentCatalog } from './compile.ts';
import type { Env } from './env.ts';

/**
 * Reads and compiles a topology file. A file that cannot be read is reported like any other
 * topology error (at 1:1), so `sluice check` prints one uniform list.
 */
export async function loadTopologyFile(
  path: string,
  catalog: ComponentCatalog,
  env: Env = process.env,
): Promise<CompileResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (cause as Error).message;
    return { ok: false, errors: [{ file: path, line: 1, col: 1, message: `cannot read the topology file: ${why}` }], warnings: [] };
  }
  return compileTopology(text, path, catalog, env);
}
