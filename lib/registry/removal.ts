/**
 * Forgetting what the registry holds: a target database (refused while leases
 * are live unless forced, which revokes them first and deletes only when none
 * is left, so no role the broker minted is stranded on a target it no longer
 * knows), a role definition, a trusted issuer. Each removal is audited.
 *
 * @example
 *   await removeDatabase(deps, 'orders', { admin: 'ops', requestId }, { force: true });
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import { revokeMatching } from '../leases/revoke.js';
import { type AdminRequest, registeredDatabase, registeredIssuer } from './lookup.js';

const liveLeases = (live: number, message: string, details: Record<string, unknown> = {}) =>
  new PgmintError('conflict', `${live} ${message}`, { details: { ...details, live_leases: live } });

export async function removeDatabase(deps: Deps, id: string, request: AdminRequest, options: { force: boolean }): Promise<void> {
  const { admin, requestId } = request;
  const db = await registeredDatabase(deps, id);
  let live = await deps.store.leases.countLiveInDatabase(id);
  if (live > 0 && !options.force) throw liveLeases(live, 'leases are live; revoke them or pass force=true', { field: 'force' });
  if (live > 0) {
    await revokeMatching(deps, db, { all: true }, { reason: 'database.delete', by: `admin:${admin}`, requestId });
    live = await deps.store.leases.countLiveInDatabase(id);
    if (live > 0) throw liveLeases(live, 'leases could not be revoked; nothing was deleted');
  }
  await deps.store.databases.remove(id);
  await deps.targets.close(id);
  const deletion = { action: 'database.delete', outcome: 'success', databaseId: id, requestId, subject: admin, detail: options } as const;
  await deps.store.audit.append(deletion);
}

/** Forgets a role definition; its live leases run out and are swept as usual. */
export async function removeRole(deps: Deps, databaseId: string, name: string, request: AdminRequest): Promise<void> {
  if (!(await deps.store.roles.remove(databaseId, name))) throw new PgmintError('not_found', 'no such role');
  const { admin, requestId } = request;
  await deps.store.audit.append({ action: 'role.delete', outcome: 'success', databaseId, roleName: name, requestId, subject: admin });
}

/** Stops trusting an issuer: its workloads can no longer exchange, renew or revoke. */
export async function removeIssuer(deps: Deps, databaseId: string, id: string, request: AdminRequest): Promise<void> {
  const issuer = await registeredIssuer(deps, databaseId, id);
  if (!(await deps.store.issuers.remove(databaseId, id))) throw new PgmintError('not_found', 'no such issuer');
  const { admin, requestId } = request;
  const deletion = { action: 'issuer.delete', outcome: 'success', databaseId, issuer: issuer.issuer, requestId, subject: admin } as const;
  await deps.store.audit.append(deletion);
}
