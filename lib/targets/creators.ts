/**
 * Creator roles: on PostgreSQL 16+ lease roles are created, renewed and
 * dropped by one of a fixed set of NOLOGIN `CREATEROLE` roles that the broker
 * owns, not by the broker itself.
 *
 * Why: since PostgreSQL 16 a non-superuser that creates a role is granted
 * ADMIN OPTION on it, and every CREATE ROLE … IN ROLE, ALTER ROLE and DROP
 * ROLE it runs re-walks all of those grants (`is_admin_of_role`, with the
 * membership caches invalidated by each change). With the broker as the one
 * creator each statement costs time proportional to the live lease roles, so
 * a burst or a sweep of n roles costs n². Spread over `count` creators, each
 * walks about n / count grants: 10,000 live roles cost a DROP ROLE ~28 ms as
 * the broker and ~0.4 ms through 256 creators (bench/ measures it).
 *
 * How: the broker owns the schema `pgmint_roles` in the target database (the
 * bootstrap creates it) and puts one SECURITY DEFINER function per creator
 * there, owned by that creator and executable by the broker alone:
 * `pgmint_roles."<creator>"(statements text)` runs `statements` as the
 * creator. The broker never becomes a creator on the hot path (SET ROLE would
 * re-walk every creator's grants). `pgmint_roles.administer(role, statements)`
 * finds the creator that holds ADMIN OPTION on a role and runs the statements
 * as it — or as the broker, for roles the broker created itself (before this
 * existed, or with custom creation statements).
 *
 * A creator holds CREATEROLE and ADMIN OPTION on the groups it hands out
 * (INHERIT FALSE, SET FALSE), exactly what the broker holds: running SQL as a
 * creator gives the broker nothing it could not already grant itself.
 * Creators are provisioned on first use, one at a time, under an advisory lock.
 *
 * PostgreSQL 15 and older, or a target without the schema, keep the broker as
 * the creator (`direct`).
 *
 * @example
 *   const creators = await probeCreators(target.sql, db.adminUser, 1000);
 *   await createLeaseRole(target.sql, creators, { name, statements, groups: ['app_readonly'] });
 */
import type { Queryable, Sql } from '../db/port.js';
import { sanitizeDatabaseError } from '../db/sanitize.js';
import { ident, literal, MAX_IDENTIFIER_BYTES, utf8Length } from '../sql/quote.js';

export const CREATOR_SCHEMA = 'pgmint_roles';

export type Creators =
  | { mode: 'direct' }
  | {
      mode: 'creators';
      /** The broker's role name. */
      broker: string;
      count: number;
      /** Creators known to be provisioned, with the groups each holds WITH ADMIN OPTION. */
      ready: Map<string, Set<string>>;
      /** Provisioning in flight in this process, so concurrent exchanges wait for one. */
      inflight: Map<string, Promise<void>>;
    };

const UNDEFINED_FUNCTION = '42883';
const INSUFFICIENT_PRIVILEGE = '42501';

/**
 * `<broker>_c<k>`. A broker name too long for that is cut and marked with a
 * hash of the whole name, so two long broker names sharing a prefix never
 * share creators.
 */
