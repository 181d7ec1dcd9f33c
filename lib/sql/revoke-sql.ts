/**
 * The SQL that removes lease users from a target, for one role or a batch.
 *
 * REASSIGN OWNED and DROP OWNED need the *privileges* of the role they act
 * on, and pg_terminate_backend needs them to signal its sessions. The broker
 * holds only ADMIN OPTION on the lease roles it created (PostgreSQL 16+) or
 * CREATEROLE (15), and is NOINHERIT. So each script grants the lease role to
 * the broker with SET only, and does that work under `SET LOCAL ROLE <lease
 * role>` — all inside the same implicit transaction that then drops the role:
 * no other session ever sees the grant, and DROP ROLE takes it away with the
 * role. The broker never grants itself the group roles: the lease role's own
 * membership carries the privileges REASSIGN needs on its group, and a GRANT
 * on a group would lock it against the exchange's `CREATE ROLE … IN ROLE`
 * until the batch commits.
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

/** `GRANT x, y TO CURRENT_USER`, on 16+ with SET only (no inherited privileges). */
export function grantToSelfSql(serverVersion: number, roles: readonly RoleToRevoke[]): string {
  const options = serverVersion >= 160000 ? ' WITH INHERIT FALSE, SET TRUE' : '';
  return `GRANT ${names(roles)} TO CURRENT_USER${options}`;
}

/** As the role itself: end its sessions, waiting for each to exit so its temp tables are gone. */
function terminateSql(role: RoleToRevoke): string {
  return `SELECT count(pg_terminate_backend(pid, ${TERMINATE_WAIT_MS})) FROM pg_stat_activity WHERE usename = ${literal(role.name)} AND pid <> pg_backend_pid()`;
}

/** Acting as the role: hand its objects to its group (or drop them when it has none), drop its privileges. */
function releaseObjectsSql(role: RoleToRevoke, terminate: boolean): string[] {
  const statements = [`SET LOCAL ROLE ${ident(role.name)}`];
  if (terminate) statements.push(terminateSql(role));
  if (role.reassignTo !== null) statements.push(`REASSIGN OWNED BY ${ident(role.name)} TO ${ident(role.reassignTo)}`);
  statements.push(`DROP OWNED BY ${ident(role.name)}`, 'RESET ROLE');
  return statements;
}

/**
 * The whole default revocation for the database the broker is connected to:
 * grant, then per role (as that role) terminate, REASSIGN OWNED, DROP OWNED,
 * and finally DROP ROLE IF EXISTS for all. Roles in `idle` are known to own
 * nothing here, hold no session and be past VALID UNTIL (so no new session can
 * start): they skip straight to DROP ROLE, which fails, rolling everything
 * back, if that changed. Fails with SQLSTATE 42704 if any role is already gone
 * (callers check first).
 */
export function revokeBatchSql(serverVersion: number, roles: readonly RoleToRevoke[], idle: readonly RoleToRevoke[] = []): string {
  if (roles.length + idle.length === 0) throw new TypeError('revokeBatchSql needs at least one role');
  const busy = roles.length > 0 ? [grantToSelfSql(serverVersion, roles), ...roles.flatMap((r) => releaseObjectsSql(r, true))] : [];
  return [...busy, `DROP ROLE IF EXISTS ${names([...roles, ...idle])}`].join(';\n');
}

/**
 * For another database of the same cluster where the roles own objects or
 * hold privileges: hand over and drop them there, keep the roles (they are
 * dropped where the lease lives), and take the temporary grant back.
 */
export function releaseElsewhereSql(serverVersion: number, roles: readonly RoleToRevoke[]): string {
  if (roles.length === 0) throw new TypeError('releaseElsewhereSql needs at least one role');
  return [grantToSelfSql(serverVersion, roles), ...roles.flatMap((r) => releaseObjectsSql(r, false)), `REVOKE ${names(roles)} FROM CURRENT_USER`].join(';\n');
}

/**
 * Before a role's custom revocation statements: end its sessions, then take
 * the temporary grant back so the custom statements run with the broker's
 * own privileges only.
 */
export function terminateOnlySql(serverVersion: number, role: RoleToRevoke): string {
  return [
    grantToSelfSql(serverVersion, [role]),
    `SET LOCAL ROLE ${ident(role.name)}`,
    terminateSql(role),
    'RESET ROLE',
    `REVOKE ${ident(role.name)} FROM CURRENT_USER`,
  ].join(';\n');
}
