/**
 * Renewing a lease: moves the role's VALID UNTIL forward by the requested TTL
 * (or the role's default), never past the lease's `max_expires_at` — the
 * role's max_ttl counted from issue — and never backwards. Open connections
 * are untouched: Postgres checks VALID UNTIL only at login. The lease row is
 * locked while the target changes, so a sweep cannot revoke it half-renewed.
 *
 * @example
 *   const renewed = await renewLease(deps, leaseId, { ttl: '30m', by: 'system:serviceaccount:prod:api' });
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import { leaseAuditFields, type StoreTransaction } from '../store/index.js';
import type { LeaseRecord } from '../store/types.js';
import { refreshAt } from './credentials.js';
import { HARD_MAX_TTL_SEC, resolveTtl, secondsAfter } from './ttl.js';

export interface RenewRequest {
  ttl?: string;
  by: string;
  requestId?: string;
}

export interface Renewal {
  leaseId: string;
  user: string;
  expiresAt: string;
  refreshAt: string;
  maxExpiresAt: string;
  /** True when maxExpiresAt cut the requested TTL short. */
  capped: boolean;
}

export async function renewLease(deps: Deps, id: string, req: RenewRequest): Promise<Renewal> {
  return deps.store
    .transaction(async (s) => {
      const lease = await s.leases.lock(id);
      if (!lease) throw new PgmintError('lease_not_found', 'no such lease');
      const now = new Date(Math.floor(deps.now().getTime() / 1000) * 1000);
      if (lease.state !== 'active' || lease.revokeRequestedAt) {
        throw new PgmintError(
          'conflict',
          `lease is ${lease.revokeRequestedAt && lease.state === 'active' ? 'being revoked' : lease.state}`,
          { details: { state: lease.state } },
        );
      }
      // Postgres already refuses an expired password; renewing would bring a dead login back.
      if (Date.parse(lease.expiresAt) <= now.getTime())
        throw new PgmintError('conflict', 'lease has expired', { details: { state: 'expired' } });
      const db = await s.databases.get(lease.databaseId);
      if (!db) throw new PgmintError('database_not_found', 'the lease belongs to a database that is no longer registered');
      const role = await s.roles.get(db.id, lease.roleName);
      const ttl = resolveTtl(req.ttl, role ?? { defaultTtl: 3600, maxTtl: HARD_MAX_TTL_SEC });
      const max = Date.parse(lease.maxExpiresAt);
      const wanted = secondsAfter(deps.now(), ttl).getTime();
      const expiresAt = new Date(Math.max(Date.parse(lease.expiresAt), Math.min(wanted, max)));

      const renewed = await deps.targets.renewLeaseRole(db, {
        name: lease.username,
        expiresAt,
        renewStatements: role?.renewStatements ?? null,
      });
      if (renewed.outcome === 'absent') {
        // Dropped by hand: the lease is over, and saying so now spares the sweeper a retry.
        await s.leases.markRevoked([lease.id], deps.now());
        await auditRenew(s, lease, req, 'error', 'conflict', { error: 'role no longer exists' });
        return null;
      }
      if (renewed.outcome === 'failed')
        throw new PgmintError('target_unavailable', 'the target database refused the renewal', { cause: renewed.error });
      await s.leases.renew(lease.id, expiresAt, now);
      await auditRenew(s, lease, req, 'success', null, { expires_at: expiresAt.toISOString(), capped: wanted > max });
      return {
        leaseId: lease.id,
        user: lease.username,
        expiresAt: expiresAt.toISOString(),
        refreshAt: refreshAt(now, expiresAt).toISOString(),
        maxExpiresAt: lease.maxExpiresAt,
        capped: wanted > max,
      };
    })
    .then((renewal) => {
      if (!renewal)
        throw new PgmintError('conflict', 'the lease role no longer exists on the target; the lease is revoked', {
          details: { state: 'revoked' },
        });
      return renewal;
    });
}

function auditRenew(
  s: StoreTransaction,
  lease: LeaseRecord,
  req: RenewRequest,
  outcome: 'success' | 'error',
  code: string | null,
  detail: Record<string, unknown>,
) {
  return s.audit.append({
    action: 'lease.renew',
    outcome,
    code,
    requestId: req.requestId ?? null,
    ...leaseAuditFields(lease),
    detail: { ...detail, by: req.by },
  });
}
