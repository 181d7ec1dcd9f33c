/**
 * Leases: one row per minted login role, written `pending` before the role
 * exists so a crash can never leave a role nobody tracks.
 *
 * @example
 *   await leases(sql).insertPending({ ...lease });
 */
import type { Queryable } from '../db/port.js';
import { AUDIT_COLUMNS, auditValues } from './audit.js';
import { toLease } from './rows.js';
import type { AuditEntry, LeaseRecord, LeaseState } from './types.js';

export interface NewLease {
  id: string;
  databaseId: string;
  roleName: string;
  username: string;
  reassignTo: string | null;
  subject: string;
  issuer: string | null;
  workloadKey: string;
  podName: string | null;
  podUid: string | null;
  expiresAt: Date;
  maxExpiresAt: Date;
}

export interface LeaseQuery {
  databaseId: string;
  state?: LeaseState;
  subject?: string;
  roleName?: string;
  prefix?: string;
  /** Lease id to continue after (ordered by issued_at, id). */
  after?: string;
  limit?: number;
}

export function leases(sql: Queryable) {
  return {
    async insertPending(l: NewLease): Promise<void> {
      await sql.query(
        `INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer,
           workload_key, pod_name, pod_uid, expires_at, max_expires_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10, $11, $12)`,
        [
          l.id,
          l.databaseId,
          l.roleName,
          l.username,
          l.reassignTo,
          l.subject,
          l.issuer,
          l.workloadKey,
          l.podName,
          l.podUid,
          l.expiresAt.toISOString(),
          l.maxExpiresAt.toISOString(),
        ],
      );
    },
    /** Marks a pending lease active and appends its audit row, atomically in one statement. */
    async activate(id: string, entry: AuditEntry): Promise<void> {
      await sql.query(
        `WITH activated AS (UPDATE pgmint.leases SET state = 'active' WHERE id = $13 AND state = 'pending' RETURNING id)
         INSERT INTO pgmint.audit_log (${AUDIT_COLUMNS})
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::uuid, $10, $11, $12::jsonb FROM activated`,
        [...auditValues(entry), id],
      );
    },
    async setState(id: string, state: LeaseState, lastError: string | null = null): Promise<void> {
      await sql.query(
        `UPDATE pgmint.leases SET state = $2, last_error = $3,
           revoked_at = CASE WHEN $2 = 'revoked' THEN now() ELSE revoked_at END WHERE id = $1`,
        [id, state, lastError],
      );
    },
    async get(id: string): Promise<LeaseRecord | null> {
      const { rows } = await sql.query('SELECT * FROM pgmint.leases WHERE id::text = $1', [id]);
      return rows[0] ? toLease(rows[0]) : null;
    },
    async countLive(databaseId: string, workloadKey: string): Promise<number> {
      const { rows } = await sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM pgmint.leases
         WHERE database_id = $1 AND workload_key = $2 AND state IN ('pending', 'active') AND expires_at > now()`,
        [databaseId, workloadKey],
      );
      return Number(rows[0]?.n ?? 0);
    },
    async list(q: LeaseQuery): Promise<LeaseRecord[]> {
      const { rows } = await sql.query(
        `SELECT * FROM pgmint.leases
         WHERE database_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR subject = $3)
           AND ($4::text IS NULL OR role_name = $4) AND ($5::text IS NULL OR starts_with(username, $5))
           AND ($6::uuid IS NULL OR (issued_at, id) > (SELECT issued_at, id FROM pgmint.leases WHERE id = $6))
         ORDER BY issued_at, id LIMIT $7`,
        [q.databaseId, q.state ?? null, q.subject ?? null, q.roleName ?? null, q.prefix ?? null, q.after ?? null, Math.min(q.limit ?? 100, 1000)],
      );
      return rows.map(toLease);
    },
  };
}
