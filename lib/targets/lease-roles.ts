/**
 * Creating and renewing lease logins on a target. A creation is prepared
 * first — its statements built and who runs them found (a creator role, or
 * the broker for custom statements) — so the exchange learns of a bad
 * definition or an unreachable target before it writes anything; the
 * prepared creation then runs in one all-or-nothing round trip.
 *
 * @example
 *   const creation = await prepareLeaseRole(target, role, { name, verifier, expiresAt });
 *   await creation.create();
 */
import { DatabaseError, sanitizeDatabaseError } from '../db/sanitize.js';
import { administerSql } from '../sql/creator-sql.js';
import { type LeaseRoleDefinition, leaseCreationSql, leaseRenewalSql } from '../sql/role-sql.js';
import type { Target } from './connections.js';
import { createAsCreator } from './creators.js';

export interface LeaseLogin {
  name: string;
  /** SCRAM-SHA-256 verifier of the login's password. */
  verifier: string;
  expiresAt: Date;
}

export interface PreparedLeaseRole {
  /** Creates the login; all-or-nothing, so a refusal leaves no role behind. */
  create(): Promise<void>;
  /**
   * Whether the orphan sweep would find the login if no lease row ever tracked it: made by
   * pgmint's own statement, by a creator role (whose ADMIN OPTION PostgreSQL 16+ records) or
   * into the definition's groups. Custom creation statements may make anything.
   */
  findableAsOrphan: boolean;
}

export async function prepareLeaseRole(target: Target, definition: LeaseRoleDefinition, login: LeaseLogin): Promise<PreparedLeaseRole> {
  const statements = leaseCreationSql(definition, login);
  // Custom statements run as the broker, with its privileges; the default goes through a creator role.
  const creators = definition.creationStatements ? ({ mode: 'direct' } as const) : await target.creators();
  return {
    create: () => createAsCreator(target.sql, creators, { name: login.name, statements, groups: definition.memberOf }),
    findableAsOrphan: !definition.creationStatements && (creators.mode === 'creators' || definition.memberOf.length > 0),
  };
}

export interface LeaseRenewal {
  name: string;
  expiresAt: Date;
  /** The role definition's custom renewal statements, which replace `ALTER ROLE … VALID UNTIL`. */
  renewStatements: string | null;
}

/** `absent`: the role was dropped behind pgmint's back (42704). */
export type RenewOutcome = { outcome: 'renewed' } | { outcome: 'absent' } | { outcome: 'failed'; error: DatabaseError };

/** Moves VALID UNTIL, as whichever role administers the lease role (its creator, or the broker). */
export async function renewLeaseRole(target: Target, renewal: LeaseRenewal): Promise<RenewOutcome> {
  const statement = leaseRenewalSql(renewal.renewStatements, renewal.name, renewal.expiresAt);
  try {
    const creators = await target.creators();
    await target.limiter.run(() => target.sql.query(administerSql(creators, renewal.name, statement)));
    return { outcome: 'renewed' };
  } catch (err) {
    const error = sanitizeDatabaseError(err);
    return error.sqlstate === '42704' ? { outcome: 'absent' } : { outcome: 'failed', error };
  }
}
