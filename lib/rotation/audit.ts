/**
 * Audit rows for root rotation: one `root.rotate` row per step, so the log
 * alone tells how far an interrupted rotation got and how it was settled.
 * Rows carry the step, the trigger and the rotation id, never a secret.
 *
 * @example
 *   await rotationStep(deps, db.id, rotation, 'promoted', { rotation_id });
 */
import type { Deps } from '../deps.js';
import { outcomeOf, type PgmintError } from '../errors.js';

export const ROTATION_ACTION = 'root.rotate';

export type RotationTrigger = 'api' | 'schedule' | 'exchange';

export type RotationStep = 'pending_stored' | 'password_set' | 'pending_tested' | 'promoted' | 'rolled_back' | 'repaired' | 'failed';

export interface RotationContext {
  trigger: RotationTrigger;
  requestId?: string;
  /** The admin who asked, when one did. */
  actor?: string;
}

export async function rotationStep(
  deps: Deps,
  databaseId: string,
  rotation: RotationContext,
  step: RotationStep,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await deps.store.audit.append({
    action: ROTATION_ACTION,
    outcome: 'success',
    databaseId,
    requestId: rotation.requestId ?? null,
    subject: rotation.actor ?? null,
    detail: { step, trigger: rotation.trigger, ...detail },
  });
}

export async function rotationFailed(
  deps: Deps,
  databaseId: string,
  rotation: RotationContext,
  err: PgmintError,
  detail: Record<string, unknown> = {},
): Promise<void> {
  await deps.store.audit
    .append({
      action: ROTATION_ACTION,
      outcome: outcomeOf(err),
      code: err.code,
      databaseId,
      requestId: rotation.requestId ?? null,
      subject: rotation.actor ?? null,
      detail: { step: 'failed', trigger: rotation.trigger, ...detail },
    })
    .catch(() => {});
}
