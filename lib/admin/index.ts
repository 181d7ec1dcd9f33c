/**
 * Admin tokens as the domain knows them: scopes, authentication of a bearer
 * token, minting and revoking.
 *
 * @example
 *   const admin = await authorizeAdmin(deps, token, 'tokens:write');
 */
export { authenticateAdmin, authorizeAdmin } from './authenticate.js';
export { type AdminIdentity, hasScope, missingScope, type Scope, SCOPES, scopesBeyond } from './scopes.js';
export { constantTimeEqual, tokenHash } from './secret.js';
export { ADMIN_TOKEN_PREFIX, mintAdminToken, revokeAdminToken } from './tokens.js';
