/**
 * The SQL that lets PgBouncer authenticate pgmint's lease roles itself
 * (`auth_query`), without a password file and without letting an expired
 * lease in.
 *
 * PgBouncer checks a client's SCRAM proof against the verifier its
 * auth_query returns, then hands the client a server connection from the
 * pool — possibly one already logged in as that user. Postgres checks VALID
 * UNTIL only when a server connection logs in, so the lookup function in
 * PgBouncer's own documentation (reading pg_shadow, ignoring `valuntil`) lets
 * an expired lease back in whenever its pool still holds a connection. This
 * function answers only while the role's VALID UNTIL is in the future, only
 * for login roles with the lease prefix that are not superusers and carry a
 * SCRAM verifier. It reads pg_authid, which only a superuser may, so it is
 * SECURITY DEFINER and owned by the superuser who runs this SQL; only the
 * auth user PgBouncer logs in as may call it.
 *
 * Run it in every database PgBouncer fronts (auth_query runs in the database
 * the client asked for).
 *
 * @example
 *   console.log(pgbouncerAuthSql({ authUser: 'pgmint_pgbouncer', leasePrefix: 'pgm' }));
 */
import { ident, literal } from './quote.js';

export const PGBOUNCER_SCHEMA = 'pgmint_pgbouncer';

export interface PgbouncerAuthOptions {
  /** The role PgBouncer logs in as to run auth_query (`auth_user`). */
  authUser?: string;
  /** The lease prefix of the registered database (default `pgm`). */
  leasePrefix?: string;
  /** Create the auth user too (default true); it gets no password here: set one with psql's `\password`. */
  createAuthUser?: boolean;
}

/** The `auth_query` line for pgbouncer.ini. */
export const PGBOUNCER_AUTH_QUERY = `SELECT username, password FROM ${PGBOUNCER_SCHEMA}.lookup($1)`;

export function pgbouncerAuthSql(o: PgbouncerAuthOptions = {}): string {
  const authUser = ident(o.authUser ?? 'pgmint_pgbouncer');
  const schema = ident(PGBOUNCER_SCHEMA);
  const prefix = literal(`${o.leasePrefix ?? 'pgm'}_`);
  const lines = [
    '-- PgBouncer auth_query for pgmint lease roles. Run as a superuser (the function reads pg_authid), in every',
    '-- database PgBouncer fronts.',
    `DO $$ BEGIN IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN`,
    `  RAISE EXCEPTION 'run this as a superuser: the lookup function must be owned by a role that can read pg_authid'; END IF; END $$;`,
  ];
  if (o.createAuthUser !== false) {
    lines.push(
      '-- The role PgBouncer logs in as to look users up; it can do nothing else.',
      `CREATE ROLE ${authUser} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL;`,
    );
  }
  lines.push(
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    `REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC;`,
    "-- A lease role's SCRAM verifier, only while its VALID UNTIL is in the future: an expired lease is refused",
    '-- even when PgBouncer still pools a server connection logged in as it.',
    '-- No row at all otherwise (a set-returning function: never a row of NULLs).',
    `CREATE OR REPLACE FUNCTION ${schema}.lookup(p_user text)`,
    '  RETURNS TABLE (username text, password text) LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $f$',
    '    SELECT a.rolname::text, a.rolpassword FROM pg_catalog.pg_authid a',
    `    WHERE a.rolname = p_user AND starts_with(a.rolname, ${prefix}) AND a.rolcanlogin AND NOT a.rolsuper`,
    "      AND a.rolvaliduntil > now() AND starts_with(a.rolpassword, 'SCRAM-SHA-256$')",
    '  $f$;',
    `REVOKE ALL ON FUNCTION ${schema}.lookup(text) FROM PUBLIC;`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${authUser};`,
    `GRANT EXECUTE ON FUNCTION ${schema}.lookup(text) TO ${authUser};`,
  );
  return `${lines.join('\n')}\n`;
}
