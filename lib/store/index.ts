/**
 * The control-plane repository: one object per table family over one Sql.
 *
 * @example
 *   const store = createStore(sql, { contextCacheMs: 1000 });
 *   const db = await store.databases.get('orders');
 */
import type { Queryable } from '../db/port.js';
import { adminTokens } from './admin-tokens.js';
import { audit } from './audit.js';
import { databases } from './databases.js';
import { exchangeContext } from './exchange-context.js';
import { issuers } from './issuers.js';
import { jwksCache } from './jwks-cache.js';
import { leases } from './leases.js';
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

export function createStore(sql: Queryable, options: StoreOptions = {}) {
  const contexts = exchangeContext(sql, { ttlMs: options.contextCacheMs ?? 0 });
  // The one invalidation point for cached exchange contexts: every write to
  // databases, issuers or roles through this store (admin routes, rotation).
  const changed = () => contexts.invalidate();
  return {
    databases: notifying(databases(sql), ['get', 'list', 'dueForRotation'], changed),
    roles: notifying(roles(sql), ['get', 'list'], changed),
    issuers: notifying(issuers(sql), ['findByIssuer', 'get', 'list'], changed),
    leases: leases(sql),
    audit: audit(sql),
    jwksCache: jwksCache(sql),
    adminTokens: adminTokens(sql),
    exchangeContext: contexts,
  };
}

export type Store = ReturnType<typeof createStore>;
export type * from './types.js';
