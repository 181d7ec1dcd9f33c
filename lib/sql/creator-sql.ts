/**
 * The statements behind creator roles (lib/targets/creators.ts says why and
 * when they run): the probe of a target, the `pgmint_roles.administer`
 * dispatcher, provisioning one creator, and running statements as the role
 * that administers a lease role. Pure text; lib/targets/ sends it.
 *
 * @example
 *   administerSql({ mode: 'creators' }, 'pgm_prod_api_k3v9q2x7ab', 'DROP ROLE IF EXISTS "pgm_prod_api_k3v9q2x7ab"');
 *   // SELECT pgmint_roles.administer('pgm_prod_api_k3v9q2x7ab', 'DROP ROLE IF EXISTS "pgm_prod_api_k3v9q2x7ab"')
 */
import { CREATOR_SCHEMA } from './creator-names.js';
import { ident, literal } from './quote.js';
import type { Statement } from './statement.js';

/** How lease roles are administered on a target: by the broker itself, or each by its creator role. */
export interface CreatorMode {
  mode: 'direct' | 'creators';
}

export const DIRECT: CreatorMode = { mode: 'direct' };

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

/**
 * SQL that runs `statements` with the right to administer `role`: through
 * `pgmint_roles.administer` when creators are on, as is otherwise. For
 * embedding in a multi-statement script; values are quoted literals.
 */
export function administerSql(creators: CreatorMode, role: string, statements: string): string {
  if (creators.mode === 'direct') return statements;
  return `SELECT ${CREATOR_SCHEMA}.administer(${literal(role)}, ${literal(statements)})`;
}

/** Runs `$1` (a lease role's all-or-nothing creation statements) as `creator`. */
export function runAsCreatorSql(creator: string): string {
  return `SELECT ${CREATOR_SCHEMA}.${ident(creator)}($1)`;
}

/** The server version, whether the broker owns `pgmint_roles`, and whether the dispatcher is installed. */
export function creatorProbeSql(): Statement {
  return {
    text: `SELECT current_setting('server_version_num')::int AS version,
       (SELECT n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) FROM pg_namespace n WHERE n.nspname = $1) AS owned,
       to_regprocedure($1 || '.administer(text,text)') IS NOT NULL AS dispatcher`,
    params: [CREATOR_SCHEMA],
  };
}

/** The creators already provisioned, each with the groups it holds WITH ADMIN OPTION. */
export function provisionedCreatorsSql(): Statement {
  return {
    text: `SELECT p.proname::text AS creator,
       array(SELECT g.rolname::text FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
              WHERE a.member = p.proowner AND a.admin_option AND NOT g.rolcanlogin) AS groups
     FROM pg_proc p WHERE p.pronamespace = to_regnamespace($1) AND p.prosecdef AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = p.proname)`,
    params: [CREATOR_SCHEMA],
  };
}

/** Concurrent brokers provisioning on one target serialize on this lock. */
function provisionLockSql(): string {
  return `SELECT pg_advisory_xact_lock(hashtextextended(${literal(`${CREATOR_SCHEMA}:provision`)}, 0))`;
}

/** `administer(role, statements)`: runs them as the role's creator, or as the broker for roles it created itself. */
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

/** Installs the dispatcher, executable by the broker alone; one simple query, so all of it or none. */
export function installDispatcherSql(broker: string): string {
  return [
    provisionLockSql(),
    ADMINISTER,
    `REVOKE ALL ON FUNCTION ${CREATOR_SCHEMA}.administer(text, text) FROM PUBLIC`,
    `GRANT EXECUTE ON FUNCTION ${CREATOR_SCHEMA}.administer(text, text) TO ${ident(broker)}`,
  ].join(';\n');
}

/**
 * Creates (or repairs) one creator and its function, and gives it ADMIN
 * OPTION on `groups`. Idempotent, all-or-nothing (one implicit transaction).
 * The broker takes SET on the creator only inside this transaction, to create
 * the function as it.
 */
export function provisionCreatorSql(broker: string, creator: string, groups: readonly string[]): string {
  const c = ident(creator);
  const fn = `${CREATOR_SCHEMA}.${c}(text)`;
  return [
    provisionLockSql(),
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
  ].join(';\n');
}
