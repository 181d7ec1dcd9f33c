/**
 * Row → record mapping, kept beside each other so a column rename is one edit.
 */
import type { AuditRecord, DatabaseRecord, IssuerRecord, LeaseRecord, RoleRecord } from './types.js';

type Row = Record<string, unknown>;
const iso = (v: unknown): string => (v == null ? '' : new Date(v as string | Date).toISOString());
const isoOrNull = (v: unknown): string | null => (v == null ? null : iso(v));

export const DATABASE_COLUMNS = `id, host, port, database, admin_user, sslmode, public_host, public_port, public_sslmode,
  root_secret, root_rotated_at, extract(epoch FROM rotation_period)::int AS rotation_period_sec, lease_prefix, created_at`;

export function toDatabase(r: Row): DatabaseRecord {
  return {
    id: r.id as string,
    host: r.host as string,
    port: Number(r.port),
    database: r.database as string,
    adminUser: r.admin_user as string,
    sslmode: r.sslmode as string,
    publicHost: (r.public_host as string | null) ?? null,
    publicPort: r.public_port == null ? null : Number(r.public_port),
    publicSslmode: (r.public_sslmode as string | null) ?? null,
    rootSecret: r.root_secret as DatabaseRecord['rootSecret'],
    rootRotatedAt: iso(r.root_rotated_at),
    rotationPeriodSec: Number(r.rotation_period_sec),
    leasePrefix: r.lease_prefix as string,
    createdAt: iso(r.created_at),
  };
}

export function toRole(r: Row): RoleRecord {
  return {
    databaseId: r.database_id as string,
    name: r.name as string,
    memberOf: (r.member_of as string[]) ?? [],
    searchPath: (r.search_path as string[] | null) ?? null,
    readOnly: Boolean(r.read_only),
    allowWrite: Boolean(r.allow_write),
    defaultTtl: Number(r.default_ttl),
    maxTtl: Number(r.max_ttl),
    maxSession: Number(r.max_session ?? 28800),
    creationStatements: (r.creation_statements as string | null) ?? null,
    revocationStatements: (r.revocation_statements as string | null) ?? null,
    renewStatements: (r.renew_statements as string | null) ?? null,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
  };
}

export function toIssuer(r: Row): IssuerRecord {
  return {
    id: r.id as string,
    databaseId: r.database_id as string,
    kind: r.kind as IssuerRecord['kind'],
    issuer: r.issuer as string,
    audiences: r.audiences as string[],
    allowedServiceAccounts: (r.allowed_service_accounts as string[]) ?? [],
    allowedSubjects: (r.allowed_subjects as string[]) ?? [],
    boundClaims: (r.bound_claims as IssuerRecord['boundClaims']) ?? {},
    defaultRole: r.default_role as string,
    allowedRoles: r.allowed_roles as string[],
    pinnedJwks: (r.pinned_jwks as IssuerRecord['pinnedJwks']) ?? null,
    pinnedPems: (r.pinned_pems as string[] | null) ?? null,
    maxLeasesPerWorkload: Number(r.max_leases_per_workload),
    maxTokenLifetimeSec: r.max_token_lifetime == null ? 172_800 : Number(r.max_token_lifetime),
    requireBoundPod: Boolean(r.require_bound_pod),
    caPem: (r.ca_pem as string | null) ?? null,
    createdAt: iso(r.created_at),
  };
}

export function toLease(r: Row): LeaseRecord {
  return {
    id: r.id as string,
    databaseId: r.database_id as string,
    roleName: r.role_name as string,
    username: r.username as string,
    reassignTo: (r.reassign_to as string | null) ?? null,
    state: r.state as LeaseRecord['state'],
    subject: r.subject as string,
    issuer: (r.issuer as string | null) ?? null,
    workloadKey: r.workload_key as string,
    podName: (r.pod_name as string | null) ?? null,
    podUid: (r.pod_uid as string | null) ?? null,
    issuedAt: iso(r.issued_at),
    expiresAt: iso(r.expires_at),
    maxExpiresAt: iso(r.max_expires_at),
    renewedAt: isoOrNull(r.renewed_at),
    revokedAt: isoOrNull(r.revoked_at),
    revokeAttempts: Number(r.revoke_attempts ?? 0),
    nextAttemptAt: isoOrNull(r.next_attempt_at),
    lastError: (r.last_error as string | null) ?? null,
    revokeRequestedAt: isoOrNull(r.revoke_requested_at),
    acknowledgedAt: isoOrNull(r.acknowledged_at),
  };
}

export function toAudit(r: Row): AuditRecord {
  return {
    id: String(r.id),
    at: iso(r.at),
    action: r.action as string,
    outcome: r.outcome as AuditRecord['outcome'],
    code: (r.code as string | null) ?? null,
    requestId: (r.request_id as string | null) ?? null,
    databaseId: (r.database_id as string | null) ?? null,
    subject: (r.subject as string | null) ?? null,
    issuer: (r.issuer as string | null) ?? null,
    pod: (r.pod as string | null) ?? null,
    leaseId: (r.lease_id as string | null) ?? null,
    roleName: (r.role_name as string | null) ?? null,
    username: (r.username as string | null) ?? null,
    detail: (r.detail as Record<string, unknown>) ?? {},
  };
}
