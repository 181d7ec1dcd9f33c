/**
 * Role definitions: which group roles a lease user joins, and its TTL limits.
 *
 * @example
 *   const role = await roles(sql).get('orders', 'readonly');
 */
import type { Queryable } from '../db/port.js';
import { toRole } from './rows.js';
import type { RoleRecord } from './types.js';

export type RoleInput = Omit<RoleRecord, 'createdAt' | 'updatedAt'>;

export function roles(sql: Queryable) {
  return {
    async get(databaseId: string, name: string): Promise<RoleRecord | null> {
      const { rows } = await sql.query('SELECT * FROM pgmint.roles WHERE database_id = $1 AND name = $2', [databaseId, name]);
      return rows[0] ? toRole(rows[0]) : null;
    },
    async list(databaseId: string): Promise<RoleRecord[]> {
      const { rows } = await sql.query('SELECT * FROM pgmint.roles WHERE database_id = $1 ORDER BY name', [databaseId]);
      return rows.map(toRole);
    },
    async put(r: RoleInput): Promise<RoleRecord> {
      const { rows } = await sql.query(
        `INSERT INTO pgmint.roles (database_id, name, member_of, search_path, read_only, allow_write, default_ttl,
           max_ttl, creation_statements, revocation_statements, renew_statements, max_session)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (database_id, name) DO UPDATE SET member_of = EXCLUDED.member_of,
           search_path = EXCLUDED.search_path, read_only = EXCLUDED.read_only, allow_write = EXCLUDED.allow_write,
           default_ttl = EXCLUDED.default_ttl, max_ttl = EXCLUDED.max_ttl,
           creation_statements = EXCLUDED.creation_statements,
           revocation_statements = EXCLUDED.revocation_statements, renew_statements = EXCLUDED.renew_statements,
           max_session = EXCLUDED.max_session, updated_at = now()
         RETURNING *`,
        [
          r.databaseId,
          r.name,
          r.memberOf,
          r.searchPath,
          r.readOnly,
          r.allowWrite,
          r.defaultTtl,
          r.maxTtl,
          r.creationStatements,
          r.revocationStatements,
          r.renewStatements,
          r.maxSession,
        ],
      );
      return toRole(rows[0]!);
    },
    async remove(databaseId: string, name: string): Promise<boolean> {
      const { rowCount } = await sql.query('DELETE FROM pgmint.roles WHERE database_id = $1 AND name = $2', [databaseId, name]);
      return rowCount > 0;
    },
  };
}
