/**
 * What an admin token may do: its scopes, and the identity a checked token
 * stands for. The bootstrap token (PGMINT_ADMIN_TOKEN) holds every scope.
 *
 * @example
 *   if (!hasScope(admin, 'leases:revoke')) throw missingScope('leases:revoke');
 */
import { PgmintError } from '../errors.js';

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

export const hasScope = (admin: AdminIdentity, scope: Scope): boolean => admin.scopes.includes(scope);

/** The scopes in `wanted` that `admin` does not hold: a token never grants or revokes more than it has. */
export const scopesBeyond = (admin: AdminIdentity, wanted: readonly string[]): string[] =>
  wanted.filter((s) => !admin.scopes.includes(s as Scope));

export const missingScope = (scope: Scope): PgmintError =>
  new PgmintError('insufficient_scope', `this admin token lacks the ${scope} scope`, { details: { scope } });
