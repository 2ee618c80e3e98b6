/**
 * The store crash test's victim: opens the chunk store in argv[2] (replaying its WAL), then
 * appends batches from two concurrent loops: batch `seq` holds one sample for each of 50 series at
 * t = seq * 1000 with value seq. It prints seq on stdout only after the append resolved, and runs
 * maintenance (block cuts every minute of data, WAL checkpoints, compaction) as it goes, so a kill
 * lands in any of them. It never stops on its own; the test kills it with SIGKILL.
 */
import { pino } from 'pino';
import { labelsFromRecord } from '../../../model/labels.ts';
import { ChunkStore } from '../chunk-store.ts';

const dir = process.argv[2];
let next = Number(process.argv[3]);
const SERIES = 50;
const labels = Array.from({ length: SERIES }, (_, i) => labelsFromRecord({ __name__: 'crash_test', i: String(i) }));
const store = await ChunkStore.open(dir, { blockDurationMs: 60_000, logger: pino({ level: 'silent' }) });
const refs = Uint32Array.from(labels.keys());

async function loop(lane: number): Promise<void> {
  for (let n = 0; ; n++) {
    const seq = next++;
    const ts = new Float64Array(SERIES).fill(seq * 1000);
    const values = new Float64Array(SERIES).fill(seq);
    await store.append(refs, (r) => labels[r], ts, values, SERIES);
    process.stdout.write(`${seq}\n`);
    if (lane === 0 && n % 20 === 19) await store.maintain();
  }
}

await Promise.all([loop(0), loop(1)]);
