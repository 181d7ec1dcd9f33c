/**
 * The target port: everything pgmint sends to a customer's database goes
 * through here — creating, renewing and dropping lease logins (ending their
 * sessions), the broker's health, group-role and orphan lookups, checking a
 * new registration's credential, and the root rotation's logins and password
 * change. Statements are built by pure functions in lib/sql/; this folder
 * alone executes them, over pooled connections per target (connections.ts)
 * or, where the answer must come from a fresh login, one-off ones (logins.ts).
 * Domain code reaches it as `deps.targets` and hands it records, never SQL.
 *
 * @example
 *   const outcomes = await deps.targets.dropRoles(db, [{ name: lease.username, reassignTo: 'app_readonly', statements: null }]);
 *   outcomes.get(lease.username); // { outcome: 'revoked', sessions: 0 }
 */
import type { OrphanQuery } from '../sql/catalog-sql.js';
import type { LeaseRoleDefinition } from '../sql/role-sql.js';
import { checkHealth, missingRoles, orphanCandidates } from './catalog.js';
import { type ConnectionOptions, createConnections, type TargetAccess } from './connections.js';
import { type DropRequest, dropLeaseRoles } from './drop-roles.js';
import type { Limiter } from './limiter.js';
import { type LeaseLogin, type LeaseRenewal, prepareLeaseRole, renewLeaseRole } from './lease-roles.js';
import { type BrokerLogin, checkBroker, setRootPassword, tryRootLogin } from './logins.js';
import type { RootVersionName, TargetRecord } from './types.js';

export { DEFAULT_CREATOR_ROLES, type RefusalHandler } from './connections.js';
export type { DropOutcome, DropRequest } from './drop-roles.js';
export type { RenewOutcome } from './lease-roles.js';
export type { TargetHealth, OrphanCandidate } from './catalog.js';
export type { BrokerCheck } from './logins.js';
export type { LeaseRoleDefinition } from '../sql/role-sql.js';

export type TargetPoolOptions = ConnectionOptions;

export function createTargetPool(options: TargetPoolOptions) {
  const connections = createConnections(options);
  const access: TargetAccess = { connections, connect: options.connect, sealKey: options.sealKey };
  return {
    /** The pooled connection and limiter of a target: for the operations in lib/targets/ (and tests that watch the pool). */
    open: (db: TargetRecord) => connections.open(db),
    /** The per-target queue an exchange holds a slot of for its whole write sequence, so a burst waits in memory. */
    limiter: async (db: TargetRecord): Promise<Limiter> => (await connections.open(db)).limiter,
    /** Builds a lease login's creation and finds who runs it; run it with `.create()` (while holding a `limiter` slot). */
    prepareLeaseRole: async (db: TargetRecord, definition: LeaseRoleDefinition, login: LeaseLogin) =>
      prepareLeaseRole(await connections.open(db), definition, login),
    renewLeaseRole: async (db: TargetRecord, renewal: LeaseRenewal) => renewLeaseRole(await connections.open(db), renewal),
    /** Drops lease roles (ending their sessions unless asked `ifIdle`); never throws, every role gets an outcome. */
    dropRoles: (db: TargetRecord, roles: readonly DropRequest[]) => dropLeaseRoles(access, db, roles),
    checkHealth: (db: TargetRecord) => checkHealth(connections, db),
    missingRoles: (db: TargetRecord, names: readonly string[]) => missingRoles(connections, db, names),
    orphanCandidates: (db: TargetRecord, query: Omit<OrphanQuery, 'broker'>) => orphanCandidates(connections, db, query),
    /** Logs in with a credential before it is registered (a fresh connection, not pooled). */
    checkBroker: (login: BrokerLogin) => checkBroker(options.connect, login),
    tryRootLogin: (db: TargetRecord, version: RootVersionName) => tryRootLogin(access, db, version),
    setRootPassword: (db: TargetRecord, loginWith: RootVersionName, verifier: string) => setRootPassword(access, db, loginWith, verifier),
    /** Points the pool at the record's current credential (after a rotation); old sessions finish what they run. */
    follow: async (db: TargetRecord): Promise<void> => {
      await connections.open(db);
    },
    onRefused: connections.onRefused,
    close: connections.close,
  };
}

export type TargetPool = ReturnType<typeof createTargetPool>;