export function creatorName(broker: string, index: number): string {
  const suffix = `_c${index}`;
  if (utf8Length(broker) + suffix.length <= MAX_IDENTIFIER_BYTES) return `${broker}${suffix}`;
  const mark = `_${fnv1a(broker).toString(16).padStart(8, '0')}`;
  let head = broker;
  while (utf8Length(head) + mark.length + suffix.length > MAX_IDENTIFIER_BYTES) head = head.slice(0, -1);
  return `${head}${mark}${suffix}`;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** FNV-1a of the role name: a lease's creator is fixed by its name, spread evenly. */
export function creatorIndex(roleName: string, count: number): number {
  return fnv1a(roleName) % count;
}

/**
 * SQL: the name of the creator (a role with a function of its own name in
 * `pgmint_roles`) holding ADMIN OPTION on the role whose oid `roleOid` gives,
 * or NULL when the broker itself administers it.
 */
export function creatorOfSql(roleOid: string): string {
  return `(SELECT m.rolname::text FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member
    WHERE a.roleid = ${roleOid} AND a.admin_option
      AND to_regprocedure(format('${CREATOR_SCHEMA}.%I(text)', m.rolname)) IS NOT NULL LIMIT 1)`;
}

const ADMINISTER = `CREATE OR REPLACE FUNCTION ${CREATOR_SCHEMA}.administer(role_name text, statements text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  creator text := ${creatorOfSql('(SELECT oid FROM pg_roles WHERE rolname = role_name)')};
BEGIN
  IF creator IS NULL THEN
    EXECUTE statements;
  ELSE
    EXECUTE format('SELECT ${CREATOR_SCHEMA}.%I($1)', creator) USING statements;
  END IF;
END
$fn$`;

/**
 * Which way lease roles are administered on this target: one query when the
 * target is first used. Creators need PostgreSQL 16+ and a `pgmint_roles`
 * schema owned by the broker; the dispatcher function is installed here if
 * missing.
 */
export async function probeCreators(sql: Queryable, broker: string, count: number): Promise<Creators> {
  if (count < 1) return { mode: 'direct' };
  const { rows } = await sql.query<{ version: number; owned: boolean | null; dispatcher: boolean }>(
    `SELECT current_setting('server_version_num')::int AS version,
       (SELECT n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) FROM pg_namespace n WHERE n.nspname = $1) AS owned,
       to_regprocedure($1 || '.administer(text,text)') IS NOT NULL AS dispatcher`,
    [CREATOR_SCHEMA],
  );
  const row = rows[0]!;
  if (row.version < 160000 || !row.owned) return { mode: 'direct' };
  if (!row.dispatcher) await installDispatcher(sql, broker);
  // What is provisioned already, so that steady-state creations never take the error path
  // (a failed statement costs the pooled connection, which pg then replaces).
  const { rows: provisioned } = await sql.query<{ creator: string; groups: string[] }>(
    `SELECT p.proname::text AS creator,
       array(SELECT g.rolname::text FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
              WHERE a.member = p.proowner AND a.admin_option AND NOT g.rolcanlogin) AS groups
     FROM pg_proc p WHERE p.pronamespace = to_regnamespace($1) AND p.prosecdef AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = p.proname)`,
    [CREATOR_SCHEMA],
  );
  const ready = new Map(provisioned.map((p) => [p.creator, new Set(p.groups)]));
  return { mode: 'creators', broker, count, ready, inflight: new Map() };
}

async function installDispatcher(sql: Queryable, broker: string): Promise<void> {
  // One simple query is one implicit transaction: all of it or none.
  await sql.query(
    [
      `SELECT pg_advisory_xact_lock(hashtextextended(${literal(`${CREATOR_SCHEMA}:provision`)}, 0))`,
      ADMINISTER,
      `REVOKE ALL ON FUNCTION ${CREATOR_SCHEMA}.administer(text, text) FROM PUBLIC`,
      `GRANT EXECUTE ON FUNCTION ${CREATOR_SCHEMA}.administer(text, text) TO ${ident(broker)}`,
    ].join(';\n'),
  );
}

/**
 * Creates (or repairs) one creator and its function, and gives it ADMIN
 * OPTION on `groups`. Idempotent, all-or-nothing (one implicit transaction);
 * concurrent brokers serialize on an advisory lock. The broker takes SET on
 * the creator only inside this transaction, to create the function as it.
 */
export async function provisionCreator(sql: Queryable, broker: string, creator: string, groups: readonly string[]): Promise<void> {
  const c = ident(creator);
  const fn = `${CREATOR_SCHEMA}.${c}(text)`;
  await sql.query(
    [
      `SELECT pg_advisory_xact_lock(hashtextextended(${literal(`${CREATOR_SCHEMA}:provision`)}, 0))`,
      `DO $do$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(creator)}) THEN
           CREATE ROLE ${c} NOLOGIN NOINHERIT CREATEROLE;
         END IF;
       END $do$`,
      `GRANT ${c} TO SESSION_USER WITH INHERIT FALSE, SET TRUE`,
      `GRANT USAGE, CREATE ON SCHEMA ${CREATOR_SCHEMA} TO ${c}`,
      ...groups.map((g) => `GRANT ${ident(g)} TO ${c} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`),
      `SET LOCAL ROLE ${c}`,
      `CREATE OR REPLACE FUNCTION ${fn.replace('(text)', '(statements text)')} RETURNS void
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$ BEGIN EXECUTE statements; END $fn$`,
      `REVOKE ALL ON FUNCTION ${fn} FROM PUBLIC`,
      `GRANT EXECUTE ON FUNCTION ${fn} TO ${ident(broker)}`,
      'RESET ROLE',
      `REVOKE USAGE, CREATE ON SCHEMA ${CREATOR_SCHEMA} FROM ${c}`,
      `REVOKE ${c} FROM SESSION_USER`,
    ].join(';\n'),
  );
}

export interface NewLeaseRole {
  name: string;
  /** The CREATE ROLE statements (lib/sql/role-sql.ts); one all-or-nothing string. */
  statements: string;
  /** Groups the role joins: its creator needs ADMIN OPTION on them. */
  groups: readonly string[];
}

/**
 * Runs a lease role's creation statements as its creator: one round trip once
 * the creator is provisioned with the role's groups. A creator this process
 * has not seen yet is provisioned first. Should one have been dropped behind
 * pgmint's back (42883) or lost a group (42501), it is provisioned again and
 * the statements sent once more; they are all-or-nothing, so nothing was
 * created before.
 */
export async function createLeaseRole(sql: Sql, creators: Creators, role: NewLeaseRole): Promise<void> {
  if (creators.mode === 'direct') {
    await sql.query(role.statements);
    return;
  }
  const creator = creatorName(creators.broker, creatorIndex(role.name, creators.count));
  const call = `SELECT ${CREATOR_SCHEMA}.${ident(creator)}($1)`;
  const held = creators.ready.get(creator);
  if (!held || role.groups.some((g) => !held.has(g))) await provisionOnce(sql, creators, creator, role.groups);
  try {
    await sql.query(call, [role.statements]);
  } catch (err) {
    const state = sanitizeDatabaseError(err).sqlstate;
    if (state !== UNDEFINED_FUNCTION && state !== INSUFFICIENT_PRIVILEGE) throw err;
    creators.ready.delete(creator);
    await provisionOnce(sql, creators, creator, role.groups);
    await sql.query(call, [role.statements]);
  }
}

/** Provisions `creator` for `groups`, sharing one attempt among concurrent callers in this process. */
async function provisionOnce(sql: Queryable, creators: Extract<Creators, { mode: 'creators' }>, creator: string, groups: readonly string[]): Promise<void> {
  const key = `${creator}\0${groups.join('\0')}`;
  let pending = creators.inflight.get(key);
  if (!pending) {
    pending = provisionCreator(sql, creators.broker, creator, groups)
      .then(() => {
        const held = creators.ready.get(creator) ?? new Set<string>();
        for (const g of groups) held.add(g);
        creators.ready.set(creator, held);
      })
      .finally(() => creators.inflight.delete(key));
    creators.inflight.set(key, pending);
  }
  await pending;
}

/**
 * SQL that runs `statements` with the right to administer `role`: through
 * `pgmint_roles.administer` when creators are on, as is otherwise. For
 * embedding in a multi-statement script; values are quoted literals.
 */
export function administerSql(creators: Creators, role: string, statements: string): string {
  if (creators.mode === 'direct') return statements;
  return `SELECT ${CREATOR_SCHEMA}.administer(${literal(role)}, ${literal(statements)})`;
}

/** Provisions every creator up front (a warm start for benchmarks and `pgmint db prepare`). */
export async function provisionAllCreators(sql: Sql, creators: Creators, groups: readonly string[]): Promise<number> {
  if (creators.mode === 'direct') return 0;
  for (let i = 0; i < creators.count; i++) await provisionCreator(sql, creators.broker, creatorName(creators.broker, i), groups);
  return creators.count;
}
