/**
 * The SQL that removes lease users from a target, for one role or a batch.
 *
 * REASSIGN OWNED and DROP OWNED need the *privileges* of the role they act
 * on, and pg_terminate_backend needs them to signal its sessions. The broker
 * only holds ADMIN OPTION on the lease roles it created (PostgreSQL 16+) or
 * CREATEROLE (15), so each script first grants the lease roles to the broker
 * itself, inside the same implicit transaction that then drops them: no other
 * session ever sees the broker holding a lease role, and DROP ROLE removes the
 * grant with the role. The broker never grants itself the group roles: the
 * lease role's own membership carries the privileges REASSIGN needs on the
 * group, and a GRANT on a group would lock it against the exchange's
 * `CREATE ROLE … IN ROLE` until the batch commits.
 *
 * Each script is one string sent as one simple query, so it is one
 * transaction: nothing is dropped unless everything succeeds.
 *
 * @example
 *   await target.query(revokeBatchSql(180000, [{ name: 'pgm_prod_api_k3v9q2x7ab', reassignTo: 'app_readonly' }]));
 */
import { ident, literal } from './quote.js';

export interface RoleToRevoke {
  name: string;
  /** Group the role's objects are handed to; null drops them instead. */
  reassignTo: string | null;
}

/** How long each session of a revoked role is given to exit (ms). */
export const TERMINATE_WAIT_MS = 5000;

function names(roles: readonly RoleToRevoke[]): string {
  return roles.map((r) => ident(r.name)).join(', ');
}

/** `GRANT x, y TO CURRENT_USER` with the 16+ options spelled out. */
export function grantToSelfSql(serverVersion: number, roles: readonly RoleToRevoke[]): string {
  const options = serverVersion >= 160000 ? ' WITH INHERIT TRUE, SET TRUE' : '';
  return `GRANT ${names(roles)} TO CURRENT_USER${options}`;
}

/** Ends every session of the roles, waiting for each to exit so its temp tables are gone. */
export function terminateSql(roles: readonly RoleToRevoke[]): string {
  const list = roles.map((r) => literal(r.name)).join(', ');
  return `SELECT count(pg_terminate_backend(pid, ${TERMINATE_WAIT_MS})) FROM pg_stat_activity WHERE usename IN (${list}) AND pid <> pg_backend_pid()`;
}

function releaseObjectsSql(roles: readonly RoleToRevoke[]): string[] {
  const byGroup = new Map<string, RoleToRevoke[]>();
  for (const r of roles) {
    if (r.reassignTo === null) continue;
    byGroup.set(r.reassignTo, [...(byGroup.get(r.reassignTo) ?? []), r]);
  }
  const statements = [...byGroup].sort(([a], [b]) => (a < b ? -1 : 1)).map(([group, members]) => `REASSIGN OWNED BY ${names(members)} TO ${ident(group)}`);
  statements.push(`DROP OWNED BY ${names(roles)}`);
  return statements;
}

/**
 * The whole default revocation for the database the broker is connected to:
 * grant, terminate, REASSIGN OWNED, DROP OWNED, DROP ROLE IF EXISTS. Fails
 * with SQLSTATE 42704 if any role is already gone (callers check first).
 */
export function revokeBatchSql(serverVersion: number, roles: readonly RoleToRevoke[]): string {
  if (roles.length === 0) throw new TypeError('revokeBatchSql needs at least one role');
  return [grantToSelfSql(serverVersion, roles), terminateSql(roles), ...releaseObjectsSql(roles), `DROP ROLE IF EXISTS ${names(roles)}`].join(';\n');
}

/**
 * For another database of the same cluster where the roles own objects or
 * hold privileges: hand over and drop them there, keep the roles (they are
 * dropped where the lease lives), and take the temporary grant back.
 */
export function releaseElsewhereSql(serverVersion: number, roles: readonly RoleToRevoke[]): string {
  if (roles.length === 0) throw new TypeError('releaseElsewhereSql needs at least one role');
  return [grantToSelfSql(serverVersion, roles), ...releaseObjectsSql(roles), `REVOKE ${names(roles)} FROM CURRENT_USER`].join(';\n');
}

/**
 * Before a role's custom revocation statements: end its sessions, then take
 * the temporary grant back so the custom statements run with the broker's
 * own privileges only.
 */
export function terminateOnlySql(serverVersion: number, role: RoleToRevoke): string {
  return [grantToSelfSql(serverVersion, [role]), terminateSql([role]), `REVOKE ${ident(role.name)} FROM CURRENT_USER`].join(';\n');
}
