/**
 * Revoking leases: one on request (DELETE /leases/{id}), many by subject or
 * prefix, and the shared step the sweeper runs on each claimed batch. Every
 * lease ends with an audit row; a lease whose role is already gone is
 * revoked, not retried; a failure is retried with backoff and finally marked
 * `irrevocable`.
 *
 * Expired is not revoked. A revocation someone asked for ends the role's
 * sessions at once; the sweep, finding a lease merely expired, drops its
 * role only when it has no session, and otherwise marks the lease
 * `draining` (audited once as `lease.drain`) and looks again on every run —
 * until the last session ends, or until the role's max_session after expiry,
 * when the sessions are terminated (audited with reason `max_session`).
 *
 * @example
 *   const lease = await revokeLease(deps, id, { reason: 'request', by: 'system:serviceaccount:prod:api' });
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import { type DueQuery, leaseAuditFields, type RevocationMatch, type RevokeFailure, type StoreTransaction } from '../store/index.js';
import type { AuditEntry, DatabaseRecord, LeaseRecord, RoleRecord } from '../store/types.js';
import { nextAttemptAt } from './retry.js';
import { DEFAULT_MAX_SESSION_SEC } from './ttl.js';

export type RevokeReason = 'request' | 'bulk' | 'sweep' | 'database.delete';

/** What revocation needs to know of each role definition of a database. */
export interface RevocationRule {
  /** Custom revocation statements, which replace the default. */
  statements: string | null;
  /** Seconds a session may outlive the lease's expiry. */
  maxSession: number;
}

export interface RevokeContext {
  reason: RevokeReason;
  /** Who asked: an admin token's name, a workload's subject, or `sweeper`. */
  by: string;
  requestId?: string;
}

export interface RevokeTally {
  revoked: number;
  failed: number;
  /** Of the failed, how many ran out of attempts just now. */
  irrevocable: number;
  /** Expired leases kept because their role still has sessions. */
  draining: number;
}

export const emptyTally = (): RevokeTally => ({ revoked: 0, failed: 0, irrevocable: 0, draining: 0 });

export function addTally(into: RevokeTally, t: RevokeTally): void {
  into.revoked += t.revoked;
  into.failed += t.failed;
  into.irrevocable += t.irrevocable;
  into.draining += t.draining;
}

/** Revocation rules per role definition; a lease whose definition is gone gets the defaults. */
export function revocationRules(roles: readonly RoleRecord[]): Map<string, RevocationRule> {
  return new Map(roles.map((r) => [r.name, { statements: r.revocationStatements, maxSession: r.maxSession }]));
}

/** A database's leases due now: past expiry plus the sweep's grace, or asked to end. */
export const dueNow = (deps: Deps, databaseId: string): DueQuery => ({
  databaseId,
  now: deps.now(),
  graceSec: deps.settings.sweepGraceSec,
});

/** When the sweep stops waiting for a draining lease's sessions and ends them. */
export function drainDeadline(lease: LeaseRecord, rule: RevocationRule | undefined): Date {
  return new Date(Date.parse(lease.expiresAt) + (rule?.maxSession ?? DEFAULT_MAX_SESSION_SEC) * 1000);
}

export interface Revoked {
  tally: RevokeTally;
  /** The leases whose row changed, as they now are. */
  settled: LeaseRecord[];
}

/**
 * Revokes leases the caller has locked in transaction `s` and records each
 * outcome there, so the lease rows and their audit rows commit together.
 */
export async function revokeClaimed(
  deps: Deps,
  s: StoreTransaction,
  db: DatabaseRecord,
  claimed: readonly LeaseRecord[],
  why: RevokeContext,
  rules: Map<string, RevocationRule>,
): Promise<Revoked> {
  const tally = emptyTally();
  if (claimed.length === 0) return { tally, settled: [] };
  const now = deps.now();
  // Only a lease that merely expired may drain; one someone asked to end, or past its max_session, ends now.
  const mayDrain = (l: LeaseRecord) => why.reason === 'sweep' && !l.revokeRequestedAt && now < drainDeadline(l, rules.get(l.roleName));
  const outcomes = await deps.targets.dropRoles(
    db,
    claimed.map((l) => ({
      name: l.username,
      reassignTo: l.reassignTo,
      statements: rules.get(l.roleName)?.statements ?? null,
      ifIdle: mayDrain(l),
    })),
  );
  const drainingIds: string[] = [];
  const revokedIds: string[] = [];
  const failures: RevokeFailure[] = [];
  const entries: AuditEntry[] = [];
  for (const lease of claimed) {
    const result = outcomes.get(lease.username) ?? { outcome: 'failed' as const, error: new Error('no outcome') };
    const base = {
      action: 'lease.revoke',
      requestId: why.requestId ?? null,
      ...leaseAuditFields(lease),
    };
    if (result.outcome === 'draining') {
      tally.draining++;
      if (lease.state === 'draining') continue;
      drainingIds.push(lease.id);
      entries.push({
        ...base,
        action: 'lease.drain',
        outcome: 'success',
        detail: {
          sessions: result.sessions,
          expired_at: lease.expiresAt,
          drain_until: drainDeadline(lease, rules.get(lease.roleName)).toISOString(),
        },
      });
    } else if (result.outcome === 'failed') {
      const attempts = lease.revokeAttempts + 1;
      const next = nextAttemptAt(now, attempts);
      failures.push({ id: lease.id, error: result.error.message, nextAttemptAt: next });
      tally.failed++;
      if (!next) tally.irrevocable++;
      entries.push({
        ...base,
        outcome: 'error',
        code: next ? 'target_unavailable' : 'irrevocable',
        detail: {
          reason: why.reason,
          by: why.by,
          attempts,
          error: result.error.message,
          sqlstate: (result.error as { sqlstate?: string }).sqlstate ?? null,
        },
      });
    } else {
      revokedIds.push(lease.id);
      tally.revoked++;
      const sessions = result.outcome === 'revoked' ? result.sessions : 0;
      // A sweep that ends sessions does so only because max_session has passed.
      const reason = why.reason === 'sweep' && sessions > 0 && !lease.revokeRequestedAt ? 'max_session' : why.reason;
      entries.push({
        ...base,
        outcome: 'success',
        detail: {
          reason,
          by: why.by,
          already_gone: result.outcome === 'absent',
          terminated_sessions: sessions,
          drained: lease.state === 'draining',
        },
      });
    }
  }
  const settled = [
    ...(await s.leases.markDraining(drainingIds)),
    ...(await s.leases.markRevoked(revokedIds, now)),
    ...(await s.leases.recordFailures(failures)),
  ];
  await s.audit.appendMany(entries);
  return { tally, settled };
}

