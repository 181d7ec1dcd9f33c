/**
 * Who may renew or revoke a lease: the workload holding it (a token from the
 * same issuer naming the same subject, still allowed for the database), or an
 * admin token with the `leases:revoke` scope. A bearer that is neither a
 * known admin token nor a verifiable workload token is `invalid_token`;
 * another workload is `not_allowed`.
 *
 * @example
 *   const caller = await authorizeLeaseCaller(deps, lease, c.req.header('authorization'));
 */
import type { Deps } from '../context.js';
import { isPgmintError, PgmintError } from '../errors.js';
import { authenticateAdmin, hasScope } from '../http/admin.js';
import { bearerToken, peekIssuer } from '../identity/index.js';
import type { IssuerKind, LeaseRecord } from '../store/types.js';
import { authenticateWorkload, WorkloadDenied } from './authenticate.js';

export type LeaseCaller = { kind: 'admin'; name: string } | { kind: 'workload'; subject: string; issuer: string; pod: string | null };

/** The audit `by` of a caller. */
export const callerName = (c: LeaseCaller): string => (c.kind === 'admin' ? `admin:${c.name}` : c.subject);

/** The caller as an admin with `leases:revoke`, or null when the bearer is not an admin token. */
export async function asAdmin(deps: Deps, header: string | undefined): Promise<LeaseCaller | null> {
  try {
    const admin = await authenticateAdmin(deps, header);
    if (!hasScope(admin, 'leases:revoke')) {
      throw new PgmintError('insufficient_scope', 'this admin token lacks the leases:revoke scope', { details: { scope: 'leases:revoke' } });
    }
    return { kind: 'admin', name: admin.name };
  } catch (err) {
    if (isPgmintError(err) && err.code === 'unauthorized') return null;
    throw err;
  }
}

export async function authorizeLeaseCaller(deps: Deps, lease: LeaseRecord, header: string | undefined): Promise<LeaseCaller> {
  const token = bearerToken(header);
  const admin = await asAdmin(deps, header);
  if (admin) return admin;

  const iss = peekIssuer(token);
  // The same issuer may be registered as k8s and as oidc; the holder is whichever accepts it.
  let refusal: unknown = new WorkloadDenied(new PgmintError('invalid_token', 'token issuer is not trusted for this database'), { issuer: iss });
  for (const kind of ['k8s', 'oidc'] as const satisfies IssuerKind[]) {
    if ((await deps.store.issuers.findByIssuer(lease.databaseId, kind, iss)).length === 0) continue;
    let workload: Awaited<ReturnType<typeof authenticateWorkload>>;
    try {
      workload = await authenticateWorkload(deps, lease.databaseId, kind, token);
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
