/**
 * Control-plane records as the domain sees them (camelCase, seconds for TTLs),
 * each declared once here; the HTTP schemas build their wire shapes from them.
 *
 * @example
 *   const live = (l: LeaseRecord) => l.state === 'active' || l.state === 'draining';
 */
import type { TargetRecord } from '../targets/types.js';

/** A registered database: the target the port reaches (where, who, the sealed root versions) and the registry's settings. */
export interface DatabaseRecord extends TargetRecord {
  publicHost: string | null;
  publicPort: number | null;
  publicSslmode: string | null;
  rotationPeriodSec: number;
  createdAt: string;
}

export interface RoleRecord {
  databaseId: string;
  name: string;
  memberOf: string[];
  searchPath: string[] | null;
  readOnly: boolean;
  allowWrite: boolean;
  defaultTtl: number;
  maxTtl: number;
  /** Seconds a session may outlive the lease's expiry before the sweep terminates it. */
  maxSession: number;
  creationStatements: string | null;
  revocationStatements: string | null;
  renewStatements: string | null;
  createdAt: string;
  updatedAt: string;
}

export type IssuerKind = 'k8s' | 'oidc';

export interface IssuerRecord {
  id: string;
  databaseId: string;
  kind: IssuerKind;
  issuer: string;
  audiences: string[];
  allowedServiceAccounts: string[];
  allowedSubjects: string[];
  boundClaims: Record<string, string | string[]>;
  defaultRole: string;
  allowedRoles: string[];
  pinnedJwks: { keys: JsonWebKey[] } | null;
  pinnedPems: string[] | null;
  maxLeasesPerWorkload: number;
  /** Longest token accepted, `exp - iat` in seconds; 0 = no limit. */
  maxTokenLifetimeSec: number;
  /** k8s only: refuse tokens not bound to a pod. */
  requireBoundPod: boolean;
  /** PEM certificates trusted for this issuer's discovery and JWKS fetches, instead of the system roots. */
  caPem: string | null;
  createdAt: string;
}

/**
 * `draining`: expired (no new login), its role kept because sessions are
 * still open; live, not finished, until the sweep drops the role.
 */
export const LEASE_STATES = ['pending', 'active', 'draining', 'revoked', 'failed', 'irrevocable', 'acknowledged'] as const;
export type LeaseState = (typeof LEASE_STATES)[number];

export interface LeaseRecord {
  id: string;
  databaseId: string;
  roleName: string;
  username: string;
  reassignTo: string | null;
  state: LeaseState;
  subject: string;
  issuer: string | null;
  workloadKey: string;
  podName: string | null;
  podUid: string | null;
  issuedAt: string;
  expiresAt: string;
  maxExpiresAt: string;
  renewedAt: string | null;
  revokedAt: string | null;
  revokeAttempts: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  /** When someone asked for the lease to end (lifecycle migration); null otherwise. */
  revokeRequestedAt?: string | null;
  /** When an operator acknowledged an irrevocable lease (it then ages out like a revoked one); null otherwise. */
  acknowledgedAt?: string | null;
}

export type AuditOutcome = 'success' | 'denied' | 'error';

export interface AuditEntry {
  action: string;
  outcome: AuditOutcome;
  code?: string | null;
  requestId?: string | null;
  databaseId?: string | null;
  subject?: string | null;
  issuer?: string | null;
  pod?: string | null;
  leaseId?: string | null;
  roleName?: string | null;
  username?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  id: string;
  at: string;
}
