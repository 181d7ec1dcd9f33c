/**
 * Request and response schemas of the lease lifecycle and operations routes
 * (leases, audit, health, sweep, admin tokens). Like schemas.ts, the same zod
 * objects validate requests and generate /openapi.json.
 */
import { z } from '@hono/zod-openapi';
import { instantProblem } from '../db/storable.js';
import { MIN_TTL_SEC } from '../leases/ttl.js';
import { SCOPES } from './admin.js';
import { FetchFailure } from './schemas.js';

const slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, _ and -, at most 63 characters');
const query = (name: string) => ({ param: { name, in: 'query' as const } });
const limit = z.coerce.number().int().min(1).max(1000);
/** RFC 3339, any offset Date understands; handed on in UTC so Postgres never sees an offset it refuses (beyond ±15:59). */
const instant = z
  .string()
  .datetime({ offset: true, message: 'an RFC 3339 date-time such as 2026-04-12T16:30:00Z' })
  .transform((v, ctx) => {
    const ms = Date.parse(v);
    const problem = instantProblem(ms);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  })
  .openapi({ type: 'string', format: 'date-time', description: 'RFC 3339, years 0001 to 9999 once in UTC' });

export const LeaseIdParams = z.object({ id: z.string().uuid().openapi({ param: { name: 'id', in: 'path' } }) });
export const TokenIdParams = LeaseIdParams;

export const LeaseState = z.enum(['pending', 'active', 'draining', 'revoked', 'failed', 'irrevocable', 'acknowledged']).openapi({
  description:
    'draining: expired (no new login) while sessions opened before expiry keep running, until the last ends or the role’s max_session passes; ' +
    'acknowledged: irrevocable, and an operator said so (finished: deleted after the lease retention like a revoked lease)',
});

export const LeaseListQuery = z.object({
  state: LeaseState.optional().openapi(query('state')),
  subject: z.string().min(1).max(512).optional().openapi(query('subject')),
  issuer: z.string().min(1).max(2048).optional().openapi({ ...query('issuer'), description: 'Only leases minted for tokens of this issuer (a workload is issuer and subject)' }),
  role: slug.optional().openapi(query('role')),
  prefix: z.string().min(1).max(63).optional().openapi(query('prefix')),
  after: z.string().uuid().optional().openapi(query('after')),
  limit: limit.default(100).openapi({ ...query('limit'), type: 'integer' }),
});

export const BulkRevokeQuery = z.object({
  subject: z.string().min(1).max(512).optional().openapi(query('subject')),
  issuer: z.string().min(1).max(2048).optional().openapi({ ...query('issuer'), description: "With subject: only that issuer's workload" }),
  prefix: z.string().min(3).max(63).optional().openapi(query('prefix')),
});

export const RenewQuery = z.object({
  ttl: z
    .string()
    .max(16)
    .optional()
    .openapi({ ...query('ttl'), example: '30m', description: `New lifetime from now: at least ${MIN_TTL_SEC} s, never past the lease's max_expires_at` }),
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
    issued_at: z.string(),
    expires_at: z.string(),
    max_expires_at: z.string(),
    renewed_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    revoke_requested_at: z.string().nullable(),
    revoke_attempts: z.number(),
    next_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    acknowledged_at: z.string().nullable(),
  })
  .openapi('Lease');

export const LeaseList = z.object({ leases: z.array(Lease), next_after: z.string().nullable() }).openapi('LeaseList');

export const Renewal = z
  .object({
    lease_id: z.string(),
    user: z.string(),
    expires_at: z.string(),
    refresh_at: z.string(),
    max_expires_at: z.string(),
    capped: z.boolean(),
  })
  .openapi('Renewal');

export const BulkRevokeResult = z
  .object({ matched: z.number(), revoked: z.number(), failed: z.number(), irrevocable: z.number(), remaining: z.number() })
  .openapi('BulkRevokeResult');

