/**
 * The control-plane repository: one object per table family over one Sql.
 *
 * @example
 *   const store = createStore(sql);
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

export function createStore(sql: Queryable) {
  return {
    databases: databases(sql),
    roles: roles(sql),
    issuers: issuers(sql),
    leases: leases(sql),
    audit: audit(sql),
    jwksCache: jwksCache(sql),
    adminTokens: adminTokens(sql),
    exchangeContext: exchangeContext(sql),
  };
}

export type Store = ReturnType<typeof createStore>;
export type * from './types.js';
