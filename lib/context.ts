/**
 * Everything a request or a scheduled run needs, built once per process by
 * the entry point (functions/*) and passed down; lib/ never reads the
 * environment itself.
 */
import type { VerifierPool } from './crypto/verifier-pool.js';
import type { Connect, Sql } from './db/port.js';
import type { TokenVerifier } from './identity/index.js';
import type { AuditBacklog } from './leases/audit-backlog.js';
import type { Store } from './store/index.js';
import type { Limiter } from './targets/limiter.js';
import type { TargetPool } from './targets/pool.js';

export interface Settings {
  /** Audience workload tokens must carry unless an issuer names its own. */
  audience: string;
  /** Bootstrap admin token (PGMINT_ADMIN_TOKEN); empty disables it. */
  adminToken: string;
  allowInsecureIssuers: boolean;
  /** Grace after expiry before the sweeper revokes a lease. */
  sweepGraceSec: number;
  /** Days a finished lease row is kept before the sweep deletes it. */
  leaseRetentionDays: number;
  /** Days after a month ends before its audit partition is dropped; 0 keeps every month. */
  auditRetentionDays: number;
  /** How long an exchange waits for a slot on a busy target before answering 503 with Retry-After. */
  queueTimeoutMs: number;
}

export interface Deps {
  sql: Sql;
  store: Store;
  connect: Connect;
  targets: TargetPool;
  verifier: TokenVerifier;
  /** Lease passwords with their verifiers computed ahead (PGMINT_VERIFIER_POOL). */
  passwords: VerifierPool;
  /**
   * Exchange context reads in flight on the control plane (PGMINT_CONTROL_READS):
   * a burst of thousands of pods waits here, in memory, rather than in the
   * driver's pool queue, whose connection timeout would turn waiting into errors.
   */
  controlReads: Limiter;
  /** Refusals waiting for the control plane to come back (leases/audit-backlog.ts). */
  auditBacklog: AuditBacklog;
  sealKey: CryptoKey;
  settings: Settings;
  now: () => Date;
}
