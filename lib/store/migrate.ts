/**
 * Brings a control-plane database to the current schema: each migration is
 * applied once, in version order, all in one transaction under an advisory
 * lock, so concurrent starts are safe and running it again applies nothing.
 * The migration texts are an argument (the Node entry points read
 * infra/migrations, see functions/local/migrations.ts), so this file runs on
 * any runtime.
 *
 * @example
 *   const applied = await migrate(sql, [{ version: '0001_control_plane', text: 'CREATE TABLE pgmint.databases (…)' }]);
 *   // [] when already up to date
 */
import type { Sql } from '../db/port.js';

export interface Migration {
  /** The file name without `.sql`, e.g. `0007_bounded_history`; applied in this order. */
  version: string;
  text: string;
}

/** 'pgmi': the advisory lock namespace of the migrator. */
const LOCK_KEY = 0x70676d69;

export async function migrate(sql: Sql, migrations: readonly Migration[]): Promise<string[]> {
  const versions = migrations.map((m) => m.version);
  if (new Set(versions).size !== versions.length) throw new TypeError('two migrations share a version');
  const ordered = [...migrations].sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  return sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query('CREATE SCHEMA IF NOT EXISTS pgmint');
    await tx.query(`CREATE TABLE IF NOT EXISTS pgmint.schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: string }>('SELECT version FROM pgmint.schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const m of ordered) {
      if (done.has(m.version)) continue;
      await tx.query(m.text);
      await tx.query('INSERT INTO pgmint.schema_migrations (version) VALUES ($1)', [m.version]);
      applied.push(m.version);
    }
    return applied;
  });
}
