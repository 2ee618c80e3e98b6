import type { ClickHouseClient } from '@clickhouse/client';
import { migration001 } from './001_series_and_raw.ts';
import { migration002 } from './002_rollups.ts';
import { migration003 } from './003_wide_view.ts';
import { migration004 } from './004_rollup_dedup_window.ts';
import { migration005 } from './005_rollup_codecs.ts';
import type { Migration } from './migration.ts';

/** Every migration, in order. A new schema version is a new file appended here; never edit an applied one. */
export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005];

export interface SchemaOptions {
  /** Database holding sluice's tables; created when missing. Default `sluice`. */
  readonly database?: string;
  /** TTL of raw samples; null: kept forever. Default 15 days. */
  readonly rawTtlSeconds?: number | null;
  /** TTL of 5m rollups; null: kept forever. Default 90 days. */
  readonly rollup5mTtlSeconds?: number | null;
  /** TTL of 1h rollups; null: kept forever. Default 2 years. */
  readonly rollup1hTtlSeconds?: number | null;
}

const DAY = 86_400;

/** A ClickHouse identifier sluice accepts from configuration (never from a query). */
export function checkIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`invalid ClickHouse identifier "${name}" (letters, digits, underscores)`);
  return name;
}

function ttlSeconds(value: number | null | undefined, fallback: number, what: string): number | null {
  if (value === null) return null;
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${what} must be a positive whole number of seconds, got ${v}`);
  return v;
}

/** The statements of a migration with the database and TTLs filled in. */
export function renderMigration(m: Migration, options: SchemaOptions = {}): string[] {
  const db = checkIdentifier(options.database ?? 'sluice');
  const ttls: Record<string, number | null> = {
    ttl_raw: ttlSeconds(options.rawTtlSeconds, 15 * DAY, 'rawTtlSeconds'),
    ttl_5m: ttlSeconds(options.rollup5mTtlSeconds, 90 * DAY, 'rollup5mTtlSeconds'),
    ttl_1h: ttlSeconds(options.rollup1hTtlSeconds, 730 * DAY, 'rollup1hTtlSeconds'),
  };
  // `{db}`: the database; `{ttl_x:column}`: a TTL clause on that time column, or nothing.
  return m.statements.map((s) =>
    s
      .replace(/\{db\}/g, db)
      .replace(/\{(ttl_raw|ttl_5m|ttl_1h):([a-zA-Z_()]+)\}/g, (_, k: string, col: string) => (ttls[k] === null ? '' : `TTL ${col} + INTERVAL ${ttls[k]} SECOND`)),
  );
}

/**
 * Brings the database to the newest schema: creates it and `sluice_migrations`, then applies, in
 * version order, every migration not recorded there, recording each after its statements ran.
 * Idempotent: run it at every start. Returns the versions applied by this call.
 */
export async function migrate(client: ClickHouseClient, options: SchemaOptions = {}): Promise<number[]> {
  const db = checkIdentifier(options.database ?? 'sluice');
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${db}` });
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${db}.sluice_migrations (version UInt32, name String, applied_at DateTime64(3) DEFAULT now64(3))
ENGINE = ReplacingMergeTree ORDER BY version`,
  });
  const rs = await client.query({ query: `SELECT DISTINCT version FROM ${db}.sluice_migrations`, format: 'JSONEachRow' });
  const applied = new Set((await rs.json<{ version: number }>()).map((r) => Number(r.version)));
  const done: number[] = [];
  for (const m of [...MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (applied.has(m.version)) continue;
    for (const statement of renderMigration(m, options)) await client.command({ query: statement });
    await client.insert({ table: `${db}.sluice_migrations`, values: [{ version: m.version, name: m.name }], format: 'JSONEachRow' });
    done.push(m.version);
  }
  return done;
}
