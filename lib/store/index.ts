/**
 * The control plane's one door: a repository per table family over one Sql,
 * and `transaction()`, which hands the same repositories bound to one
 * transaction. Every statement pgmint sends to its own schema is in lib/store/.
 *
 * @example
 *   const store = createStore(sql, { contextCacheMs: 1000 });
 *   const db = await store.databases.get('orders');
 *   await store.transaction(async (s) => {
 *     const lease = await s.leases.lock(id);
 *     await s.audit.append({ action: 'lease.renew', outcome: 'success', leaseId: id });
 *   });
 */
import type { Queryable, Sql } from '../db/port.js';
import { adminTokens } from './admin-tokens.js';
import { audit } from './audit.js';
import { databases } from './databases.js';
import { exchangeContext } from './exchange-context.js';
import { issuers } from './issuers.js';
import { jwksCache } from './jwks-cache.js';
import { leases } from './leases.js';
import { locks } from './locks.js';
import { roles } from './roles.js';

export interface StoreOptions {
  /** How long an exchange context is kept in memory (PGMINT_CONTEXT_CACHE_MS); 0 (the default) reads it every time. */
  contextCacheMs?: number;
}

type Repository = Record<string, (...args: never[]) => Promise<unknown>>;

/**
 * `repo` with `changed()` run after each method not listed in `reads` settles.
 * Naming the reads rather than the writes means a write method added later
 * invalidates without anyone remembering to.
 */
function notifying<T extends Repository>(repo: T, reads: ReadonlyArray<keyof T>, changed: () => void): T {
  const out: Repository = { ...repo };
  for (const [name, method] of Object.entries(repo)) {
    if (reads.includes(name)) continue;
    out[name] = async (...args: never[]) => {
      try {
        return await method(...args);
      } finally {
        changed();
      }
    };
  }
  return out as T;
}

/** Every repository over one Queryable; `changed` runs after each write to what an exchange context holds. */
function repositories(sql: Queryable, changed: () => void) {
  return {
    databases: notifying(databases(sql), ['get', 'list', 'dueForRotation'], changed),
    roles: notifying(roles(sql), ['get', 'list'], changed),
    issuers: notifying(issuers(sql), ['findByIssuer', 'get', 'list'], changed),
    leases: leases(sql),
    audit: audit(sql),
    jwksCache: jwksCache(sql),
    adminTokens: adminTokens(sql),
    locks: locks(sql),
  };
}

/** The repositories bound to one transaction, as `store.transaction()` hands them. */
export type StoreTransaction = ReturnType<typeof repositories>;

export function createStore(sql: Sql, options: StoreOptions = {}) {
  const contexts = exchangeContext(sql, { ttlMs: options.contextCacheMs ?? 0 });
  // The one invalidation point for cached exchange contexts: every write to
  // databases, issuers or roles through this store (admin routes, rotation).
  const changed = () => contexts.invalidate();
  return {
    ...repositories(sql, changed),
    exchangeContext: contexts,
    /**
     * Runs `fn` with every repository bound to one transaction: committed when
     * `fn` returns, rolled back when it throws. Cached exchange contexts are
     * forgotten once it ends if it wrote to databases, issuers or roles
     * (forgetting before the commit would let a read keep the old rows).
     */
    async transaction<T>(fn: (s: StoreTransaction) => Promise<T>): Promise<T> {
      let wrote = false;
      try {
        return await sql.transaction((tx) =>
          fn(
            repositories(tx, () => {
              wrote = true;
            }),
          ),
        );
      } finally {
        if (wrote) changed();
      }
    },
    /** Whether the control plane answers (the health route). */
    async ping(): Promise<void> {
      await sql.query('SELECT 1');
    },
  };
}

export type Store = ReturnType<typeof createStore>;
export type * from './types.js';
export type { DueQuery, LeaseQuery, NewLease, RevocationMatch, RevokeFailure } from './leases.js';
export type { IssuerInput } from './issuers.js';
export type { AdminTokenRecord } from './admin-tokens.js';
export type { Migration } from './migrate.js';
export { LEASE_STATES } from './types.js';
export { leaseAuditFields } from './audit.js';
