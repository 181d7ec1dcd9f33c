/**
 * What the target pool does when the target refuses its root credential
 * (28P01): settle the credential (finishing or rolling back an interrupted
 * rotation) if no rotation is running, else use whichever stored version the
 * target accepts right now without changing anything — a rotation in
 * progress will promote or roll back itself.
 *
 * @example
 *   deps.targets.onRefused((id) => resolveRefusedRoot(deps, id));
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import type { DatabaseRecord } from '../store/types.js';
import { rotationFailed } from './audit.js';
import { tryRotationLock } from './lock.js';
import { acceptedVersion, settleRoot } from './settle.js';
import type { RootVersion } from './versions.js';

export async function resolveRefusedRoot(deps: Deps, databaseId: string): Promise<{ db: DatabaseRecord; version: RootVersion }> {
  const rotation = { trigger: 'exchange' } as const;
  const load = async () => {
    const db = await deps.store.databases.get(databaseId);
    if (!db) throw new PgmintError('database_not_found', 'no such database');
    return db;
  };
  try {
    const settled = await tryRotationLock(deps, databaseId, async () => (await settleRoot(deps, await load(), rotation)).db);
    if (settled.locked) return { db: settled.value, version: 'current' };
    const db = await load();
    const version = await acceptedVersion(deps, db, ['current', 'pending', 'previous']);
    if (version) return { db, version };
    throw new PgmintError('target_unavailable', 'the target refuses every stored root credential');
  } catch (err) {
    if (err instanceof PgmintError && err.details.reason === 'root_credential_refused')
      await rotationFailed(deps, databaseId, rotation, err);
    throw err;
  }
}
