/**
 * Which stored root version a target accepts right now, asked with a fresh
 * login (targets/logins.ts): only a clear refusal may decide that a version is
 * not the one the target holds.
 *
 * @example
 *   const result = await probeRoot(deps, db, 'pending'); // 'accepted' | 'refused'
 */
import type { Deps } from '../deps.js';
import { sanitizeDatabaseError } from '../db/sanitize.js';
import { PgmintError } from '../errors.js';
import type { DatabaseRecord } from '../store/types.js';
import type { RootVersion } from './versions.js';

/**
 * 'accepted' or 'refused' (28P01). Anything else — the server is down, the
 * network failed — throws `target_unavailable`.
 */
export async function probeRoot(deps: Deps, db: DatabaseRecord, version: RootVersion): Promise<'accepted' | 'refused'> {
  try {
    return await deps.targets.tryRootLogin(db, version);
  } catch (err) {
    if (err instanceof TypeError) throw err;
    throw new PgmintError('target_unavailable', 'the target database did not answer a login', { cause: sanitizeDatabaseError(err) });
  }
}
