/**
 * Settling a target's root credential: find which stored version the target
 * accepts and make the control plane agree. Run under the rotation lock at
 * the start of every rotation and when an exchange finds its credential
 * refused; this is how an interrupted rotation is finished or rolled back.
 *
 *   pending accepted   → promote (the ALTER ROLE happened)
 *   current accepted   → drop pending (it never reached the target)
 *   previous accepted  → set the target back to current (e.g. restored from a backup)
 *   none accepted      → locked out: `target_unavailable`, nothing changes
 *
 * Only a clear refusal (28P01) rules a version out; if the target does not
 * answer, nothing is decided and nothing changes.
 *
 * @example
 *   const { db: settled, outcome } = await settleRoot(deps, db, { trigger: 'schedule' });
 */
import type { Deps } from '../deps.js';
import { scramSha256Verifier } from '../crypto/scram.js';
import { PgmintError } from '../errors.js';
import type { DatabaseRecord } from '../store/types.js';
import type { SealedRootVersions } from '../targets/types.js';
import { unsealRoot } from '../targets/root-secret.js';
import { type RotationContext, rotationStep } from './audit.js';
import { probeRoot } from './login.js';
import { dropPending, promote, type RootVersion, rotationIdOf } from './versions.js';

export type SettleOutcome = 'promoted' | 'rolled_back' | 'repaired' | null;

/** Writes `next` if the row still holds `db.rootSecret`; a concurrent re-registration is a conflict. */
export async function replaceRootSecret(
  deps: Deps,
  db: DatabaseRecord,
  next: SealedRootVersions,
  rotated: boolean,
): Promise<DatabaseRecord> {
  const updated = await deps.store.databases.replaceRootSecret(db.id, db.rootSecret, next, rotated);
  if (!updated) throw new PgmintError('conflict', 'the database was changed while its root credential was being rotated');
  return updated;
}

/** The first stored version the target accepts, in the order a rotation could have left them. */
export async function acceptedVersion(deps: Deps, db: DatabaseRecord, order: RootVersion[]): Promise<RootVersion | null> {
  for (const version of order) {
    if (!db.rootSecret[version]) continue;
    if ((await probeRoot(deps, db, version)) === 'accepted') return version;
  }
  return null;
}

export async function settleRoot(
  deps: Deps,
  db: DatabaseRecord,
  rotation: RotationContext,
): Promise<{ db: DatabaseRecord; outcome: SettleOutcome }> {
  const rotationId = rotationIdOf(db.rootSecret);
  const accepted = await acceptedVersion(deps, db, ['pending', 'current', 'previous']);
  switch (accepted) {
    case 'pending': {
      const settled = await replaceRootSecret(deps, db, promote(db.rootSecret), true);
      await rotationStep(deps, db.id, rotation, 'promoted', { rotation_id: rotationId, recovered: true });
      return { db: settled, outcome: 'promoted' };
    }
    case 'current': {
      if (!db.rootSecret.pending) return { db, outcome: null };
      const settled = await replaceRootSecret(deps, db, dropPending(db.rootSecret), false);
      await rotationStep(deps, db.id, rotation, 'rolled_back', { rotation_id: rotationId, recovered: true });
      return { db: settled, outcome: 'rolled_back' };
    }
    case 'previous': {
      const verifier = await scramSha256Verifier(await unsealRoot(deps.sealKey, db, 'current'));
      await deps.targets.setRootPassword(db, 'previous', verifier);
      if ((await probeRoot(deps, db, 'current')) !== 'accepted') {
        throw new PgmintError('target_unavailable', 'the target refused the current root credential after it was set again');
      }
      const settled = await replaceRootSecret(deps, db, dropPending(db.rootSecret), false);
      await rotationStep(deps, db.id, rotation, 'repaired', { rotation_id: rotationId, recovered: true });
      return { db: settled, outcome: 'repaired' };
    }
    default:
      throw new PgmintError(
        'target_unavailable',
        'the target refuses every stored root credential; register the database again with a working password',
        {
          details: { reason: 'root_credential_refused' },
        },
      );
  }
}
