import { pino } from 'pino';
import { labelsFromRecord, type Labels } from '../../../model/labels.ts';
import { ChunkStore } from '../../../sinks/chunks/chunk-store.ts';

/**
 * A chunk store with a small, known data set for the API tests: 40 scrapes at a 15 s interval,
 * offset 7 s from whole minutes (so no sample sits on an evaluation step), from T0 to T0 + 10m.
 *
 *     up{instance="a:1",job="api"}                 1
 *     up{instance="b:1",job="api"}                 0 for the first 20 scrapes, then 1
 *     http_requests_total{code="200",job="api"}    10 k   (k = 0..39)
 *     http_requests_total{code="500",job="api"}    k
 *     temperature_celsius{room="lab <1> & co"}     20 + k/4
 *     http.server.duration{"service.name"="checkout"}  k        (a UTF-8 metric and label name)
 *     special{kind="inf"|"nan"|"small"}            +Inf, NaN, 1e-7
 *     aaaa...ab (LONG_NAME)                        1     (a long name for a catastrophic regex)
 */
export const T0 = 1_700_000_000_000;
export const SCRAPES = 40;
export const INTERVAL = 15_000;
export const OFFSET = 7_000;
export const LONG_NAME = `${'a'.repeat(20_000)}b`;

export const SERIES: readonly Labels[] = [
  labelsFromRecord({ __name__: 'up', job: 'api', instance: 'a:1' }),
  labelsFromRecord({ __name__: 'up', job: 'api', instance: 'b:1' }),
  labelsFromRecord({ __name__: 'http_requests_total', job: 'api', code: '200' }),
  labelsFromRecord({ __name__: 'http_requests_total', job: 'api', code: '500' }),
  labelsFromRecord({ __name__: 'temperature_celsius', room: 'lab <1> & co' }),
  labelsFromRecord({ __name__: 'http.server.duration', 'service.name': 'checkout' }),
  labelsFromRecord({ __name__: 'special', kind: 'inf' }),
  labelsFromRecord({ __name__: 'special', kind: 'nan' }),
  labelsFromRecord({ __name__: 'special', kind: 'small' }),
  labelsFromRecord({ __name__: LONG_NAME }),
];

function valueOf(series: number, k: number): number {
  switch (series) {
    case 0:
      return 1;
    case 1:
      return k < 20 ? 0 : 1;
    case 2:
      return 10 * k;
    case 3:
      return k;
    case 4:
      return 20 + k / 4;
    case 5:
      return k;
    case 6:
      return Infinity;
    case 7:
      return NaN;
    case 8:
      return 1e-7;
    default:
      return 1;
  }
}

/** Writes the data set and metric metadata into a new store at `dir`, then closes it. */
export async function fillStore(dir: string): Promise<void> {
  const store = await ChunkStore.open(dir, { logger: pino({ level: 'silent' }) });
  try {
    for (let k = 0; k < SCRAPES; k++) {
      const n = SERIES.length;
      const refs = Uint32Array.from({ length: n }, (_, i) => i);
      const ts = new Float64Array(n).fill(T0 + OFFSET + k * INTERVAL);
      const values = Float64Array.from({ length: n }, (_, i) => valueOf(i, k));
      await store.append(refs, (ref) => SERIES[ref], ts, values, n);
    }
    store.updateMetadata([
      { family: 'up', type: 'gauge', help: 'Whether the target is up.', unit: '' },
      { family: 'http_requests_total', type: 'counter', help: 'Requests served, by status code.', unit: '' },
      { family: 'temperature_celsius', type: 'gauge', help: 'Room temperature <°C>.', unit: 'celsius' },
    ]);
  } finally {
    await store.close();
  }
}
