/**
 * Registered things looked up by what a caller names, refused with the code
 * that says which one is missing.
 *
 * @example
 *   const db = await registeredDatabase(deps, 'orders'); // or database_not_found
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import type { DatabaseRecord } from '../store/types.js';

export async function registeredDatabase(deps: Deps, id: string): Promise<DatabaseRecord> {
  const db = await deps.store.databases.get(id);
  if (!db) throw new PgmintError('database_not_found', 'no such database');
  return db;
}
