import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import { METRIC_NAME, type Labels } from '../../model/labels.ts';
import type { Rollup } from '../../model/rollup-batch.ts';
import { checkIdentifier } from './schema/migrate.ts';
import { blockToken, type BlockSeries, type InsertBlock, type RollupBlock, type SampleBlock } from './insert-block.ts';
import { seriesId } from './series-id.ts';

/**
 * Writes insert blocks (insert-block.ts) into sluice's ClickHouse tables: the series a block
 * names into `sluice_series` (once per process and series: known ids are cached; the table is a
 * ReplacingMergeTree, so a repeat after a restart is harmless), then its rows into
 * `sluice_samples_raw` or `sluice_rollup_<res>`.
 *
 * Every insert carries an `insert_deduplication_token` derived from the block's rows
 * (`blockToken`): ClickHouse (with `non_replicated_deduplication_window` on the table) drops a
 * block whose token it has already seen, so a retry of an insert that had in fact been written
 * adds nothing. Settings go inline in the statement (`INSERT ... SETTINGS ...`), never through
 * `clickhouse_settings`: on the embedded connection those become a session-wide `SET` that would
 * hand the token to later, unrelated inserts of the same process.
 *
 * Two statement shapes, chosen per row (measured in README.md, "Insert format"):
 * - fast: `INSERT ... FORMAT TabSeparated`, floats as JavaScript's shortest round-trip text
 *   parsed with `precise_float_parsing = 1` (exact), times as `seconds.mmm`;
 * - exact: `INSERT ... SELECT ... FROM format(TabSeparated, ...)` with each float as its two
 *   32-bit halves put back together by `reinterpretAsFloat64`, for what text cannot carry: NaN
 *   payloads (the stale marker 0x7ff0000000000002, Prometheus's NaN 0x7ff8000000000001) and times
 *   outside 2001..2286, whose bare `seconds.mmm` text ClickHouse would read as a date.
 */

export interface WriterOptions {
  /** Database holding sluice's tables (already migrated). */
  readonly database: string;
  /** Store raw samples (`sluice_samples_raw`); when false, sample blocks are refused. Default true. */
  readonly raw?: boolean;
  /** Rollup resolutions with a table (`sluice_rollup_5m`, `sluice_rollup_1h`). Default both. */
  readonly rollupResolutionsMs?: readonly number[];
}

/** A block with its table, series ids and deduplication token worked out (`ClickHouseWriter.prepare`). */
export interface PreparedBlock {
  readonly block: InsertBlock;
  readonly table: string;
  /** Series id of each entry of `block.series`, as decimal text (what the statements carry). */
  readonly ids: readonly string[];
  readonly token: string;
}

/** What one block put where; `series` counts the series rows sent (not yet known to be registered). */
export interface WriteResult {
  readonly table: string;
  readonly rows: number;
  readonly series: number;
}

/** Thrown for a block the writer cannot store as configured (a topology or caller error, never retried). */
export class ClickHouseWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClickHouseWriteError';
  }
}

/** Resolutions that have a table, by name suffix. */
export const ROLLUP_TABLES: ReadonlyMap<number, string> = new Map([
  [5 * 60_000, 'sluice_rollup_5m'],
  [3_600_000, 'sluice_rollup_1h'],
]);

/** Whole milliseconds whose `seconds.mmm` text ClickHouse reads as a unix time (10-digit seconds). */
const FAST_TS_MIN = 1e12;
const FAST_TS_MAX = 1e13;
const INLINE = 'async_insert = 0, insert_deduplicate = 1';
/** The exact shape carries rows inside the statement text. */
const EXACT_QUERY_SETTINGS = { max_query_size: '1073741824' };
const BITS = (col: string) => `reinterpretAsFloat64(bitOr(bitShiftLeft(toUInt64(${col}_hi), 32), toUInt64(${col}_lo)))`;

// Per-value scratch for the exact shape: element stores and loads keep NaN payloads.
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

function floatText(v: number): string {
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0 && 1 / v < 0) return '-0';
  return String(v);
}

function msText(t: number): string {
  const s = Math.floor(t / 1000);
  const ms = t - s * 1000;
  return `${s}.${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}`;
}

function fastTime(t: number): boolean {
  return t >= FAST_TS_MIN && t < FAST_TS_MAX && Number.isInteger(t);
}

function bitsText(v: number): string {
  scratch[0] = v;
  return `${scratchWords[1]}\t${scratchWords[0]}`;
}

function wholeMs(t: number, what: string): number {
  if (!Number.isFinite(t)) throw new ClickHouseWriteError(`${what} ${t} is not a time`);
  return Math.floor(t);
}

