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
import { bearerToken } from '../http/auth.js';
import { peekIssuer } from '../identity/index.js';
import type { IssuerKind, LeaseRecord } from '../store/types.js';
import { authenticateWorkload, WorkloadDenied } from './authenticate.js';

export type LeaseCaller = { kind: 'admin'; name: string } | { kind: 'workload'; subject: string; issuer: string; pod: string | null };

/** The audit `by` of a caller. */
export const callerName = (c: LeaseCaller): string => (c.kind === 'admin' ? `admin:${c.name}` : c.subject);

async function asAdmin(deps: Deps, header: string | undefined): Promise<LeaseCaller | null> {
  try {
    const admin = await authenticateAdmin(deps, header);
    if (!hasScope(admin, 'leases:revoke')) {
      throw new PgmintError('insufficient_scope', 'this admin token lacks the leases:revoke scope', { extra: { scope: 'leases:revoke' } });
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
  let kind: IssuerKind | null = null;
  for (const k of ['k8s', 'oidc'] as const) {
    if ((await deps.store.issuers.findByIssuer(lease.databaseId, k, iss)).length > 0) {
      kind = k;
      break;
    }
  }
  if (!kind) throw new WorkloadDenied(new PgmintError('invalid_token', 'token issuer is not trusted for this database'), { issuer: iss });
  const workload = await authenticateWorkload(deps, lease.databaseId, kind, token);
  if (workload.subject !== lease.subject || workload.issuer.issuer !== lease.issuer) {
    throw new WorkloadDenied(new PgmintError('not_allowed', 'this lease belongs to another workload'), {
      subject: workload.subject,
      issuer: workload.issuer.issuer,
      pod: workload.podName ?? undefined,
    });
  }
  return { kind: 'workload', subject: workload.subject, issuer: workload.issuer.issuer, pod: workload.podName };
}
