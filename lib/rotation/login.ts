/**
 * Fresh logins to a target with one stored root version, outside the target
 * pool: a rotation must know what the server accepts now, not what a pooled
 * session accepted when it connected.
 *
 * @example
 *   const result = await probeRoot(deps, db, 'pending'); // 'accepted' | 'refused'
 */
import type { Deps } from '../context.js';
import type { Sql } from '../db/port.js';
import { sanitizeDatabaseError } from '../db/sanitize.js';
import { PgmintError } from '../errors.js';
import type { DatabaseRecord } from '../store/types.js';
import { unsealRoot } from '../targets/pool.js';
import type { RootVersion } from './versions.js';

/** SQLSTATE invalid_password: the server answered and said no. */
export const REFUSED = '28P01';

export function isRefusal(err: unknown): boolean {
  return (err as { sqlstate?: unknown } | null)?.sqlstate === REFUSED || (err as { code?: unknown } | null)?.code === REFUSED;
}

/** A one-connection Sql logged in as the broker with `password`. */
export function connectRoot(deps: Deps, db: DatabaseRecord, password: string): Sql {
  return deps.connect({
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.adminUser,
    password,
    sslmode: db.sslmode as never,
    max: 1,
    applicationName: 'pgmint-rotation',
  });
}

export async function withRootSession<T>(deps: Deps, db: DatabaseRecord, version: RootVersion, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = connectRoot(deps, db, await unsealRoot(deps.sealKey, db, version));
  try {
    return await fn(sql);
  } finally {
    await sql.end().catch(() => {});
  }
}

/**
 * 'accepted' or 'refused' (28P01). Anything else — the server is down, the
 * network failed — throws `target_unavailable`: only a clear refusal may
 * decide which version the target holds.
 */
export async function probeRoot(deps: Deps, db: DatabaseRecord, version: RootVersion): Promise<'accepted' | 'refused'> {
  try {
    await withRootSession(deps, db, version, (sql) => sql.query('SELECT 1'));
    return 'accepted';
  } catch (err) {
    if (isRefusal(err)) return 'refused';
    if (err instanceof TypeError) throw err;
    throw new PgmintError('target_unavailable', 'the target database did not answer a login', { cause: sanitizeDatabaseError(err) });
  }
}
