import type { ClickHouseClient } from '@clickhouse/client';
import { compareLabels, labelsFromRecord, type Labels } from '../../model/labels.ts';
import type { LabelMatcher } from '../../model/matchers.ts';
import { STALE_NAN } from '../../model/stale-nan.ts';
import type { Querier, SampleCursor, SeriesSet, StoredSeries } from '../../sinks/chunks/storage.ts';
import { tooManySamples } from '../promql/engine/limits.ts';
import type { Queryable } from '../promql/engine/types.ts';
import { QUERY_SETTINGS } from './clickhouse-backend.ts';
import { matchersWhere } from './matchers.ts';
import { Params } from './params.ts';
import type { SqlTables } from './translate.ts';

/**
 * The raw samples table as a `Queryable`: what the TypeScript engine evaluates over when a query
 * (or the part of one) must read ClickHouse but the translator cannot express it, or when a query
 * spans the chunk store and older data. Series are fetched whole for the selected time range, one
 * row per series with its samples as sorted arrays; stale markers travel as a flag beside the
 * value (JSON cannot carry a NaN's payload) and come back as the stale NaN bit-exactly.
 */
export class ClickHouseQueryable implements Queryable {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly tables: SqlTables,
    private readonly tenant?: string,
    /**
     * The most samples one select may bring into memory: past it the fetch stops and the query
     * fails with the engine's too-many-samples error, before the rest is read. Rows are read one
     * series at a time, so neither the whole answer nor its text is ever held at once.
     */
    private readonly maxSamples = Infinity,
  ) {}

  querier(_mint: number, _maxt: number): Querier {
    return {
      select: (matchers, mint, maxt) => this.select(matchers, mint, maxt),
      labelNames: (matchers, mint, maxt) => this.labelNames(matchers, mint, maxt),
      labelValues: (name, matchers, mint, maxt) => this.labelValues(name, matchers, mint, maxt),
      close: () => {},
    };
  }

  private seriesIdsIn(matchers: readonly LabelMatcher[], mint: number, maxt: number, p: Params): string {
    return `SELECT DISTINCT series_id FROM ${this.tables.samples}
WHERE series_id IN (SELECT series_id FROM ${this.tables.series} WHERE ${matchersWhere(matchers, p, this.tenant)})
  AND ts >= fromUnixTimestamp64Milli(${p.int(clampMs(mint))}) AND ts <= fromUnixTimestamp64Milli(${p.int(clampMs(maxt))})`;
  }

  async select(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<SeriesSet> {
    const p = new Params();
    const sql = `SELECT s.labels AS labels, d.T AS T, d.V AS V, d.S AS S FROM (
  SELECT series_id, arraySort(groupArray((toUnixTimestamp64Milli(ts), value))) AS pairs,
    arrayMap(x -> x.1, pairs) AS T, arrayMap(x -> x.2, pairs) AS V,
    arrayMap(x -> reinterpretAsUInt64(x.2) = 9218868437227405314, pairs) AS S
  FROM ${this.tables.samples} FINAL
  WHERE series_id IN (SELECT series_id FROM ${this.tables.series} WHERE ${matchersWhere(matchers, p, this.tenant)})
    AND ts >= fromUnixTimestamp64Milli(${p.int(clampMs(mint))}) AND ts <= fromUnixTimestamp64Milli(${p.int(clampMs(maxt))})
  GROUP BY series_id
) AS d INNER JOIN (
  SELECT series_id, if(metric = '', CAST(labels, 'Map(String, String)'), mapUpdate(CAST(labels, 'Map(String, String)'), map('__name__', toString(metric)))) AS labels
  FROM ${this.tables.series} FINAL WHERE ${matchersWhere(matchers, p, this.tenant)}
) AS s USING (series_id)`;
    const rs = await this.client.query({
      query: sql,
      query_params: p.values,
      format: 'JSONEachRow',
      clickhouse_settings: { ...QUERY_SETTINGS, output_format_json_quote_64bit_integers: 0, output_format_json_quote_denormals: 1 },
    });
    const series: StoredSeries[] = [];
    let samples = 0;
    const stream = rs.stream<FetchedSeries>();
    try {
      for await (const rows of stream) {
        for (const row of rows) {
          const r = row.json();
          samples += r.T.length;
          if (samples > this.maxSamples) throw tooManySamples();
          const ts = Float64Array.from(r.T);
          const values = new Float64Array(r.V.length);
          for (let i = 0; i < values.length; i++) values[i] = r.S[i] ? STALE_NAN : jsonFloat(r.V[i]);
          series.push(memorySeries(labelsFromRecord(r.labels), ts, values));
        }
      }
    } finally {
      // Ends the response early when the limit stopped the read (a no-op after the last row).
      stream.destroy();
    }
    series.sort((a, b) => compareLabels(a.labels, b.labels));
    return { series, warnings: [] };
  }

  async labelNames(matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]> {
    const p = new Params();
    const ids = this.seriesIdsIn(matchers, mint, maxt, p);
    const sql = `SELECT DISTINCT arrayJoin(arrayConcat(mapKeys(labels), if(metric = '', [], ['__name__']))) AS name
FROM ${this.tables.series} FINAL WHERE series_id IN (${ids}) ORDER BY name`;
    const rs = await this.client.query({ query: sql, query_params: p.values, format: 'JSONEachRow', clickhouse_settings: QUERY_SETTINGS });
    return (await rs.json<{ name: string }>()).map((r) => r.name);
  }

  async labelValues(name: string, matchers: readonly LabelMatcher[], mint: number, maxt: number): Promise<string[]> {
    const p = new Params();
    const col = name === '__name__' ? 'toString(metric)' : `labels[${p.string(name)}]`;
    const ids = this.seriesIdsIn(matchers, mint, maxt, p);
    const sql = `SELECT DISTINCT ${col} AS value FROM ${this.tables.series} FINAL WHERE series_id IN (${ids}) AND value != '' ORDER BY value`;
    const rs = await this.client.query({ query: sql, query_params: p.values, format: 'JSONEachRow', clickhouse_settings: QUERY_SETTINGS });
    return (await rs.json<{ value: string }>()).map((r) => r.value);
  }
}

/** A row of select's statement: a series' labels and its samples as parallel arrays. */
interface FetchedSeries {
  labels: Record<string, string>;
  T: number[];
  V: Array<number | string>;
  S: Array<number | boolean>;
}

/** DateTime64(3) holds years 1900..2299; the engine asks with ±MAX_SAFE_INTEGER for "everything". */
function clampMs(t: number): number {
  const lo = -2_208_988_800_000; // 1900-01-01
  const hi = 10_413_791_999_999; // 2299-12-31
  return Math.trunc(Math.min(hi, Math.max(lo, t)));
}

/** ClickHouse writes non-finite floats as the strings "nan", "inf", "-inf" (output_format_json_quote_denormals). */
function jsonFloat(v: number | string): number {
  if (typeof v === 'number') return v;
  if (v === 'inf' || v === '+inf') return Infinity;
  if (v === '-inf') return -Infinity;
  if (v === 'nan' || v === '-nan') return NaN;
  return Number(v);
}

/** A fetched series; one run holds every sample. */
function memorySeries(labels: Labels, ts: Float64Array, values: Float64Array): StoredSeries {
  return {
    labels,
    cursor(): SampleCursor {
      let consumed = false;
      return {
        get ts() {
          return ts;
        },
        get values() {
          return values;
        },
        get length() {
          return consumed ? ts.length : 0;
        },
        next() {
          if (consumed || ts.length === 0) return false;
          consumed = true;
          return true;
        },
      };
    },
  };
}
