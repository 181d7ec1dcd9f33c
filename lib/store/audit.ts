/**
 * The append-only audit log. Callers pass identities and outcomes, never secrets;
 * `detail` is for codes, limits and counts.
 *
 * @example
 *   await audit(sql).append({ action: 'credentials.issue', outcome: 'success', databaseId: 'orders' });
 */
import type { Queryable } from '../db/port.js';
import { toAudit } from './rows.js';
import type { AuditEntry, AuditRecord, LeaseRecord } from './types.js';

export interface AuditQuery {
  databaseId?: string;
  action?: string;
  outcome?: string;
  subject?: string;
  issuer?: string;
  since?: string;
  until?: string;
  /** Return entries with id below this (newest first paging). */
  before?: string;
  limit?: number;
}

/** The audit columns that say which lease an entry is about. */
export function leaseAuditFields(lease: LeaseRecord) {
  return {
    databaseId: lease.databaseId,
    subject: lease.subject,
    issuer: lease.issuer,
    pod: lease.podName,
    leaseId: lease.id,
    roleName: lease.roleName,
    username: lease.username,
  };
}

/** How far back an audit read looks first (lib/store/audit.ts `query`). */
const RECENT_MS = 31 * 86_400_000;

export const AUDIT_COLUMNS = 'request_id, action, outcome, code, database_id, subject, issuer, pod, lease_id, role_name, username, detail';

export function auditValues(e: AuditEntry): unknown[] {
  return [
    e.requestId ?? null,
    e.action,
    e.outcome,
    e.code ?? null,
    e.databaseId ?? null,
    e.subject ?? null,
    e.issuer ?? null,
    e.pod ?? null,
    e.leaseId ?? null,
    e.roleName ?? null,
    e.username ?? null,
    JSON.stringify(e.detail ?? {}),
  ];
}

export function audit(sql: Queryable) {
  return {
    async append(e: AuditEntry): Promise<void> {
      await sql.query(`INSERT INTO pgmint.audit_log (${AUDIT_COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`, auditValues(e));
    },
    /** Many entries in one statement (sweeps revoke in batches). */
    async appendMany(entries: AuditEntry[]): Promise<void> {
      if (entries.length === 0) return;
      await sql.query(
        `INSERT INTO pgmint.audit_log (${AUDIT_COLUMNS})
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
           $8::text[], $9::uuid[], $10::text[], $11::text[], $12::jsonb[])`,
        Array.from({ length: 12 }, (_, i) => entries.map((e) => auditValues(e)[i])),
      );
    },
    /**
     * Newest first. Each filter has an index on (filter, at, id) and the table
     * is partitioned by month on `at`, so a page costs the same at any size;
     * the cursor continues from the (at, id) of the entry it names. The last
     * month is read first, bounded by a parameter so Postgres plans only the
     * partitions it covers; older months only when that page is not full.
     */
    async query(q: AuditQuery): Promise<AuditRecord[]> {
      const limit = Math.min(q.limit ?? 100, 1000);
      const recentFrom = new Date(Date.now() - RECENT_MS).toISOString();
      const page = async (range: string, n: number) =>
        (
          await sql.query(
            `SELECT id, at, ${AUDIT_COLUMNS} FROM pgmint.audit_log
             WHERE ($1::text IS NULL OR database_id = $1) AND ($2::text IS NULL OR action = $2)
               AND ($3::text IS NULL OR outcome = $3) AND ($4::text IS NULL OR subject = $4)
               AND ${range} AND ($6::timestamptz IS NULL OR at < $6)
               AND ($7::bigint IS NULL OR (at, id) < (SELECT c.at, c.id FROM pgmint.audit_log c WHERE c.id = $7))
               AND ($9::text IS NULL OR issuer = $9)
             ORDER BY at DESC, id DESC LIMIT $8`,
            [
              q.databaseId ?? null,
              q.action ?? null,
              q.outcome ?? null,
              q.subject ?? null,
              q.since ?? null,
              q.until ?? null,
              q.before ?? null,
              n,
              q.issuer ?? null,
              recentFrom,
            ],
          )
        ).rows.map(toAudit);
      const recent = await page('at >= greatest($5::timestamptz, $10::timestamptz)', limit);
      if (recent.length === limit) return recent;
      return [...recent, ...(await page('at < $10::timestamptz AND ($5::timestamptz IS NULL OR at >= $5)', limit - recent.length))];
    },
    /** Makes the monthly partitions from `from` through `through` that are missing (migration 0007); returns how many. */
    async ensurePartitions(from: Date, through: Date): Promise<number> {
      const { rows } = await sql.query<{ made: number }>('SELECT pgmint.ensure_audit_partitions($1, $2) AS made', [
        from.toISOString(),
        through.toISOString(),
      ]);
      return Number(rows[0]?.made ?? 0);
    },
    /**
     * Detaches and drops the monthly partitions that ended more than
     * `retentionDays` ago, each audited in the same transaction (migration
     * 0007 refuses under 30 days). Returns the partitions' names.
     */
    async retirePartitions(retentionDays: number, requestId: string | null = null): Promise<string[]> {
      const { rows } = await sql.query<{ partition_name: string }>(
        'SELECT partition_name FROM pgmint.retire_audit_partitions(make_interval(days => $1), $2)',
        [retentionDays, requestId],
      );
      return rows.map((r) => r.partition_name);
    },
  };
}
