/**
 * Who an admin bearer token is: the bootstrap token, or a stored token found
 * by its hash and not revoked. A token that is neither is `unauthorized`.
 *
 * @example
 *   const admin = await authorizeAdmin(deps, token, 'databases:write');
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import { requireBearer } from '../identity/bearer.js';
import { type AdminIdentity, hasScope, missingScope, type Scope, SCOPES } from './scopes.js';
import { constantTimeEqual, tokenHash } from './secret.js';

export async function authenticateAdmin(deps: Deps, bearer: string | undefined): Promise<AdminIdentity> {
  const token = requireBearer(bearer);
  if (deps.settings.adminToken && (await constantTimeEqual(token, deps.settings.adminToken))) {
    return { name: 'bootstrap', scopes: SCOPES };
  }
  const found = await deps.store.adminTokens.findActive(await tokenHash(token));
  if (!found) throw new PgmintError('unauthorized', 'admin token not recognised');
  return { name: found.name, scopes: found.scopes as Scope[] };
}

/** The admin behind `bearer`, refused unless it holds `scope`. */
export async function authorizeAdmin(deps: Deps, bearer: string | undefined, scope: Scope): Promise<AdminIdentity> {
  const admin = await authenticateAdmin(deps, bearer);
  if (!hasScope(admin, scope)) throw missingScope(scope);
  return admin;
}
