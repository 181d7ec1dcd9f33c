/**
 * Who may renew or revoke a lease: the workload holding it (a token from the
 * same issuer naming the same subject, still allowed for the database), or an
 * admin token with the `leases:revoke` scope. A bearer that is neither a
 * known admin token nor a verifiable workload token is `invalid_token`;
 * another workload is `not_allowed`.
 *
 * @example
 *   const caller = await authorizeLeaseCaller(deps, lease, token);
 */
import type { Deps } from '../deps.js';
import { isPgmintError, PgmintError } from '../errors.js';
import { authorizeAdmin } from '../admin/index.js';
import { peekIssuer, requireBearer } from '../identity/index.js';
import type { IssuerKind, LeaseRecord } from '../store/types.js';
import { authenticateWorkload, WorkloadDenied } from './authenticate.js';
import { recordRefusal } from './issue.js';

export type LeaseCaller = { kind: 'admin'; name: string } | { kind: 'workload'; subject: string; issuer: string; pod: string | null };

/** The audit `by` of a caller. */
export const callerName = (c: LeaseCaller): string => (c.kind === 'admin' ? `admin:${c.name}` : c.subject);

/** The caller as an admin with `leases:revoke`, or null when the bearer is not an admin token. */
export async function asAdmin(deps: Deps, token: string | undefined): Promise<LeaseCaller | null> {
  try {
    const admin = await authorizeAdmin(deps, token, 'leases:revoke');
    return { kind: 'admin', name: admin.name };
  } catch (err) {
    if (isPgmintError(err) && err.code === 'unauthorized') return null;
    throw err;
  }
}

export async function authorizeLeaseCaller(deps: Deps, lease: LeaseRecord, bearer: string | undefined): Promise<LeaseCaller> {
  const token = requireBearer(bearer);
  const admin = await asAdmin(deps, token);
  if (admin) return admin;

  const iss = peekIssuer(token);
  // The same issuer may be registered as k8s and as oidc; the holder is whichever accepts it.
  const untrusted = new PgmintError('invalid_token', 'token issuer is not trusted for this database');
  let refusal: unknown = new WorkloadDenied(untrusted, { issuer: iss });
  for (const kind of ['k8s', 'oidc'] as const satisfies IssuerKind[]) {
    const registered = await deps.store.issuers.findByIssuer(lease.databaseId, kind, iss);
    if (registered.length === 0) continue;
    let workload: Awaited<ReturnType<typeof authenticateWorkload>>;
    try {
      workload = await authenticateWorkload(deps, lease.databaseId, kind, token, registered);
    } catch (err) {
      refusal = err;
      continue;
    }
    if (workload.subject === lease.subject && workload.issuer.issuer === lease.issuer) {
      return { kind: 'workload', subject: workload.subject, issuer: workload.issuer.issuer, pod: workload.podName };
    }
    refusal = new WorkloadDenied(new PgmintError('not_allowed', 'this lease belongs to another workload'), {
      subject: workload.subject,
      issuer: workload.issuer.issuer,
      pod: workload.podName ?? undefined,
    });
  }
  throw refusal;
}

/**
 * Finds the lease `id` and checks its caller, auditing a refusal. Only an admin learns that a lease
 * does not exist: a workload token is verified against the issuers of the lease's database, and a
 * lease that does not exist has none.
 */
export async function authorizeLeaseRequest(
  deps: Deps,
  request: { id: string; token: string | undefined; action: string; requestId: string },
): Promise<{ lease: LeaseRecord; caller: LeaseCaller }> {
  const { id, token, action, requestId } = request;
  const lease = await deps.store.leases.get(id);
  if (!lease) {
    if (await asAdmin(deps, token)) throw new PgmintError('lease_not_found', 'no such lease');
    const refusal = new PgmintError('invalid_token', 'token not accepted for this lease');
    await recordRefusal(deps, { databaseId: null, requestId }, action, refusal);
    throw refusal;
  }
  try {
    return { lease, caller: await authorizeLeaseCaller(deps, lease, token) };
  } catch (err) {
    await recordRefusal(deps, { databaseId: lease.databaseId, requestId }, action, err);
    throw err;
  }
}
