/**
 * Acknowledging an irrevocable lease: an operator says they know its role
 * could not be dropped (they dropped it by hand, or the target is gone for
 * good). The lease is then finished like a revoked one — no longer counted
 * by health, no longer tracked (so the orphan sweep may still drop a role
 * that is left), and deleted once past the lease retention. A lease that is
 * not irrevocable is refused (`409 conflict`): a live lease is revoked, not
 * acknowledged. Acknowledging twice is harmless.
 *
 * @example
 *   const lease = await acknowledgeLease(deps, leaseId, { by: 'admin:ops' });
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import { type LeaseRecord, leaseAuditFields } from '../store/index.js';

export interface AcknowledgeRequest {
  by: string;
  requestId?: string;
}

export async function acknowledgeLease(deps: Deps, id: string, req: AcknowledgeRequest): Promise<LeaseRecord> {
  try {
    return await deps.store.transaction(async (s) => {
      const lease = await s.leases.lock(id);
      if (!lease) throw new PgmintError('lease_not_found', 'no such lease');
      if (lease.state === 'acknowledged') return lease;
      if (lease.state !== 'irrevocable') {
        throw new PgmintError('conflict', `lease is ${lease.state}; only an irrevocable lease is acknowledged (revoke a live one)`, {
          details: { state: lease.state, lease_id: lease.id },
        });
      }
      const acknowledged = (await s.leases.acknowledge(lease.id, deps.now()))!;
      await s.audit.append({
        action: 'lease.acknowledge',
        outcome: 'success',
        requestId: req.requestId ?? null,
        ...leaseAuditFields(lease),
        detail: { by: req.by, revoke_attempts: lease.revokeAttempts },
      });
      return acknowledged;
    });
  } catch (err) {
    if (err instanceof PgmintError && err.code === 'conflict') {
      await deps.store.audit.append({
        action: 'lease.acknowledge',
        outcome: 'denied',
        code: err.code,
        requestId: req.requestId ?? null,
        leaseId: id,
        detail: { by: req.by, ...err.details },
      });
    }
    throw err;
  }
}
