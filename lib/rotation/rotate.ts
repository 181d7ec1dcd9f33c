/**
 * Rotating a target's root credential (the broker's own password there):
 *
 *   settle → store pending (sealed) → ALTER ROLE … PASSWORD '<SCRAM verifier>'
 *   → log in afresh with pending → promote → reopen the target pool
 *
 * Each step commits before the next starts and is audited, so a crash at any
 * point leaves a state `settleRoot` resolves on the next run or the next
 * exchange that finds its credential refused. Sessions already open keep
 * working: Postgres checks a password only when a session starts.
 *
 * @example
 *   const result = await rotateRoot(deps, 'orders', { trigger: 'api', force: true });
 */
import type { Deps } from '../deps.js';
import { generatePassword } from '../crypto/password.js';
import { scramSha256Verifier } from '../crypto/scram.js';
import { seal } from '../crypto/seal.js';
import { sanitizeDatabaseError } from '../db/sanitize.js';
import { isPgmintError, PgmintError } from '../errors.js';
import type { DatabaseRecord } from '../store/types.js';
import { rootSecretAad } from '../targets/root-secret.js';
import { type RotationContext, rotationFailed, rotationStep } from './audit.js';
import type { RotationFaults } from './faults.js';
import { tryRotationLock } from './lock.js';
import { probeRoot } from './login.js';
import { replaceRootSecret, type SettleOutcome, settleRoot } from './settle.js';
import { promote, withPending } from './versions.js';

export interface RotateOptions extends RotationContext {
  /** Rotate even when the credential is younger than its rotation period. */
  force?: boolean;
  faults?: RotationFaults;
}

export interface RotationResult {
  database: string;
  /** `rotated`, or `not_due` when the credential is younger than its period (and force is off). */
  outcome: 'rotated' | 'not_due';
  /** What settling an earlier, interrupted rotation did first. */
  recovered: SettleOutcome;
  rotationId: string | null;
  rotatedAt: string;
}

export function isDue(db: DatabaseRecord, now: Date): boolean {
  return Date.parse(db.rootRotatedAt) + db.rotationPeriodSec * 1000 <= now.getTime();
}

export async function rotateRoot(deps: Deps, databaseId: string, options: RotateOptions): Promise<RotationResult> {
  const rotation: RotationContext = { trigger: options.trigger, requestId: options.requestId, actor: options.actor };
  let rotationId: string | null = null;
  try {
    const run = await tryRotationLock(deps, databaseId, async () => {
      const found = await deps.store.databases.get(databaseId);
      if (!found) throw new PgmintError('database_not_found', 'no such database');
      const settled = await settleRoot(deps, found, rotation);
      if (!options.force && !isDue(settled.db, deps.now())) {
        return {
          database: databaseId,
          outcome: 'not_due',
          recovered: settled.outcome,
          rotationId: null,
          rotatedAt: settled.db.rootRotatedAt,
        } as const;
      }
      rotationId = crypto.randomUUID();
      const db = await rotate(deps, settled.db, rotationId, rotation, options.faults ?? {});
      return { database: databaseId, outcome: 'rotated', recovered: settled.outcome, rotationId, rotatedAt: db.rootRotatedAt } as const;
    });
    if (!run.locked) {
      throw new PgmintError('conflict', 'a rotation of this database is already running', { retryAfterSec: 5 });
    }
    return run.value;
  } catch (err) {
    // Only pgmint's own refusals are audited here; anything else (a fault
    // hook standing in for a crash, a lost control plane) stops as it is.
    if (isPgmintError(err)) await rotationFailed(deps, databaseId, rotation, err, rotationId ? { rotation_id: rotationId } : {});
    throw err;
  }
}

async function rotate(
  deps: Deps,
  current: DatabaseRecord,
  rotationId: string,
  rotation: RotationContext,
  faults: RotationFaults,
): Promise<DatabaseRecord> {
  const password = generatePassword();
  const pending = await seal(deps.sealKey, password, rootSecretAad(current.id));
  let db = await replaceRootSecret(deps, current, withPending(current.rootSecret, pending, rotationId, deps.now()), false);
  await rotationStep(deps, db.id, rotation, 'pending_stored', { rotation_id: rotationId });
  await faults.afterPendingStored?.();

  // The broker changes its own password, logged in with the current one; only the verifier travels.
  const verifier = await scramSha256Verifier(password);
  try {
    await deps.targets.setRootPassword(db, 'current', verifier);
  } catch (err) {
    throw await unsettled(deps, db, rotation, 'the target refused to change the root password', err);
  }
  await rotationStep(deps, db.id, rotation, 'password_set', { rotation_id: rotationId });
  await faults.afterAlterRole?.();

  if ((await probeRoot(deps, db, 'pending')) !== 'accepted') {
    throw await unsettled(deps, db, rotation, 'the target refused a fresh login with the new root password');
  }
  await rotationStep(deps, db.id, rotation, 'pending_tested', { rotation_id: rotationId });
  await faults.afterTest?.();

  db = await replaceRootSecret(deps, db, promote(db.rootSecret), true);
  await rotationStep(deps, db.id, rotation, 'promoted', { rotation_id: rotationId });
  // The pool sees current change and reconnects; its old sessions finish what they run.
  await deps.targets.follow(db);
  return db;
}

/**
 * A step failed with the target's state uncertain: settle now if the target
 * answers (it decides which version it holds), else leave pending for the
 * next run. Returns the error to throw.
 */
async function unsettled(
  deps: Deps,
  db: DatabaseRecord,
  rotation: RotationContext,
  message: string,
  cause?: unknown,
): Promise<PgmintError> {
  await settleRoot(deps, db, rotation).catch(() => {});
  if (isPgmintError(cause)) return cause;
  return new PgmintError('target_unavailable', message, { cause: cause === undefined ? undefined : sanitizeDatabaseError(cause) });
}
