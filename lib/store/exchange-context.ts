/**
 * Everything an exchange reads from the control plane — the database, the
 * issuers registered for the token's `iss`, and the database's roles — in one
 * round trip instead of three. Always read fresh: an admin change made by any
 * process applies to the very next exchange.
 *
 * @example
 *   const ctx = await exchangeContext(sql).load('orders', 'k8s', 'https://oidc.example.com');
 *   // null when the database does not exist
 */
import type { Queryable } from '../db/port.js';
import { DATABASE_COLUMNS, toDatabase, toIssuer, toRole } from './rows.js';
import type { DatabaseRecord, IssuerKind, IssuerRecord, RoleRecord } from './types.js';

export interface ExchangeContext {
  db: DatabaseRecord;
  /** Issuers with exactly this `iss` and kind, oldest first; empty when `iss` is null. */
  issuers: IssuerRecord[];
  roles: RoleRecord[];
}

export function exchangeContext(sql: Queryable) {
  return {
    async load(databaseId: string, kind: IssuerKind, issuer: string | null): Promise<ExchangeContext | null> {
      const { rows } = await sql.query<Record<string, unknown>>(
        `SELECT ${DATABASE_COLUMNS},
           (SELECT coalesce(json_agg(i ORDER BY i.created_at), '[]') FROM pgmint.issuers i
             WHERE i.database_id = $1 AND i.kind = $2 AND i.issuer = $3) AS ctx_issuers,
           (SELECT coalesce(json_agg(r), '[]') FROM pgmint.roles r WHERE r.database_id = $1) AS ctx_roles
         FROM pgmint.databases WHERE id = $1`,
        [databaseId, kind, issuer],
      );
      const row = rows[0];
      if (!row) return null;
      return {
        db: toDatabase(row),
        issuers: (row.ctx_issuers as Record<string, unknown>[]).map(toIssuer),
        roles: (row.ctx_roles as Record<string, unknown>[]).map(toRole),
      };
    },
  };
}