export class ClickHouseWriter {
  readonly database: string;
  private readonly raw: boolean;
  private readonly rollupTables: Map<number, string>;
  /** Series id text per label set (the registry's label sets are interned, so identity works). */
  private readonly idOf = new WeakMap<Labels, string>();
  /** Per tenant: series ids known to be in sluice_series. */
  private readonly registered = new Map<string, Set<string>>();

  constructor(
    private readonly client: ClickHouseClient,
    options: WriterOptions,
  ) {
    this.database = checkIdentifier(options.database);
    this.raw = options.raw ?? true;
    const resolutions = options.rollupResolutionsMs ?? [...ROLLUP_TABLES.keys()];
    this.rollupTables = new Map();
    for (const r of resolutions) {
      const table = ROLLUP_TABLES.get(r);
      if (!table) throw new ClickHouseWriteError(`no ClickHouse rollup table for resolution ${r} ms (tables exist for 5m and 1h)`);
      this.rollupTables.set(r, table);
    }
  }

  /** The table a block goes to, or a ClickHouseWriteError saying why it cannot be stored. */
  tableOf(block: InsertBlock): string {
    if (block.kind === 'samples') {
      if (!this.raw) throw new ClickHouseWriteError('raw samples are not stored by this sink (raw: false)');
      return 'sluice_samples_raw';
    }
    const table = this.rollupTables.get(block.resolutionMs);
    if (!table) {
      const kept = [...this.rollupTables.keys()].map((r) => `${r / 60_000}m`).join(', ') || 'none';
      throw new ClickHouseWriteError(`a rollup batch of resolution ${block.resolutionMs} ms arrived; this sink stores ${kept}`);
    }
    return table;
  }

  /** Works out a block's table, series ids and token; throws ClickHouseWriteError for a block this writer does not store. */
  prepare(block: InsertBlock): PreparedBlock {
    const table = this.tableOf(block);
    const ids: string[] = new Array(block.series.length);
    const bits = new BigUint64Array(block.series.length);
    for (let i = 0; i < block.series.length; i++) {
      const labels = block.series[i].labels;
      let id = this.idOf.get(labels);
      if (id === undefined) this.idOf.set(labels, (id = seriesId(labels).toString()));
      ids[i] = id;
      bits[i] = BigInt(id);
    }
    return { block, table, ids, token: blockToken(block, bits) };
  }

  /**
   * Writes a block: the series ClickHouse may not know yet, then its rows, every statement under
   * the block's token. Resolves once ClickHouse accepted every statement. Safe to repeat: a
   * repeat is dropped at insert (raw and rollup tables) or collapses (series).
   */
  async write(what: InsertBlock | PreparedBlock): Promise<WriteResult> {
    const p = 'token' in what ? what : this.prepare(what);
    const { block, ids, token, table } = p;
    const fresh: number[] = [];
    for (let i = 0; i < block.series.length; i++) if (!this.registered.get(block.series[i].tenant)?.has(ids[i])) fresh.push(i);
    if (fresh.length > 0) await this.insertSeries(block.series, ids, fresh, token);
    if (block.kind === 'samples') await this.insertSamples(table, block, ids, token);
    else await this.insertRollups(table, block, ids, token);
    for (const i of fresh) {
      const tenant = block.series[i].tenant;
      let known = this.registered.get(tenant);
      if (!known) this.registered.set(tenant, (known = new Set()));
      known.add(ids[i]);
    }
    return { table, rows: block.length, series: fresh.length };
  }

  /** Forgets which series are registered (after the database was recreated underneath). */
  forgetSeries(): void {
    this.registered.clear();
  }

  private async insertSeries(series: readonly BlockSeries[], ids: readonly string[], fresh: number[], token: string): Promise<void> {
    let body = '';
    for (const i of fresh) {
      const { tenant, labels } = series[i];
      body += `{"series_id":"${ids[i]}","tenant":${JSON.stringify(tenant)},"metric":${JSON.stringify(metricOf(labels))},"labels":${labelsJson(labels)}}\n`;
    }
    await this.exec(`INSERT INTO ${this.database}.sluice_series (series_id, tenant, metric, labels) SETTINGS ${INLINE}, insert_deduplication_token = '${token}-s' FORMAT JSONEachRow`, body);
  }

