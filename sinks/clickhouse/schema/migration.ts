/**
 * A schema migration: a version (applied in ascending order, each once), a name, and the DDL
 * statements it runs. Statements use `{db}` for the database and `{ttl_*}` for the TTLs the
 * topology configures (schema-options.ts); they must be idempotent (`IF NOT EXISTS`) so a
 * migration interrupted after some statements can run again.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}
