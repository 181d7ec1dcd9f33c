/**
 * SQL text for the four things pgmint does to a target's roles: create a
 * lease login, renew it, revoke it (and end its sessions), and set the
 * broker's own password during root rotation. Every name goes through
 * `ident()` and every value through `literal()`; passwords are always SCRAM
 * verifiers, never plaintext.
 *
 * @example
 *   const name = leaseRoleName({ namespace: 'prod', serviceAccount: 'api', random: randomSuffix() });
 *   await sql.query(createLoginRoleSql({ name, verifier, validUntil: expiresAt, memberOf: ['app_readonly'] }));
 */
import { isScramVerifier } from '../crypto/scram.js';
import { ident, literal, MAX_IDENTIFIER_BYTES } from './quote.js';

export interface LoginRoleSpec {
  name: string;
  /** SCRAM-SHA-256 verifier (see crypto/scram.ts); a plaintext password is refused. */
  verifier: string;
  validUntil: Date;
  /** Group roles whose privileges the login inherits. */
  memberOf: string[];
  /** Schemas for the role's search_path; `[]` sets it empty. */
  searchPath?: string[];
  /** Sets default_transaction_read_only. A convenience, not a boundary: privileges come from the groups. */
  readOnly?: boolean;
  /** CONNECTION LIMIT; -1 means none. */
  connectionLimit?: number;
}

function timestamp(date: Date): string {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new TypeError('validUntil must be a valid Date');
  return literal(date.toISOString());
}

function verifierLiteral(verifier: string): string {
  if (!isScramVerifier(verifier)) throw new TypeError('expected a SCRAM-SHA-256 verifier, not a password');
  return literal(verifier);
}

/**
 * `CREATE ROLE … LOGIN INHERIT PASSWORD … VALID UNTIL … IN ROLE …` plus its
 * `ALTER ROLE … SET` lines, as one multi-statement string: sent as one simple
 * query it runs as one implicit transaction, so it is all-or-nothing.
 */
