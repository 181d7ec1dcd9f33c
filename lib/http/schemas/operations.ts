/**
 * Operations on the wire: a database's health report, a sweep's tally, and
 * a root rotation's result.
 *
 * @example
 *   return c.json(presentSweep(result), 200);
 */
import { z } from '@hono/zod-openapi';
import type { HealthReport } from '../../leases/health.js';
import type { SweepResult as SweepTally } from '../../leases/sweep.js';
import type { IssuerHealth } from '../../registry/issuer-health.js';
import type { RotationResult as Rotation } from '../../rotation/index.js';
import { queryParam, timestamp } from './common.js';
import { FetchFailure } from './issuers.js';

const IssuerStatus = z.object({
  id: z.string(),
  kind: z.string(),
  issuer: z.string(),
  keys: z.enum(['pinned', 'discovered']),
  ca_pem: z.boolean(),
  status: z.enum(['ok', 'failing', 'pinned']),
  last_key_fetch_at: timestamp.nullable(),
  last_failure_at: timestamp.nullable(),
  last_failure: FetchFailure.nullable(),
  hint: z.string().nullable(),
});

export const Health = z
  .object({
    database: z.string(),
    status: z.enum(['ok', 'degraded', 'down']),
    reachable: z.boolean(),
    createrole: z.boolean().nullable(),
    superuser: z.boolean().nullable(),
    server_version: z.number().nullable(),
    lease_roles_created_by: z.enum(['creators', 'broker']).nullable().openapi({
      description: 'creators: PostgreSQL 16+ with the pgmint_roles schema (README, "Creator roles"); broker: the broker itself',
    }),
    error: z.string().nullable(),
    leases: z.object({
      active: z.number(),
      pending: z.number(),
      draining: z.number(),
      overdue: z.number(),
      retrying: z.number(),
      irrevocable: z.number(),
    }),
    root_credential: z.object({ rotated_at: z.string(), age_seconds: z.number(), rotation_period: z.number(), rotation_due: z.boolean() }),
    issuers: z
      .array(IssuerStatus)
      .openapi({ description: "Each trusted issuer, tried now: when its keys were last fetched, and the last failure's reason" }),
  })
  .openapi('Health');

export const SweepQuery = z.object({
  max_ms: z.coerce
    .number()
    .int()
    .min(100)
    .max(900_000)
    .optional()
    .openapi({ ...queryParam('max_ms'), type: 'integer' }),
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

export const RotationResult = z
  .object({
    database: z.string(),
    outcome: z.enum(['rotated', 'not_due']),
    recovered: z
      .enum(['promoted', 'rolled_back', 'repaired'])
      .nullable()
      .openapi({ description: 'How an earlier, interrupted rotation was settled first' }),
    rotation_id: z.string().nullable(),
    rotated_at: timestamp,
  })
  .openapi('RotationResult');

const presentIssuerStatus = (i: IssuerHealth): z.input<typeof IssuerStatus> => ({
  id: i.id,
  kind: i.kind,
  issuer: i.issuer,
  keys: i.keys,
  ca_pem: i.caPem,
  status: i.status,
  last_key_fetch_at: i.lastKeyFetchAt,
  last_failure_at: i.lastFailureAt,
  last_failure: i.lastFailure,
  hint: i.hint,
});

export const presentHealth = (h: HealthReport): z.input<typeof Health> => ({
  database: h.database,
  status: h.status,
  reachable: h.reachable,
  createrole: h.createrole,
  superuser: h.superuser,
  server_version: h.serverVersion,
  lease_roles_created_by: h.leaseRolesCreatedBy,
  error: h.error,
  leases: h.leases,
  root_credential: {
    rotated_at: h.rootCredential.rotatedAt,
    age_seconds: h.rootCredential.ageSeconds,
    rotation_period: h.rootCredential.rotationPeriod,
    rotation_due: h.rootCredential.rotationDue,
  },
  issuers: h.issuers.map(presentIssuerStatus),
});

export const presentSweep = (r: SweepTally): z.input<typeof SweepResult> => ({
  revoked: r.revoked,
  orphans_dropped: r.orphansDropped,
  failed: r.failed,
  irrevocable: r.irrevocable,
  draining: r.draining,
  remaining: r.remaining,
  errors: r.errors,
  retention: {
    leases_deleted: r.retention.leasesDeleted,
    audit_partitions_created: r.retention.auditPartitionsCreated,
    audit_partitions_retired: r.retention.auditPartitionsRetired,
  },
  duration_ms: r.durationMs,
});

export const presentRotation = (r: Rotation): z.input<typeof RotationResult> => ({
  database: r.database,
  outcome: r.outcome,
  recovered: r.recovered,
  rotation_id: r.rotationId,
  rotated_at: r.rotatedAt,
});
