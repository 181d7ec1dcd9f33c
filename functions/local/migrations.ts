/**
 * Reads the control-plane migrations, infra/migrations/NNNN_name.sql, for the
 * store's migrator (lib/store/migrate.ts), which applies them.
 *
 * @example
 *   await migrate(sql, await readMigrations()); // [] when already up to date
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Migration } from '../../lib/store/migrate.js';

// Two folders below the checkout, as the CLI bundle's chunks are (infra/build-cli.ts), so both find infra/.
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../infra/migrations');

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return Promise.all(files.map(async (f) => ({ version: f.replace(/\.sql$/, ''), text: await readFile(join(dir, f), 'utf8') })));
}
