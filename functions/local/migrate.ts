/**
 * Applies the SQL files in infra/migrations to a control-plane database, once
 * each, in name order, under an advisory lock so concurrent starts are safe.
 *
 * @example
 *   await migrate(sql); // [] when already up to date
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from '../../lib/db/port.js';

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../infra/migrations');
const LOCK_KEY = 0x70676d69; // 'pgmi'

export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return sql.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS pgmint`);
    await tx.query('CREATE SCHEMA IF NOT EXISTS pgmint');
    await tx.query(`CREATE TABLE IF NOT EXISTS pgmint.schema_migrations (
      version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: string }>('SELECT version FROM pgmint.schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: string[] = [];
    for (const file of files) {
      const version = file.replace(/\.sql$/, '');
      if (done.has(version)) continue;
      await tx.query(await readFile(join(dir, file), 'utf8'));
      await tx.query('INSERT INTO pgmint.schema_migrations (version) VALUES ($1)', [version]);
      applied.push(version);
    }
    return applied;
  });
}
