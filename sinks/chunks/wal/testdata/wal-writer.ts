/**
 * The crash test's victim: opens the WAL in argv[2], replays it (repairing a torn tail), then
 * appends numbered samples records from several concurrent loops with fsync 'batch', printing
 * each sequence number on stdout only after its log() resolved. It never stops on its own; the
 * test kills it with SIGKILL. Every record: 100 samples, all with ts = value = the sequence number.
 */
import { WriteAheadLog } from '../wal.ts';

const dir = process.argv[2];
let next = Number(process.argv[3]);
const LOOPS = 4;
const SAMPLES = 100;

const wal = await WriteAheadLog.open(dir, { fsync: 'batch', segmentSize: 256 * 1024 });
await wal.replay(() => undefined);

const refs = Uint32Array.from({ length: SAMPLES }, (_, i) => i);

async function loop(lane: number): Promise<void> {
  const ts = new Float64Array(SAMPLES);
  const values = new Float64Array(SAMPLES);
  for (let n = 0; ; n++) {
    const seq = next++;
    ts.fill(seq);
    values.fill(seq);
    await wal.log([{ kind: 'samples', refs, ts, values }]);
    process.stdout.write(`${seq}\n`);
    // Now and then a checkpoint that keeps everything, so a kill can land inside one too.
    if (lane === 0 && n % 300 === 299) await wal.checkpoint({ liveSeries: () => true, minTime: -Infinity });
  }
}

await Promise.all(Array.from({ length: LOOPS }, (_, lane) => loop(lane)));
