/**
 * Admin authorization: the bootstrap token (PGMINT_ADMIN_TOKEN) holds every
 * scope; other admin tokens are stored as SHA-256 hashes with their scopes.
 *
 * @example
 *   app.use('/api/v1/databases/*', requireScope(deps, 'databases:write'));
 */
import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../context.js';
import { PgmintError } from '../errors.js';
import { bearerToken, constantTimeEqual, tokenHash } from './auth.js';

export const SCOPES = [
  'databases:read',
  'databases:write',
  'roles:write',
  'issuers:write',
  'leases:read',
  'leases:revoke',
  'audit:read',
  'operations:run',
  'tokens:write',
] as const;
export type Scope = (typeof SCOPES)[number];

export interface AdminIdentity {
  name: string;
  scopes: readonly Scope[];
}

export async function authenticateAdmin(deps: Deps, header: string | undefined): Promise<AdminIdentity> {
  const token = bearerToken(header);
  if (deps.settings.adminToken && (await constantTimeEqual(token, deps.settings.adminToken))) {
    return { name: 'bootstrap', scopes: SCOPES };
  }
  const { rows } = await deps.sql.query<{ name: string; scopes: Scope[] }>(
    'SELECT name, scopes FROM pgmint.admin_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
    [await tokenHash(token)],
  );
  const row = rows[0];
  if (!row) throw new PgmintError('unauthorized', 'admin token not recognised');
  return { name: row.name, scopes: row.scopes };
}

export function hasScope(admin: AdminIdentity, scope: Scope): boolean {
  return admin.scopes.includes(scope);
}

export function requireScope(deps: Deps, scope: Scope): MiddlewareHandler {
  return async (c, next) => {
    const admin = await authenticateAdmin(deps, c.req.header('authorization'));
    if (!hasScope(admin, scope)) {
      throw new PgmintError('insufficient_scope', `this admin token lacks the ${scope} scope`, { details: { scope } });
    }
    c.set('admin' as never, admin as never);
    await next();
  };
}
