/**
 * SQL text for creating a lease login, renewing it, and setting the broker's
 * own password during root rotation (revocation: revoke-sql.ts). A role
 * definition's custom statements replace the default ones. Every name goes
 * through `ident()` and every value through `literal()`; passwords are always
 * SCRAM verifiers, never plaintext.
 *
 * @example
 *   const sql = createLoginRoleSql({ name: 'pgm_prod_api_k3v9q2x7ab', verifier, validUntil: expiresAt, memberOf: ['app_readonly'] });
 */
import { isScramVerifier } from '../crypto/scram.js';
import { ident, literal } from './quote.js';
import { renderTemplate } from './template.js';

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
  /** NOLOGIN instead of LOGIN: a standby role, which becomes a login when claimed (claimStandbySql). */
  standby?: boolean;
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
  let create = `CREATE ROLE ${role} ${spec.standby ? 'NOLOGIN' : 'LOGIN'} INHERIT PASSWORD ${verifierLiteral(spec.verifier)} VALID UNTIL ${timestamp(spec.validUntil)}`;
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

/**
 * Turns a standby role into a lease login: renamed to the lease's name, able
 * to log in, valid until the lease's expiry. A SCRAM verifier survives the
 * rename (only MD5 ones are salted with the name). One all-or-nothing string.
 */
export function claimStandbySql(standby: string, name: string, validUntil: Date): string {
  return [
    `ALTER ROLE ${ident(standby)} RENAME TO ${ident(name)}`,
    `ALTER ROLE ${ident(name)} LOGIN VALID UNTIL ${timestamp(validUntil)}`,
  ].join(';\n');
}

/** `ALTER ROLE … VALID UNTIL …`: extends (or shortens) a lease. */
export function renewRoleSql(name: string, validUntil: Date): string {
  return `ALTER ROLE ${ident(name)} VALID UNTIL ${timestamp(validUntil)}`;
}

/** What of a role definition shapes its lease logins' statements. */
export interface LeaseRoleDefinition {
  memberOf: string[];
  searchPath: string[] | null;
  readOnly: boolean;
  creationStatements: string | null;
  renewStatements: string | null;
}

/** A lease login's creation: the definition's custom statements when it has them, else `createLoginRoleSql`. */
export function leaseCreationSql(definition: LeaseRoleDefinition, login: { name: string; verifier: string; expiresAt: Date }): string {
  if (definition.creationStatements) {
    return renderTemplate(definition.creationStatements, {
      name: login.name,
      password: login.verifier,
      expiration: login.expiresAt.toISOString(),
    });
  }
  return createLoginRoleSql({
    name: login.name,
    verifier: login.verifier,
    validUntil: login.expiresAt,
    memberOf: definition.memberOf,
    searchPath: definition.searchPath ?? undefined,
    readOnly: definition.readOnly,
  });
}

/** A lease login's renewal: the definition's custom statements when it has them, else `renewRoleSql`. */
export function leaseRenewalSql(renewStatements: string | null, name: string, expiresAt: Date): string {
  return renewStatements ? renderTemplate(renewStatements, { name, expiration: expiresAt.toISOString() }) : renewRoleSql(name, expiresAt);
}

/** `ALTER ROLE x PASSWORD '<verifier>'` for root rotation. */
export function alterPasswordSql(name: string, verifier: string): string {
  return `ALTER ROLE ${ident(name)} PASSWORD ${verifierLiteral(verifier)}`;
}
