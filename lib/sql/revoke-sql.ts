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
import { CREATOR_SCHEMA } from './creator-names.js';
import { administerSql, type CreatorMode, DIRECT } from './creator-sql.js';
import { ident, literal } from './quote.js';

export interface RoleToRevoke {
  name: string;
  /** Group the role's objects are handed to; null drops them instead. */
  reassignTo: string | null;
  /** The creator role holding ADMIN OPTION on it (sql/creator-sql.ts), when not the broker. */
  creator?: string | null;
}

/** How long each session of a revoked role is given to exit (ms). */
export const TERMINATE_WAIT_MS = 5000;

function names(roles: readonly RoleToRevoke[]): string {
  return roles.map((r) => ident(r.name)).join(', ');
}

function grantOptions(serverVersion: number): string {
  return serverVersion >= 160000 ? ' WITH INHERIT FALSE, SET TRUE' : '';
}

/**
 * Grants the roles to the broker (SESSION_USER), on 16+ with SET only (no
 * inherited privileges) — as the broker, or through each role's creator.
 */
export function grantToSelfSql(serverVersion: number, roles: readonly RoleToRevoke[], creators: CreatorMode = DIRECT): string[] {
  if (creators.mode === 'direct') return [`GRANT ${names(roles)} TO SESSION_USER${grantOptions(serverVersion)}`];
  return roles.map((r) => administerSql(creators, r.name, `GRANT ${ident(r.name)} TO SESSION_USER${grantOptions(serverVersion)}`));
}

/** Takes the grants of `grantToSelfSql` back, by the same grantor. */
function revokeFromSelfSql(roles: readonly RoleToRevoke[], creators: CreatorMode): string[] {
  if (creators.mode === 'direct') return [`REVOKE ${names(roles)} FROM SESSION_USER`];
  return roles.map((r) => administerSql(creators, r.name, `REVOKE ${ident(r.name)} FROM SESSION_USER`));
}

/** DROP ROLE IF EXISTS for all, each by the role that administers it. */
function dropRolesSql(roles: readonly RoleToRevoke[], creators: CreatorMode): string {
  if (creators.mode === 'direct') return `DROP ROLE IF EXISTS ${names(roles)}`;
  const list = `ARRAY[${roles.map((r) => literal(r.name)).join(', ')}]::text[]`;
  return `SELECT ${CREATOR_SCHEMA}.administer(n, format('DROP ROLE IF EXISTS %I', n)) FROM unnest(${list}) AS n`;
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
 * (callers check first). With creator roles each grant and drop is made by the
 * role's creator (sql/creator-sql.ts).
 */
export function revokeBatchSql(
  serverVersion: number,
  roles: readonly RoleToRevoke[],
  idle: readonly RoleToRevoke[] = [],
  creators: CreatorMode = DIRECT,
): string {
  if (roles.length + idle.length === 0) throw new TypeError('revokeBatchSql needs at least one role');
  const busy =
    roles.length > 0 ? [...grantToSelfSql(serverVersion, roles, creators), ...roles.flatMap((r) => releaseObjectsSql(r, true))] : [];
  return [...busy, dropRolesSql([...roles, ...idle], creators)].join(';\n');
}

/**
 * For another database of the same cluster where the roles own objects or
 * hold privileges: hand over and drop them there, keep the roles (they are
 * dropped where the lease lives), and take the temporary grant back. That
 * database has no `pgmint_roles` functions, so a role's creator grants and
 * revokes it under `SET LOCAL ROLE <creator>`, which the broker (holding
 * ADMIN OPTION on its creators) allows itself for this transaction only.
 */
export function releaseElsewhereSql(serverVersion: number, roles: readonly RoleToRevoke[]): string {
  if (roles.length === 0) throw new TypeError('releaseElsewhereSql needs at least one role');
  const creators = [...new Set(roles.flatMap((r) => (r.creator ? [r.creator] : [])))];
  const asCreator = (r: RoleToRevoke, statement: string) =>
    r.creator ? [`SET LOCAL ROLE ${ident(r.creator)}`, statement, 'RESET ROLE'] : [statement];
  const own = roles.filter((r) => !r.creator);
  return [
    ...creators.map((c) => `GRANT ${ident(c)} TO SESSION_USER WITH INHERIT FALSE, SET TRUE`),
    ...(own.length > 0 ? [`GRANT ${names(own)} TO SESSION_USER${grantOptions(serverVersion)}`] : []),
    ...roles.filter((r) => r.creator).flatMap((r) => asCreator(r, `GRANT ${ident(r.name)} TO SESSION_USER${grantOptions(serverVersion)}`)),
    ...roles.flatMap((r) => releaseObjectsSql(r, false)),
    ...roles.flatMap((r) => asCreator(r, `REVOKE ${ident(r.name)} FROM SESSION_USER`)),
    ...creators.map((c) => `REVOKE ${ident(c)} FROM SESSION_USER`),
  ].join(';\n');
}

/**
 * Before a role's custom revocation statements: end its sessions, then take
 * the temporary grant back so the custom statements run with the privileges
 * of the role that administers the lease role only.
 */
export function terminateOnlySql(serverVersion: number, role: RoleToRevoke, creators: CreatorMode = DIRECT): string {
  return [
    ...grantToSelfSql(serverVersion, [role], creators),
    `SET LOCAL ROLE ${ident(role.name)}`,
    terminateSql(role),
    'RESET ROLE',
    ...revokeFromSelfSql([role], creators),
  ].join(';\n');
}
