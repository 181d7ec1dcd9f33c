/**
 * Trusting an issuer for a database. Without pinned keys the issuer must be
 * an https URL (http only on loopback when insecure issuers are allowed) so
 * its keys can be discovered; with pinned keys it may be any string the
 * cluster signs with.
 *
 * @example
 *   await trustIssuer(deps, 'orders', { kind: 'k8s', issuer: 'https://oidc.eks…', ... });
 */
import type { Deps } from '../context.js';
import { PgmintError } from '../errors.js';
import { pinnedKeyResolver, validateIssuerUrl, validateServiceAccountPattern } from '../identity/index.js';
import type { IssuerInput } from '../store/issuers.js';
import type { IssuerRecord } from '../store/types.js';

const invalid = (field: string, message: string) => new PgmintError('invalid_request', message, { extra: { field } });

export async function trustIssuer(deps: Deps, databaseId: string, i: Omit<IssuerInput, 'databaseId'>): Promise<IssuerRecord> {
  if (!(await deps.store.databases.get(databaseId))) throw new PgmintError('database_not_found', 'no such database');
  const pinned = Boolean(i.pinnedJwks || i.pinnedPems);
  if (pinned) {
    // Keys that cannot be imported are refused now, not at the first exchange.
    try {
      await pinnedKeyResolver({ pinnedJwks: i.pinnedJwks, pinnedPems: i.pinnedPems });
    } catch (err) {
      throw invalid(i.pinnedPems ? 'pem_keys' : 'jwks', err instanceof Error ? err.message : 'pinned keys are not valid public keys');
    }
  } else {
    const problem = validateIssuerUrl(i.issuer, { allowInsecure: deps.settings.allowInsecureIssuers });
    if (problem) throw invalid('issuer', `${problem} (or pin the issuer's keys)`);
  }
  if (i.kind === 'k8s') {
    if (i.allowedServiceAccounts.length === 0) throw invalid('allowed_service_accounts', 'name at least one service account (ns/name or ns/*)');
    for (const pattern of i.allowedServiceAccounts) {
      const problem = validateServiceAccountPattern(pattern);
      if (problem) throw invalid('allowed_service_accounts', problem);
    }
  } else if (i.allowedSubjects.length === 0 && Object.keys(i.boundClaims).length === 0) {
    throw invalid('allowed_subjects', 'an oidc issuer needs allowed_subjects or bound_claims');
  }
  const allowedRoles = [...new Set([i.defaultRole, ...i.allowedRoles])];
  const defined = new Set((await deps.store.roles.list(databaseId)).map((r) => r.name));
  const undefinedRole = allowedRoles.find((r) => !defined.has(r));
  if (undefinedRole) {
    throw invalid(undefinedRole === i.defaultRole ? 'default_role' : 'allowed_roles', `role ${undefinedRole} is not defined for this database`);
  }
  return deps.store.issuers.create({ ...i, databaseId, allowedRoles });
}
