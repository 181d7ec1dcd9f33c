/**
 * Leases: one row per minted login role, written with its audit row under the
 * workload's cap, `active` once its role exists or `pending` before it (the
 * order is leases/write-lease.ts's), so that a crash leaves no role that
 * neither a lease nor the orphan sweep finds.
 *
 * @example
 *   const written = await store.leases.insertPendingWithinCap(lease, 10); // false: the workload's cap is reached
 */
import type { Queryable } from '../db/port.js';
import { PgmintError } from '../errors.js';
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
  /** With `subject`: one cluster's workload of that name, not another's. */
  issuer?: string;
  roleName?: string;
  prefix?: string;
  /** Lease id to continue after (ordered by issued_at, id). */
  after?: string;
  limit?: number;
}

/** Which live leases of a database a revocation request marks: by subject (of one issuer), username prefix, id, or all. */
export interface RevocationMatch {
  subject?: string;
  /** With `subject`: one cluster's workload of that name, not another's. */
  issuer?: string;
  prefix?: string;
  all?: boolean;
  id?: string;
}

/** One failed revocation attempt: the error, and when to try again (null: attempts ran out). */
export interface RevokeFailure {
  id: string;
  error: string;
  nextAttemptAt: Date | null;
}

/** Which leases of a database are due: past expiry plus `graceSec` at `now`, or asked to end. */
export interface DueQuery {
  databaseId: string;
  now: Date;
  graceSec: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Lease ids are compared as uuid, so the primary key serves every lookup; a
 * string that is not one would make Postgres fail the cast, so it is refused
 * here with a domain code instead.
 */
export function leaseId(id: string): string {
  if (!UUID.test(id)) throw new PgmintError('invalid_request', 'lease id must be a UUID', { details: { field: 'id' } });
  return id;
}

/** A LIKE pattern matching names that start with `prefix`, so the username pattern index serves it (migration 0007). */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function newLeaseValues(l: NewLease): unknown[] {
  return [
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
  ];
}

export function leases(sql: Queryable) {
  return {
    /**
     * Writes the lease `pending` — before its role exists, so a crash never
     * leaves a role no row tracks — and checks the per-workload cap in the
     * same statement: the row is written only while the workload (issuer,
     * workload key) holds fewer than `cap` live leases.
     * Returns false (nothing written) when the cap is reached. Concurrent
     * requests of one workload are serialised, so the cap holds under a race.
     */
    async insertPendingWithinCap(l: NewLease, cap: number): Promise<boolean> {
      // One round trip; pgmint.insert_pending_lease serialises a workload's requests (migration 0003).
      const { rows } = await sql.query<{ ok: boolean }>(
        'SELECT pgmint.insert_pending_lease($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) AS ok',
        [...newLeaseValues(l), cap],
      );
      return rows[0]?.ok === true;
    },
    /**
     * Records the lease of a role already created, active, with its audit row, under the workload's
     * cap and lock (migration 0009): one statement. False when the cap is reached; nothing is written.
     */
    async insertActiveWithinCap(l: NewLease, cap: number, entry: AuditEntry): Promise<boolean> {
      const { rowCount } = await sql.query(
        `WITH recorded AS (SELECT pgmint.insert_lease_within_cap($13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, 'active') AS ok)
         INSERT INTO pgmint.audit_log (${AUDIT_COLUMNS})
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9::uuid, $10, $11, $12::jsonb FROM recorded WHERE ok`,
        [...auditValues(entry), ...newLeaseValues(l), cap],
      );
      return rowCount === 1;
    },
    /**
     * The lease of a role created first that was not handed out, recorded outside the cap (it grants
     * nothing): `failed` with the target's refusal, or, when the creation was never answered,
     * pending and asked to end, so the sweep drops the role should the statement commit after all.
     */
    async insertUnissued(l: NewLease, how: { refusal: string } | { unansweredAt: Date }): Promise<void> {
      const refused = 'refusal' in how;
      await sql.query(
        `INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, subject, issuer,
           workload_key, pod_name, pod_uid, expires_at, max_expires_at, state, last_error, revoke_requested_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [
          ...newLeaseValues(l),
          refused ? 'failed' : 'pending',
          refused ? how.refusal : null,
          refused ? null : how.unansweredAt.toISOString(),
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
    /** Closes a pending lease whose role the target refused to create (no role exists). */
    async markFailed(id: string, lastError: string): Promise<void> {
      await sql.query(`UPDATE pgmint.leases SET state = 'failed', last_error = $2 WHERE id = $1`, [id, lastError]);
    },
    async get(id: string): Promise<LeaseRecord | null> {
      const { rows } = await sql.query('SELECT * FROM pgmint.leases WHERE id = $1::uuid', [leaseId(id)]);
      return rows[0] ? toLease(rows[0]) : null;
    },
    /** Locks one lease for a change (renew, revoke); waits for a sweep holding it. */
    async lock(id: string): Promise<LeaseRecord | null> {
      const { rows } = await sql.query('SELECT * FROM pgmint.leases WHERE id = $1::uuid FOR UPDATE', [leaseId(id)]);
      return rows[0] ? toLease(rows[0]) : null;
    },
    /**
     * Claims up to `limit` leases of a database that are due for revocation —
     * past expiry plus grace, or asked to end — or draining, and not waiting
     * out a retry backoff. Rows another sweep holds are skipped, never waited
     * for. `after` (a lease id) pages through them by (expires_at, id), so
     * one run visits a draining lease once even though it stays due. Due
     * leases come first in that order, up to the latest expiry among those
     * asked to end: the scan stops there, never reading the live leases
     * beyond it, however many there are.
     */
    async claimDue(q: DueQuery & { limit: number; onlyRequested?: boolean; after?: string | null }): Promise<LeaseRecord[]> {
      const { rows } = await sql.query(
        `SELECT * FROM pgmint.leases
         WHERE database_id = $1 AND state IN ('pending', 'active', 'draining')
           AND (revoke_requested_at IS NOT NULL OR (NOT $5 AND expires_at < $2::timestamptz - make_interval(secs => $3)))
           AND (next_attempt_at IS NULL OR next_attempt_at <= $2)
           AND ($6::uuid IS NULL OR (expires_at, id) > (SELECT expires_at, id FROM pgmint.leases WHERE id = $6))
           AND expires_at <= greatest(CASE WHEN NOT $5 THEN $2::timestamptz - make_interval(secs => $3) END,
             (SELECT max(r.expires_at) FROM pgmint.leases r
              WHERE r.database_id = $1 AND r.state IN ('pending', 'active', 'draining') AND r.revoke_requested_at IS NOT NULL))
         ORDER BY expires_at, id LIMIT $4 FOR UPDATE SKIP LOCKED`,
        [q.databaseId, q.now.toISOString(), q.graceSec, q.limit, q.onlyRequested ?? false, q.after ?? null],
      );
      return rows.map(toLease);
    },
    /**
     * Asks one live lease to end and locks it, in one statement: waits for a
     * sweep holding it, and returns it as it now is — or null when it has
     * ended meanwhile or does not exist. An irrevocable lease asked again
     * gets one more attempt.
     */
    async requestOne(id: string, now: Date): Promise<LeaseRecord | null> {
      const { rows } = await sql.query(
        `UPDATE pgmint.leases SET revoke_requested_at = coalesce(revoke_requested_at, $2), next_attempt_at = NULL,
           state = CASE WHEN state = 'irrevocable' THEN 'active' ELSE state END
         WHERE id = $1::uuid AND state IN ('pending', 'active', 'draining', 'irrevocable') RETURNING *`,
        [leaseId(id), now.toISOString()],
      );
      return rows[0] ? toLease(rows[0]) : null;
    },
    /** Leases whose expired role still has sessions: kept, and visited again by every sweep until they end. Returns them as they now are. */
    async markDraining(ids: string[]): Promise<LeaseRecord[]> {
      if (ids.length === 0) return [];
      const { rows } = await sql.query(
        `UPDATE pgmint.leases SET state = 'draining', last_error = NULL, next_attempt_at = NULL
         WHERE id = ANY($1::uuid[]) AND state IN ('pending', 'active') RETURNING *`,
        [ids],
      );
      return rows.map(toLease);
    },
    async countDue(q: DueQuery): Promise<number> {
      // Two counts, each bounded by its index: past expiry (leases_due), and asked to end before it (leases_revoke_requested).
      const { rows } = await sql.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM pgmint.leases
                 WHERE database_id = $1 AND state IN ('pending', 'active') AND expires_at < $2::timestamptz - make_interval(secs => $3)
                   AND (next_attempt_at IS NULL OR next_attempt_at <= $2))
              + (SELECT count(*) FROM pgmint.leases
                 WHERE database_id = $1 AND state IN ('pending', 'active') AND revoke_requested_at IS NOT NULL
                   AND expires_at >= $2::timestamptz - make_interval(secs => $3)
                   AND (next_attempt_at IS NULL OR next_attempt_at <= $2)) AS n`,
        [q.databaseId, q.now.toISOString(), q.graceSec],
      );
      return Number(rows[0]?.n ?? 0);
    },
    /** Leases of a database that may still have a role on the target (what deleting the database would strand). */
    async countLiveInDatabase(databaseId: string): Promise<number> {
      const { rows } = await sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM pgmint.leases WHERE database_id = $1 AND state IN ('pending', 'active', 'draining', 'irrevocable')`,
        [databaseId],
      );
      return Number(rows[0]?.n ?? 0);
    },
    /** Live leases of a database asked to end and not revoked yet (what a bulk revoke left to the sweeper). */
    async countRequested(databaseId: string): Promise<number> {
      const { rows } = await sql.query<{ n: string }>(
        `SELECT count(*) AS n FROM pgmint.leases WHERE database_id = $1 AND state IN ('pending', 'active', 'draining') AND revoke_requested_at IS NOT NULL`,
        [databaseId],
      );
      return Number(rows[0]?.n ?? 0);
    },
    /**
     * Marks leases matching a subject or username prefix (or all of a
     * database's) as asked to end, so the sweeper finishes what a request
     * could not; an irrevocable lease asked again gets one more attempt.
     */
    async requestRevocation(databaseId: string, match: RevocationMatch, now: Date): Promise<number> {
      const { rowCount } = await sql.query(
        `UPDATE pgmint.leases SET revoke_requested_at = coalesce(revoke_requested_at, $2), next_attempt_at = NULL,
           state = CASE WHEN state = 'irrevocable' THEN 'active' ELSE state END
         WHERE database_id = $1 AND state IN ('pending', 'active', 'draining', 'irrevocable')
           AND ($3::boolean OR (subject = $4 AND ($7::text IS NULL OR issuer = $7)) OR starts_with(username, $5) OR id = $6::uuid)`,
        [
          databaseId,
          now.toISOString(),
          match.all ?? false,
          match.subject ?? null,
          match.prefix ?? null,
          match.id === undefined ? null : leaseId(match.id),
          match.issuer ?? null,
        ],
      );
      return rowCount;
    },
    /** Returns the leases as they now are. */
    async markRevoked(ids: string[], now: Date): Promise<LeaseRecord[]> {
      if (ids.length === 0) return [];
      const { rows } = await sql.query(
        `UPDATE pgmint.leases SET state = 'revoked', revoked_at = $2, last_error = NULL, next_attempt_at = NULL
         WHERE id = ANY($1::uuid[]) RETURNING *`,
        [ids, now.toISOString()],
      );
      return rows.map(toLease);
    },
    /** One failed attempt each: a later retry, or `irrevocable` once attempts run out. Returns the leases as they now are. */
    async recordFailures(failures: readonly RevokeFailure[]): Promise<LeaseRecord[]> {
      if (failures.length === 0) return [];
      const { rows } = await sql.query(
        `UPDATE pgmint.leases l SET revoke_attempts = l.revoke_attempts + 1, last_error = f.error,
           next_attempt_at = f.next_at, state = CASE WHEN f.next_at IS NULL THEN 'irrevocable' ELSE l.state END
         FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS f(id, error, next_at) WHERE l.id = f.id RETURNING l.*`,
        [failures.map((f) => f.id), failures.map((f) => f.error), failures.map((f) => f.nextAttemptAt?.toISOString() ?? null)],
      );
      return rows.map(toLease);
    },
    /** An irrevocable lease, now acknowledged by an operator (finished from `at`); null when it was not irrevocable. */
    async acknowledge(id: string, at: Date): Promise<LeaseRecord | null> {
      const { rows } = await sql.query(
        `UPDATE pgmint.leases SET state = 'acknowledged', acknowledged_at = $2, next_attempt_at = NULL
         WHERE id = $1::uuid AND state = 'irrevocable' RETURNING *`,
        [leaseId(id), at.toISOString()],
      );
      return rows[0] ? toLease(rows[0]) : null;
    },
    async renew(id: string, expiresAt: Date, now: Date): Promise<void> {
      await sql.query('UPDATE pgmint.leases SET expires_at = $2, renewed_at = $3 WHERE id = $1::uuid', [
        leaseId(id),
        expiresAt.toISOString(),
        now.toISOString(),
      ]);
    },
    /**
     * Deletes up to `limit` finished leases (revoked, failed at issue, or
     * irrevocable and acknowledged) that ended before `before`, oldest first;
     * returns how many. Live, draining and unacknowledged irrevocable leases
     * are never finished here. Rows another sweep holds are skipped.
     */
    async deleteFinished(before: Date, limit: number): Promise<number> {
      const { rowCount } = await sql.query(
        `DELETE FROM pgmint.leases WHERE id = ANY (ARRAY(
           SELECT id FROM pgmint.leases
           WHERE state IN ('revoked', 'failed', 'acknowledged') AND coalesce(acknowledged_at, revoked_at, issued_at) < $1
           ORDER BY coalesce(acknowledged_at, revoked_at, issued_at) LIMIT $2 FOR UPDATE SKIP LOCKED))`,
        [before.toISOString(), limit],
      );
      return rowCount;
    },
    /** Usernames among `names` that a lease still tracks (live, draining, or kept as irrevocable). */
    async tracked(names: string[]): Promise<Set<string>> {
      if (names.length === 0) return new Set();
      const { rows } = await sql.query<{ username: string }>(
        `SELECT username FROM pgmint.leases WHERE username = ANY($1) AND state IN ('pending', 'active', 'draining', 'irrevocable')`,
        [names],
      );
      return new Set(rows.map((r) => r.username));
    },
    async countByState(q: DueQuery): Promise<Record<string, number>> {
      const { rows } = await sql.query<{
        active: string;
        pending: string;
        draining: string;
        overdue: string;
        irrevocable: string;
        retrying: string;
      }>(
        `SELECT count(*) FILTER (WHERE state = 'active' AND expires_at > $2) AS active,
                count(*) FILTER (WHERE state = 'pending') AS pending,
                count(*) FILTER (WHERE state = 'draining') AS draining,
                count(*) FILTER (WHERE state IN ('pending', 'active') AND expires_at < $2::timestamptz - make_interval(secs => $3)) AS overdue,
                count(*) FILTER (WHERE state = 'irrevocable') AS irrevocable,
                count(*) FILTER (WHERE state IN ('pending', 'active', 'draining') AND revoke_attempts > 0) AS retrying
         FROM pgmint.leases WHERE database_id = $1 AND state IN ('pending', 'active', 'draining', 'irrevocable')`,
        [q.databaseId, q.now.toISOString(), q.graceSec],
      );
      const r = rows[0]!;
      return {
        active: Number(r.active),
        pending: Number(r.pending),
        draining: Number(r.draining),
        overdue: Number(r.overdue),
        irrevocable: Number(r.irrevocable),
        retrying: Number(r.retrying),
      };
    },
    async list(q: LeaseQuery): Promise<LeaseRecord[]> {
      const { rows } = await sql.query(
        `SELECT * FROM pgmint.leases
         WHERE database_id = $1 AND ($2::text IS NULL OR state = $2) AND ($3::text IS NULL OR subject = $3)
           AND ($4::text IS NULL OR role_name = $4) AND ($5::text IS NULL OR username LIKE $5 ESCAPE '\\')
           AND ($6::uuid IS NULL OR (issued_at, id) > (SELECT issued_at, id FROM pgmint.leases WHERE id = $6))
           AND ($8::text IS NULL OR issuer = $8)
         ORDER BY issued_at, id LIMIT $7`,
        [
          q.databaseId,
          q.state ?? null,
          q.subject ?? null,
          q.roleName ?? null,
          q.prefix === undefined ? null : likePrefix(q.prefix),
          q.after === undefined ? null : leaseId(q.after),
          Math.min(q.limit ?? 100, 1000),
          q.issuer ?? null,
        ],
      );
      return rows.map(toLease);
    },
  };
}