export const AuditQuery = z.object({
  database: slug.optional().openapi(query('database')),
  action: z.string().min(1).max(64).optional().openapi(query('action')),
  outcome: z.enum(['success', 'denied', 'error']).optional().openapi(query('outcome')),
  subject: z.string().min(1).max(512).optional().openapi(query('subject')),
  issuer: z.string().min(1).max(2048).optional().openapi(query('issuer')),
  since: instant.optional().openapi(query('since')),
  until: instant.optional().openapi(query('until')),
  cursor: z.string().regex(/^[0-9]{1,18}$/, 'a next_cursor value from a previous page').optional().openapi(query('cursor')),
  limit: limit.default(100).openapi({ ...query('limit'), type: 'integer' }),
});

export const AuditEntry = z
  .object({
    id: z.string(),
    at: z.string(),
    action: z.string(),
    outcome: z.string(),
    code: z.string().nullable(),
    request_id: z.string().nullable(),
    database: z.string().nullable(),
    subject: z.string().nullable(),
    issuer: z.string().nullable(),
    pod: z.string().nullable(),
    lease_id: z.string().nullable(),
    role: z.string().nullable(),
    user: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEntry');

export const AuditPage = z.object({ entries: z.array(AuditEntry), next_cursor: z.string().nullable() }).openapi('AuditPage');

export const Health = z
  .object({
    database: z.string(),
    status: z.enum(['ok', 'degraded', 'down']),
    reachable: z.boolean(),
    createrole: z.boolean().nullable(),
    superuser: z.boolean().nullable(),
    server_version: z.number().nullable(),
    lease_roles_created_by: z.enum(['creators', 'broker']).nullable().openapi({ description: 'creators: PostgreSQL 16+ with the pgmint_roles schema (README, "Creator roles"); broker: the broker itself' }),
    error: z.string().nullable(),
    leases: z.object({ active: z.number(), pending: z.number(), draining: z.number(), overdue: z.number(), retrying: z.number(), irrevocable: z.number() }),
    root_credential: z.object({ rotated_at: z.string(), age_seconds: z.number(), rotation_period: z.number(), rotation_due: z.boolean() }),
    issuers: z
      .array(
        z.object({
          id: z.string(),
          kind: z.string(),
          issuer: z.string(),
          keys: z.enum(['pinned', 'discovered']),
          ca_pem: z.boolean(),
          status: z.enum(['ok', 'failing', 'pinned']),
          last_key_fetch_at: z.string().nullable(),
          last_failure_at: z.string().nullable(),
          last_failure: FetchFailure.nullable(),
          hint: z.string().nullable(),
        }),
      )
      .openapi({ description: "Each trusted issuer, tried now: when its keys were last fetched, and the last failure's reason" }),
  })
  .openapi('Health');

export const SweepQuery = z.object({
  max_ms: z.coerce.number().int().min(100).max(900_000).optional().openapi({ ...query('max_ms'), type: 'integer' }),
});

export const SweepResult = z
  .object({
    revoked: z.number(),
    orphans_dropped: z.number(),
    failed: z.number(),
    irrevocable: z.number(),
    draining: z.number().openapi({ description: 'Expired leases kept because their role still has sessions' }),
    remaining: z.number(),
    errors: z.array(z.object({ database: z.string(), code: z.string() })),
    retention: z.object({
      leases_deleted: z.number(),
      audit_partitions_created: z.number(),
      audit_partitions_retired: z.array(z.string()),
    }),
    duration_ms: z.number(),
  })
  .openapi('SweepResult');

export const DeleteDatabaseQuery = z.object({
  force: z.enum(['true', 'false']).optional().openapi(query('force')),
});

export const AdminTokenInput = z
  .object({
    name: z.string().min(1).max(128),
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
  })
  .strict()
  .openapi('AdminTokenInput');

export const AdminToken = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    created_at: z.string(),
    created_by: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi('AdminToken');

export const NewAdminToken = AdminToken.extend({ token: z.string() }).openapi('NewAdminToken');
