import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WriteAheadLog } from './wal.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const WRITER = join(HERE, 'testdata', 'wal-writer.ts');
const RUNS = 20;

/** Runs the writer until its first acknowledgement plus a random delay, SIGKILLs it, returns the acknowledged sequence numbers. */
function runAndKill(dir: string, start: number, extraMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(start)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: number[] = [];
    let partial = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!; // an unterminated line was not fully acknowledged
      for (const line of lines) acked.push(Number(line));
      if (!timer && acked.length > 0) timer = setTimeout(() => child.kill('SIGKILL'), extraMs);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code ?? signal}: ${stderr}`));
      else if (acked.length === 0) reject(new Error(`writer acknowledged nothing before the kill: ${stderr}`));
      else resolve(acked);
    });
  });
}

describe('WriteAheadLog: crash safety', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged record through ${RUNS} SIGKILLs`, { timeout: 90_000 }, async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-wal-crash-'));
    const acked = new Set<number>();
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let run = 0; run < RUNS; run++) {
      for (const seq of await runAndKill(dir, run * 1_000_000, Math.floor(random() * 250))) acked.add(seq);

      const wal = await WriteAheadLog.open(dir);
      const seen = new Set<number>();
      let mismatched = 0;
      const report = await wal.replay((r) => {
        if (r.kind !== 'samples') return;
        // Checkpoints regroup samples, so check each one: ts and value both carry the number.
        for (let i = 0; i < r.refs.length; i++) {
          if (r.values[i] !== r.ts[i]) mismatched++;
          seen.add(r.ts[i]);
        }
      });
      expect(mismatched).toBe(0);
      await wal.close();
      const missing = [...acked].filter((s) => !seen.has(s));
      expect(missing, `run ${run}: acknowledged but not replayed`).toEqual([]);
      // At most a torn tail of the last segment, and then repaired.
      for (const c of report.corruptions) {
        expect(c, `run ${run}`).toMatchObject({ repaired: true });
        expect(c.recordsLost).toBe(0);
      }
      expect(report.corruptions.length).toBeLessThanOrEqual(1);
      if (report.corruptions.length === 1) expect(report.corruptions[0].file).toMatch(/^\d{8}$/);
    }
    expect(acked.size).toBeGreaterThan(RUNS);
  });
});
