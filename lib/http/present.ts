/**
 * Records as the API shows them: snake_case, and never a secret.
 */
import type { DatabaseRecord, IssuerRecord, RoleRecord } from '../store/types.js';

export const presentDatabase = (d: DatabaseRecord) => ({
  id: d.id,
  host: d.host,
  port: d.port,
  database: d.database,
  admin_user: d.adminUser,
  sslmode: d.sslmode,
  public_host: d.publicHost,
  public_port: d.publicPort,
  public_sslmode: d.publicSslmode,
  root_rotated_at: d.rootRotatedAt,
  rotation_period: d.rotationPeriodSec,
  lease_prefix: d.leasePrefix,
  created_at: d.createdAt,
});

export const presentRole = (r: RoleRecord) => ({
  name: r.name,
  database: r.databaseId,
  member_of: r.memberOf,
  search_path: r.searchPath,
  read_only: r.readOnly,
  allow_write: r.allowWrite,
  default_ttl: r.defaultTtl,
  max_ttl: r.maxTtl,
  max_session: r.maxSession,
  creation_statements: r.creationStatements,
  revocation_statements: r.revocationStatements,
  renew_statements: r.renewStatements,
});

export const presentIssuer = (i: IssuerRecord) => ({
  id: i.id,
  database: i.databaseId,
  kind: i.kind,
  issuer: i.issuer,
  audiences: i.audiences,
  allowed_service_accounts: i.allowedServiceAccounts,
  allowed_subjects: i.allowedSubjects,
  bound_claims: i.boundClaims,
  default_role: i.defaultRole,
  allowed_roles: i.allowedRoles,
  pinned_keys: Boolean(i.pinnedJwks || i.pinnedPems),
  max_leases_per_workload: i.maxLeasesPerWorkload,
  max_token_lifetime: i.maxTokenLifetimeSec,
  require_bound_pod: i.requireBoundPod,
  ca_pem: i.caPem !== null,
  created_at: i.createdAt,
});