/**
 * Ends one lease now. Revoking an ended lease is harmless and answers it as
 * it is; a failure leaves the lease asked-to-end for the sweeper and answers
 * `target_unavailable`.
 */
export async function revokeLease(deps: Deps, id: string, why: RevokeContext): Promise<LeaseRecord> {
  const { lease, tally } = await deps.store.transaction(async (s) => {
    // Asking it to end also locks it (waiting for a sweep that holds it): one statement, and the row as it now is.
    const requested = await s.leases.requestOne(id, deps.now());
    if (!requested) {
      const ended = await s.leases.get(id);
      if (!ended) throw new PgmintError('lease_not_found', 'no such lease');
      return { lease: ended, tally: emptyTally() };
    }
    const db = await s.databases.get(requested.databaseId);
    if (!db) throw new PgmintError('database_not_found', 'the lease belongs to a database that is no longer registered');
    const role = await s.roles.get(db.id, requested.roleName);
    const { tally, settled } = await revokeClaimed(deps, s, db, [requested], why, revocationRules(role ? [role] : []));
    return { lease: settled.find((l) => l.id === requested.id) ?? requested, tally };
  });
  if (tally.failed > 0) {
    throw new PgmintError('target_unavailable', 'the target did not drop the role; the sweeper will retry', {
      details: { lease_id: lease.id, state: lease.state, revoke_attempts: lease.revokeAttempts },
    });
  }
  return lease;
}

export interface BulkRevokeResult extends Omit<RevokeTally, 'draining'> {
  matched: number;
  /** Asked-to-end leases still live: the sweeper finishes them. */
  remaining: number;
}

/** What a bulk revoke may ask for: exactly one of a subject (narrowed by issuer or not) or a user-name prefix. */
export function bulkRevocationMatch(q: { subject?: string; issuer?: string; prefix?: string }): Omit<RevocationMatch, 'id' | 'all'> {
  if ((q.subject === undefined) === (q.prefix === undefined)) {
    throw new PgmintError('invalid_request', 'give exactly one of subject or prefix', { details: { field: 'subject' } });
  }
  if (q.issuer !== undefined && q.subject === undefined) {
    throw new PgmintError('invalid_request', 'issuer narrows a subject; give subject too', { details: { field: 'issuer' } });
  }
  return q.subject !== undefined ? { subject: q.subject, issuer: q.issuer } : { prefix: q.prefix };
}

/** Ends every live lease of a database matching a subject or username prefix (or all), in claimed batches. */
export async function revokeMatching(
  deps: Deps,
  db: DatabaseRecord,
  match: Omit<RevocationMatch, 'id'>,
  why: RevokeContext,
  options: { maxMs?: number; batchSize?: number } = {},
): Promise<BulkRevokeResult> {
  const deadline = Date.now() + (options.maxMs ?? 20_000);
  const batchSize = options.batchSize ?? 200;
  const matched = await deps.store.leases.requestRevocation(db.id, match, deps.now());
  const tally = emptyTally();
  const rules = revocationRules(await deps.store.roles.list(db.id));
  while (Date.now() < deadline) {
    const claimed = await deps.store.transaction(async (s) => {
      const batch = await s.leases.claimDue({ ...dueNow(deps, db.id), limit: batchSize, onlyRequested: true });
      addTally(tally, (await revokeClaimed(deps, s, db, batch, why, rules)).tally);
      return batch.length;
    });
    if (claimed < batchSize) break;
  }
  return {
    matched,
    revoked: tally.revoked,
    failed: tally.failed,
    irrevocable: tally.irrevocable,
    remaining: await deps.store.leases.countRequested(db.id),
  };
}