  private async insertSamples(table: string, block: SampleBlock, ids: readonly string[], token: string): Promise<void> {
    let fast = '';
    let exact = '';
    const { index, ts, values } = block;
    for (let i = 0; i < block.length; i++) {
      const t = ts[i];
      const v = values[i];
      if (v === v && fastTime(t)) fast += `${ids[index[i]]}\t${msText(t)}\t${floatText(v)}\n`;
      else exact += `${ids[index[i]]}\t${wholeMs(t, 'sample time')}\t${bitsText(v)}\n`;
    }
    const into = `INSERT INTO ${this.database}.${table} (series_id, ts, value)`;
    if (fast) await this.exec(`${into} SETTINGS ${INLINE}, precise_float_parsing = 1, insert_deduplication_token = '${token}-f' FORMAT TabSeparated`, fast);
    if (exact) {
      await this.command(
        `${into} SELECT id, fromUnixTimestamp64Milli(t), ${BITS('v')} FROM format(TabSeparated, 'id UInt64, t Int64, v_hi UInt32, v_lo UInt32', $$${exact}$$) ` +
          `SETTINGS ${INLINE}, insert_deduplication_token = '${token}-x'`,
      );
    }
  }

  private async insertRollups(table: string, block: RollupBlock, ids: readonly string[], token: string): Promise<void> {
    let fast = '';
    let exact = '';
    for (const r of block.rollups) {
      if (r.start % 1000 !== 0) throw new ClickHouseWriteError(`rollup window start ${r.start} ms is not a whole second`);
      if (fastRollup(r)) {
        fast +=
          `${ids[r.ref]}\t${r.start / 1000}\t${r.count}\t${floatText(r.sum)}\t${floatText(r.min)}\t${floatText(r.max)}\t${floatText(r.counter)}\t` +
          `${msText(r.firstT)}\t${floatText(r.firstV)}\t${msText(r.lastT)}\t${floatText(r.lastV)}\n`;
      } else {
        exact +=
          `${ids[r.ref]}\t${r.start}\t${r.count}\t${bitsText(r.sum)}\t${bitsText(r.min)}\t${bitsText(r.max)}\t${bitsText(r.counter)}\t` +
          `${wholeMs(r.firstT, 'rollup first_ts')}\t${bitsText(r.firstV)}\t${wholeMs(r.lastT, 'rollup last_ts')}\t${bitsText(r.lastV)}\n`;
      }
    }
    const columns = 'series_id, window_start, count, sum, min, max, counter, first_ts, first_value, last_ts, last_value';
    const into = `INSERT INTO ${this.database}.${table} (${columns})`;
    if (fast) await this.exec(`${into} SETTINGS ${INLINE}, precise_float_parsing = 1, insert_deduplication_token = '${token}-f' FORMAT TabSeparated`, fast);
    if (exact) {
      await this.command(
        `${into} SELECT id, toDateTime(intDiv(ws, 1000)), c, ${BITS('sum')}, ${BITS('min')}, ${BITS('max')}, ${BITS('counter')}, ` +
          `fromUnixTimestamp64Milli(ft), ${BITS('fv')}, fromUnixTimestamp64Milli(lt), ${BITS('lv')} ` +
          `FROM format(TabSeparated, 'id UInt64, ws Int64, c UInt32, sum_hi UInt32, sum_lo UInt32, min_hi UInt32, min_lo UInt32, max_hi UInt32, max_lo UInt32, ` +
          `counter_hi UInt32, counter_lo UInt32, ft Int64, fv_hi UInt32, fv_lo UInt32, lt Int64, lv_hi UInt32, lv_lo UInt32', $$${exact}$$) ` +
          `SETTINGS ${INLINE}, insert_deduplication_token = '${token}-x'`,
      );
    }
  }

  private async exec(query: string, body: string): Promise<void> {
    const r = await this.client.exec({ query, values: Readable.from([body]) });
    r.stream.resume();
  }

  private async command(query: string): Promise<void> {
    await this.client.command({ query, clickhouse_settings: EXACT_QUERY_SETTINGS });
  }
}

function fastRollup(r: Rollup): boolean {
  return (
    r.sum === r.sum &&
    r.min === r.min &&
    r.max === r.max &&
    r.counter === r.counter &&
    r.firstV === r.firstV &&
    r.lastV === r.lastV &&
    r.start >= FAST_TS_MIN &&
    r.start < FAST_TS_MAX &&
    fastTime(r.firstT) &&
    fastTime(r.lastT)
  );
}

function metricOf(labels: Labels): string {
  for (let i = 0; i < labels.length; i += 2) if (labels[i] === METRIC_NAME) return labels[i + 1];
  return '';
}

function labelsJson(labels: Labels): string {
  let out = '{';
  for (let i = 0; i < labels.length; i += 2) {
    if (labels[i] === METRIC_NAME) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(labels[i])}:${JSON.stringify(labels[i + 1])}`;
  }
  return out + '}';
}
