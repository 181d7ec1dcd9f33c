/**
 * Forgetting what the registry holds: a target database (refused while leases
 * are live unless forced, which revokes them first and deletes only when none
 * is left, so no role the broker minted is stranded on a target it no longer
 * knows), a role definition, a trusted issuer. Each removal is audited.
 *
 * @example
 *   await removeDatabase(deps, 'orders', { force: true, admin: 'ops', requestId });
 */
import type { Deps } from '../context.js';
import { PgmintError } from '../errors.js';
import { revokeMatching } from '../leases/revoke.js';

export async function removeDatabase(deps: Deps, id: string, request: { force: boolean; admin: string; requestId?: string }): Promise<void> {
  const { force, admin, requestId } = request;
  const db = await deps.store.databases.get(id);
  if (!db) throw new PgmintError('database_not_found', 'no such database');
  let live = await deps.store.leases.countLiveInDatabase(id);
  if (live > 0 && !force) {
    throw new PgmintError('conflict', `${live} leases are live; revoke them or pass force=true`, { details: { field: 'force', live_leases: live } });
  }
  if (live > 0) {
    await revokeMatching(deps, db, { all: true }, { reason: 'database.delete', by: `admin:${admin}`, requestId });
    live = await deps.store.leases.countLiveInDatabase(id);
    if (live > 0) throw new PgmintError('conflict', `${live} leases could not be revoked; nothing was deleted`, { details: { live_leases: live } });
  }
  await deps.store.databases.remove(id);
  await deps.targets.close(id);
  await deps.store.audit.append({ action: 'database.delete', outcome: 'success', databaseId: id, requestId, subject: admin, detail: { force } });
}

/** Forgets a role definition; its live leases run out and are swept as usual. */
export async function removeRole(deps: Deps, databaseId: string, name: string, request: { admin: string; requestId?: string }): Promise<void> {
  if (!(await deps.store.roles.remove(databaseId, name))) throw new PgmintError('not_found', 'no such role');
  await deps.store.audit.append({ action: 'role.delete', outcome: 'success', databaseId, roleName: name, requestId: request.requestId, subject: request.admin });
}

/** Stops trusting an issuer: its workloads can no longer exchange, renew or revoke. */
export async function removeIssuer(deps: Deps, databaseId: string, id: string, request: { admin: string; requestId?: string }): Promise<void> {
  const issuer = await deps.store.issuers.get(databaseId, id);
  if (!issuer || !(await deps.store.issuers.remove(databaseId, id))) throw new PgmintError('not_found', 'no such issuer');
  await deps.store.audit.append({ action: 'issuer.delete', outcome: 'success', databaseId, issuer: issuer.issuer, requestId: request.requestId, subject: request.admin });
}
