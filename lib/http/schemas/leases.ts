/**
 * Leases on the wire: one lease, a page of them, a renewal, and what a bulk
 * revoke did; with the queries that list, renew and revoke them.
 *
 * @example
 *   return c.json(presentRenewal(renewal), 200);
 */
import { z } from '@hono/zod-openapi';
import { MIN_TTL_SEC } from '../../leases/ttl.js';
import type { Renewal as RenewalResult } from '../../leases/renew.js';
import { LEASE_STATES, type LeaseRecord } from '../../store/types.js';
import { IdParams, limit, queryParam, slug, timestamp, ttlQuery } from './common.js';

export const LeaseIdParams = IdParams;

export const LeaseState = z.enum(LEASE_STATES).openapi({
  description:
    'draining: expired (no new login) while sessions opened before expiry keep running, ' +
    'until the last ends or the role’s max_session passes; acknowledged: irrevocable, and an operator said so ' +
    '(finished: deleted after the lease retention like a revoked lease)',
});

const subject = z.string().min(1).max(512);
const issuer = z.string().min(1).max(2048);

export const LeaseListQuery = z.object({
  state: LeaseState.optional().openapi(queryParam('state')),
  subject: subject.optional().openapi(queryParam('subject')),
  issuer: issuer
    .optional()
    .openapi({ ...queryParam('issuer'), description: 'Only leases minted for tokens of this issuer (a workload is issuer and subject)' }),
  role: slug.optional().openapi(queryParam('role')),
  prefix: z.string().min(1).max(63).optional().openapi(queryParam('prefix')),
  after: z.string().uuid().optional().openapi(queryParam('after')),
  limit: limit.default(100).openapi({ ...queryParam('limit'), type: 'integer' }),
});

export const BulkRevokeQuery = z.object({
  subject: subject.optional().openapi(queryParam('subject')),
  issuer: issuer.optional().openapi({ ...queryParam('issuer'), description: "With subject: only that issuer's workload" }),
  prefix: z.string().min(3).max(63).optional().openapi(queryParam('prefix')),
});

export const RenewQuery = z.object({
  ttl: ttlQuery('30m', `New lifetime from now: at least ${MIN_TTL_SEC} s, never past the lease's max_expires_at`),
});

export const Lease = z
  .object({
    id: z.string(),
    database: z.string(),
    role: z.string(),
    user: z.string(),
    state: LeaseState,
    subject: z.string(),
    issuer: z.string().nullable(),
    pod_name: z.string().nullable(),
    pod_uid: z.string().nullable(),
    issued_at: timestamp,
    expires_at: timestamp,
    max_expires_at: timestamp,
    renewed_at: timestamp.nullable(),
    revoked_at: timestamp.nullable(),
    revoke_requested_at: timestamp.nullable(),
    revoke_attempts: z.number(),
    next_attempt_at: timestamp.nullable(),
    last_error: z.string().nullable(),
    acknowledged_at: timestamp.nullable(),
  })
  .openapi('Lease');

export const LeaseList = z.object({ leases: z.array(Lease), next_after: z.string().nullable() }).openapi('LeaseList');

export const Renewal = z
  .object({
    lease_id: z.string(),
    user: z.string(),
    expires_at: timestamp,
    refresh_at: timestamp,
    max_expires_at: timestamp,
    capped: z.boolean(),
  })
  .openapi('Renewal');

export const BulkRevokeResult = z
  .object({ matched: z.number(), revoked: z.number(), failed: z.number(), irrevocable: z.number(), remaining: z.number() })
  .openapi('BulkRevokeResult');

export const presentLease = (l: LeaseRecord): z.input<typeof Lease> => ({
  id: l.id,
  database: l.databaseId,
  role: l.roleName,
  user: l.username,
  state: l.state,
  subject: l.subject,
  issuer: l.issuer,
  pod_name: l.podName,
  pod_uid: l.podUid,
  issued_at: l.issuedAt,
  expires_at: l.expiresAt,
  max_expires_at: l.maxExpiresAt,
  renewed_at: l.renewedAt,
  revoked_at: l.revokedAt,
  revoke_requested_at: l.revokeRequestedAt ?? null,
  revoke_attempts: l.revokeAttempts,
  next_attempt_at: l.nextAttemptAt,
  last_error: l.lastError,
  acknowledged_at: l.acknowledgedAt ?? null,
});

/** A page of leases: the next page starts after the last one when this one is full. */
export const presentLeasePage = (leases: LeaseRecord[], pageSize: number): z.input<typeof LeaseList> => ({
  leases: leases.map(presentLease),
  next_after: leases.length === pageSize ? leases.at(-1)!.id : null,
});

export const presentRenewal = (r: RenewalResult): z.input<typeof Renewal> => ({
  lease_id: r.leaseId,
  user: r.user,
  expires_at: r.expiresAt,
  refresh_at: r.refreshAt,
  max_expires_at: r.maxExpiresAt,
  capped: r.capped,
});