export function createLoginRoleSql(spec: LoginRoleSpec): string {
  const role = ident(spec.name);
  let create = `CREATE ROLE ${role} LOGIN INHERIT PASSWORD ${verifierLiteral(spec.verifier)} VALID UNTIL ${timestamp(spec.validUntil)}`;
  if (spec.connectionLimit !== undefined) {
    if (!Number.isSafeInteger(spec.connectionLimit) || spec.connectionLimit < -1) {
      throw new TypeError('connectionLimit must be an integer >= -1');
    }
    create += ` CONNECTION LIMIT ${spec.connectionLimit}`;
  }
  if (!Array.isArray(spec.memberOf)) throw new TypeError('memberOf must be an array');
  if (spec.memberOf.length > 0) create += ` IN ROLE ${spec.memberOf.map(ident).join(', ')}`;
  const statements = [create];
  if (spec.searchPath !== undefined) {
    const path = spec.searchPath.length > 0 ? spec.searchPath.map(ident).join(', ') : "''";
    statements.push(`ALTER ROLE ${role} SET search_path TO ${path}`);
  }
  if (spec.readOnly) statements.push(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
  return statements.join(';\n');
}

/** `ALTER ROLE … VALID UNTIL …`: extends (or shortens) a lease. */
export function renewRoleSql(name: string, validUntil: Date): string {
  return `ALTER ROLE ${ident(name)} VALID UNTIL ${timestamp(validUntil)}`;
}

/**
 * Revokes a lease role in the current database, as one transaction:
 *
 *   GRANT x TO CURRENT_USER;                       -- see below
 *   SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'x' …;
 *   REASSIGN OWNED BY x TO g;
 *   DROP OWNED BY x;
 *   DROP ROLE IF EXISTS x
 *
 * Why the GRANT: REASSIGN OWNED, DROP OWNED and pg_terminate_backend need the
 * privileges of the lease role (and REASSIGN those of `g` too). A broker with
 * CREATEROLE and nothing more lacks them on PG15 and on PG16+ alike (its
 * automatic ADMIN OPTION is INHERIT FALSE) and gets SQLSTATE 42501. Granting
 * itself the lease role (INHERIT, by the broker's default INHERIT attribute)
 * gives it both through the lease's own membership, for the length of this
 * transaction only: the membership disappears with the role, and if any step
 * fails everything rolls back. Superusers need no grant; it is harmless.
 *
 * REASSIGN/DROP OWNED act on the current database only: run
 * `releaseOwnedSql` in every other database the role may own objects in
 * first. Unlike `DROP ROLE IF EXISTS`, the GRANT fails with SQLSTATE 42704
 * (undefined_object) when the role does not exist: callers treat that as
 * already revoked.
 */
export function revokeRoleSql(name: string, reassignTo: string): string {
  const role = ident(name);
  return [
    `GRANT ${role} TO CURRENT_USER`,
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ${literal(name)} AND pid <> pg_backend_pid()`,
    `REASSIGN OWNED BY ${role} TO ${ident(reassignTo)}`,
    `DROP OWNED BY ${role}`,
    `DROP ROLE IF EXISTS ${role}`,
  ].join(';\n');
}

/**
 * Hands a role's objects in the current database to `reassignTo` and drops
 * its remaining privileges there, without dropping the role: for the other
 * databases before `revokeRoleSql` runs in the last one. The temporary
 * self-grant (see `revokeRoleSql`) is revoked again at the end.
 */
export function releaseOwnedSql(name: string, reassignTo: string): string {
  const role = ident(name);
  return [
    `GRANT ${role} TO CURRENT_USER`,
    `REASSIGN OWNED BY ${role} TO ${ident(reassignTo)}`,
    `DROP OWNED BY ${role}`,
    `REVOKE ${role} FROM CURRENT_USER`,
  ].join(';\n');
}

/**
 * Ends every session of a role; the name travels as `$1`. Needs the role's
 * privileges or pg_signal_backend (a CREATEROLE-only broker gets 42501, which
 * is why `revokeRoleSql` terminates sessions itself after its self-grant).
 */
export function terminateSessionsSql(name: string): { text: string; params: [string] } {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('terminateSessionsSql needs a role name');
  return {
    text: 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
    params: [name],
  };
}

/** `ALTER ROLE x PASSWORD '<verifier>'` for root rotation. */
export function alterPasswordSql(name: string, verifier: string): string {
  return `ALTER ROLE ${ident(name)} PASSWORD ${verifierLiteral(verifier)}`;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const MIN_SUFFIX_LENGTH = 8;

/** `len` random lowercase base32 characters (5 bits each; the default 10 gives 50 bits). */
export function randomSuffix(len = 10): string {
  if (!Number.isSafeInteger(len) || len < MIN_SUFFIX_LENGTH || len > 32) {
    throw new TypeError(`random suffix length must be ${MIN_SUFFIX_LENGTH}..32`);
  }
  let out = '';
  for (const byte of crypto.getRandomValues(new Uint8Array(len))) out += BASE32[byte & 31];
  return out;
}

const PREFIX = /^[a-z][a-z0-9]{0,15}$/;

/** Why a lease prefix is unusable, or null. Checked at start-up and registration. */
export function checkLeasePrefix(prefix: string): string | null {
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) return 'lease prefix must be 1-16 of [a-z0-9], starting with a letter';
  if (prefix === 'pg') return 'lease prefix "pg" would give reserved pg_ role names';
  return null;
}

function fold(part: string): string {
  return part
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

function cut(part: string, max: number): string {
  return part.slice(0, Math.max(0, max)).replace(/_+$/, '');
}

/**
 * `<prefix>_<namespace>_<serviceAccount>_<random>`: lowercase, anything
 * outside [a-z0-9] folded to one `_`, at most 63 bytes. The namespace and
 * service account are shortened as needed (fairly, longest first); the random
 * suffix (≥ 8 lowercase base32/base36 characters) is always kept whole.
 */
export function leaseRoleName(opts: {
  prefix?: string;
  namespace: string;
  serviceAccount: string;
  random?: string;
}): string {
  const prefix = opts.prefix ?? 'pgm';
  const problem = checkLeasePrefix(prefix);
  if (problem) throw new TypeError(problem);
  const random = opts.random ?? randomSuffix();
  if (typeof random !== 'string' || !/^[a-z0-9]{8,32}$/.test(random)) {
    throw new TypeError('random suffix must be 8-32 of [a-z0-9]');
  }
  let ns = fold(String(opts.namespace ?? ''));
  let sa = fold(String(opts.serviceAccount ?? ''));
  // Room for the two middle parts and the underscore between them.
  const room = MAX_IDENTIFIER_BYTES - prefix.length - random.length - 3;
  if (ns.length + sa.length > room) {
    const half = Math.floor(room / 2);
    if (ns.length <= half) sa = cut(sa, room - ns.length);
    else if (sa.length <= half) ns = cut(ns, room - sa.length);
    else {
      ns = cut(ns, half);
      sa = cut(sa, room - half);
    }
  }
  return [prefix, ns, sa, random].filter((p) => p.length > 0).join('_');
}
