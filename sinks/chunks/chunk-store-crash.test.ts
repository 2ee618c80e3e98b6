import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { ChunkStore } from './chunk-store.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WRITER = fileURLToPath(new URL('./testdata/store-writer.ts', import.meta.url));
const RUNS = 15;

/** Runs the writer until its first acknowledgement plus `extraMs`, SIGKILLs it, returns what it acknowledged. */
function runAndKill(dir: string, start: number, extraMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(start)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let out = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop()!;
      for (const l of lines) acked.push(Number(l));
      if (!timer && acked.length > 0) timer = setTimeout(() => child.kill('SIGKILL'), extraMs);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal}: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('chunk store crash safety', () => {
  it(`keeps every acknowledged sample through ${RUNS} SIGKILLs during appends, block cuts and checkpoints`, { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-store-crash-'));
    try {
      let seed = 7;
      const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
      const acked: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        acked.push(...(await runAndKill(dir, run * 100_000, Math.floor(random() * 400))));
      }
      expect(acked.length).toBeGreaterThan(RUNS);
      const store = await ChunkStore.open(dir, { blockDurationMs: 60_000, logger: pino({ level: 'silent' }) });
      const q = store.querier(-Infinity, Infinity);
      const { series, warnings } = await q.select([], -Infinity, Infinity);
      expect(warnings).toEqual([]);
      expect(series).toHaveLength(50);
      for (const s of series) {
        const have = new Map<number, number>();
        const c = s.cursor();
        while (c.next()) for (let i = 0; i < c.length; i++) have.set(c.ts[i], c.values[i]);
        const missing = acked.filter((seq) => have.get(seq * 1000) !== seq);
        expect(missing, `series ${s.labels.join(',')}`).toEqual([]);
      }
      q.close();
      expect(store.stats().blocks).toBeGreaterThan(0); // kills happened around block cuts too
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
