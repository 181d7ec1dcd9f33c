/**
 * Trusting an issuer for a database. Without pinned keys the issuer must be
 * an https URL (http only on loopback when insecure issuers are allowed) so
 * its keys can be discovered; with pinned keys it may be any string the
 * cluster signs with. A discovered issuer is tried at once (discovery and a
 * key fetch, through its own CA when it has one): the registration stands
 * either way, and says what failed and how to fix it.
 *
 * @example
 *   const { issuer, discovery } = await trustIssuer(deps, 'orders', { kind: 'k8s', issuer: 'https://oidc.eks…', ... });
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import {
  ALLOWED_ALGORITHMS,
  type FetchFailure,
  fetchFailureHint,
  PinnedKeyError,
  pinnedKeyResolver,
  validateIssuerUrl,
  validatePinnedJwks,
  validateServiceAccountPattern,
} from '../identity/index.js';
import type { IssuerInput } from '../store/index.js';
import type { IssuerRecord } from '../store/types.js';
import { type AdminRequest, registeredDatabase } from './lookup.js';

const invalid = (field: string, message: string) => new PgmintError('invalid_request', message, { details: { field } });
const badConfig = (field: string, message: string) => new PgmintError('invalid_config', message, { details: { field } });

/** What trying the issuer at registration found; `null` for pinned keys (nothing to fetch). */
export type DiscoveryCheck = { ok: true; keys: number } | { ok: false; failure: FetchFailure; hint: string } | null;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

function checkCaPem(deps: Deps, i: Omit<IssuerInput, 'databaseId'>, pinned: boolean): void {
  if (i.caPem == null) return;
  if (pinned) throw invalid('ca_pem', 'ca_pem is for discovery and key fetches; an issuer with pinned keys fetches nothing');
  if (!PEM_CERTIFICATE.test(i.caPem)) throw invalid('ca_pem', 'ca_pem must hold PEM CERTIFICATE blocks');
  if (!deps.verifier.supportsCaPem) {
    throw badConfig(
      'ca_pem',
      'this runtime cannot fetch with a per-issuer CA (edge runtimes use the platform trust store only): ' +
        "pin the issuer's keys (jwks or pem_keys) instead, or run the broker on Node or Lambda",
    );
  }
}

export async function trustIssuer(
  deps: Deps,
  databaseId: string,
  i: Omit<IssuerInput, 'databaseId'>,
  request: AdminRequest,
): Promise<{ issuer: IssuerRecord; discovery: DiscoveryCheck }> {
  await registeredDatabase(deps, databaseId);
  const pinned = Boolean(i.pinnedJwks || i.pinnedPems);
  if (pinned) {
    // Keys that can never verify are refused now, not at the first exchange.
    if (i.pinnedJwks) {
      try {
        await validatePinnedJwks(i.pinnedJwks, ALLOWED_ALGORITHMS);
      } catch (err) {
        const field = err instanceof PinnedKeyError ? `jwks.keys.${err.index}` : 'jwks';
        throw badConfig(field, `pinned JWKS ${err instanceof Error ? err.message : 'is not valid'}`);
      }
    }
    try {
      await pinnedKeyResolver({ pinnedJwks: i.pinnedJwks, pinnedPems: i.pinnedPems });
    } catch (err) {
      throw badConfig(i.pinnedPems ? 'pem_keys' : 'jwks', err instanceof Error ? err.message : 'pinned keys are not valid public keys');
    }
  } else {
    const problem = validateIssuerUrl(i.issuer, { allowInsecure: deps.settings.allowInsecureIssuers });
    if (problem) throw invalid('issuer', `${problem} (or pin the issuer's keys)`);
  }
  checkCaPem(deps, i, pinned);
  if (i.requireBoundPod && i.kind !== 'k8s') throw invalid('require_bound_pod', 'require_bound_pod applies to k8s issuers only');
  if (i.kind === 'k8s') {
    if (i.allowedServiceAccounts.length === 0)
      throw invalid('allowed_service_accounts', 'name at least one service account (ns/name or ns/*)');
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
    throw invalid(
      undefinedRole === i.defaultRole ? 'default_role' : 'allowed_roles',
      `role ${undefinedRole} is not defined for this database`,
    );
  }
  const issuer = await deps.store.issuers.create({ ...i, databaseId, allowedRoles });
  const discovery = await tryDiscovery(deps, issuer);
  const { admin, requestId } = request;
  await deps.store.audit.append({
    action: 'issuer.trust',
    outcome: 'success',
    databaseId,
    issuer: issuer.issuer,
    requestId,
    subject: admin,
    detail: discovery ? { discovery } : {},
  });
  return { issuer, discovery };
}

/** Discovery and a key fetch now, as the first exchange would do them. */
export async function tryDiscovery(deps: Deps, issuer: IssuerRecord): Promise<DiscoveryCheck> {
  if (issuer.pinnedJwks || issuer.pinnedPems) return null;
  const result = await deps.verifier.probe({ issuer: issuer.issuer, caPem: issuer.caPem });
  return result.ok ? result : { ok: false, failure: result.failure, hint: fetchFailureHint(result.failure) };
}
