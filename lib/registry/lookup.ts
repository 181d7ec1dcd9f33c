/**
 * Registered things looked up by what a caller names, refused with the code
 * that says which one is missing; and who asks on an admin request, for the
 * audit rows the registry writes.
 *
 * @example
 *   const db = await registeredDatabase(deps, 'orders'); // or database_not_found
 *   const roles = await rolesOf(deps, 'orders'); // database_not_found rather than an empty list
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import type { DatabaseRecord, IssuerRecord, RoleRecord } from '../store/types.js';

/** Who asks, for the audit row. */
export interface AdminRequest {
  admin: string;
  requestId?: string;
}

export async function registeredDatabase(deps: Deps, id: string): Promise<DatabaseRecord> {
  const db = await deps.store.databases.get(id);
  if (!db) throw new PgmintError('database_not_found', 'no such database');
  return db;
}

export async function registeredRole(deps: Deps, databaseId: string, name: string): Promise<RoleRecord> {
  const role = await deps.store.roles.get(databaseId, name);
  if (!role) throw new PgmintError('not_found', 'no such role');
  return role;
}

export async function registeredIssuer(deps: Deps, databaseId: string, id: string): Promise<IssuerRecord> {
  const issuer = await deps.store.issuers.get(databaseId, id);
  if (!issuer) throw new PgmintError('not_found', 'no such issuer');
  return issuer;
}

export async function rolesOf(deps: Deps, databaseId: string): Promise<RoleRecord[]> {
  await registeredDatabase(deps, databaseId);
  return deps.store.roles.list(databaseId);
}

export async function issuersOf(deps: Deps, databaseId: string): Promise<IssuerRecord[]> {
  await registeredDatabase(deps, databaseId);
  return deps.store.issuers.list(databaseId);
}
