/**
 * Creating and renewing lease logins on a target. A creation is prepared
 * first — its statements built and who runs them found (a creator role, or
 * the broker for custom statements) — so the exchange learns of a bad
 * definition or an unreachable target before it writes anything; the
 * prepared creation then runs in one all-or-nothing round trip: claiming a
 * standby role when one is ready (standby-roles.ts), else CREATE ROLE.
 *
 * @example
 *   const creation = await prepareLeaseRole(target, role, { name, expiresAt, pair });
 *   await creation.create();
 *   creation.password; // the login's password: the standby's or the pair's
 */
import { DatabaseError, sanitizeDatabaseError } from '../db/sanitize.js';
import { administerSql } from '../sql/creator-sql.js';
import type { PasswordPair } from '../crypto/verifier-pool.js';
import { claimStandbySql, type LeaseRoleDefinition, leaseCreationSql, leaseRenewalSql } from '../sql/role-sql.js';
import type { Target } from './connections.js';
import { createAsCreator } from './creators.js';

export interface LeaseLogin {
  name: string;
  expiresAt: Date;
  /** The password to create the login with when no standby is ready; given back to the pool if unused. */
  pair: PasswordPair;
}

export interface PreparedLeaseRole {
  /** Creates the login; all-or-nothing, so a refusal leaves no role behind. */
  create(): Promise<void>;
  /** The login's password, once `create()` has resolved. */
  readonly password: string;
  /** A standby role will be claimed: the creation is a round trip, not a CREATE ROLE. */
  claimsStandby: boolean;
  /** Gives an unclaimed standby back when `create()` was never called (the lease was refused first). */
  release(): void;
  /**
   * Whether the orphan sweep would find the login if no lease row ever tracked it: made by
   * pgmint's own statement, by a creator role (whose ADMIN OPTION PostgreSQL 16+ records) or
   * into the definition's groups. Custom creation statements may make anything.
   */
  findableAsOrphan: boolean;
}

export async function prepareLeaseRole(target: Target, definition: LeaseRoleDefinition, login: LeaseLogin): Promise<PreparedLeaseRole> {
  const statements = leaseCreationSql(definition, { name: login.name, verifier: login.pair.verifier, expiresAt: login.expiresAt });
  // Custom statements run as the broker, with its privileges; the default goes through a creator role.
  const creators = definition.creationStatements ? ({ mode: 'direct' } as const) : await target.creators();
  const findableAsOrphan = !definition.creationStatements && (creators.mode === 'creators' || definition.memberOf.length > 0);
  let password: string | undefined;
  const groups = definition.memberOf;
  // Standbys are made only where the orphan sweep would find one a crash left behind.
  let standby = findableAsOrphan ? target.standbys.take(definition) : null;
  return {
    claimsStandby: standby !== null,
    release() {
      if (standby) target.standbys.giveBack(standby);
      standby = null;
    },
    async create() {
      const claimed = standby;
      standby = null;
      if (claimed) {
        try {
          await createAsCreator(target.sql, creators, {
            name: claimed.name,
            statements: claimStandbySql(claimed.name, login.name, login.expiresAt),
            groups,
          });
          password = claimed.password;
          target.passwords.putBack(login.pair);
          return;
        } catch (err) {
          // Unanswered: the claim may still commit, under the lease's name; the caller handles that.
          if (sanitizeDatabaseError(err).unreachable) throw err;
          // Refused (the standby was dropped behind pgmint's back): nothing changed, create the login.
          target.standbys.discard(definition);
        }
      }
      await createAsCreator(target.sql, creators, { name: login.name, statements, groups });
      password = login.pair.password;
    },
    get password() {
      if (password === undefined) throw new Error('the login has not been created');
      return password;
    },
    findableAsOrphan,
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
