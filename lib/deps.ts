/**
 * Everything a request or a scheduled run needs (Deps), built once per
 * process by the entry point (functions/*) and passed down; lib/ never reads
 * the environment itself.
 *
 * buildDeps wires one from a Config and a driver: one control-plane pool, one
 * target pool, one token verifier, one verifier pool and one control-plane
 * read limiter per process. Entry points call it once at module scope so warm
 * invocations reuse connections and the JWKS cache.
 *
 * @example
 *   const deps = await buildDeps(readConfig(env), connectPg);
 */
import { type Config, ConfigError, loadSealKey } from './config.js';
import type { ScramKeyDeriver } from './crypto/scram.js';
import { createVerifierPool, type VerifierPool } from './crypto/verifier-pool.js';
import { guardOutage } from './db/outage.js';
import { type Connect, parseDatabaseUrl, STATEMENT_TIMEOUT_MS, type Sql } from './db/port.js';
import { TokenVerifier } from './identity/index.js';
import { type AuditBacklog, createAuditBacklog } from './leases/audit-backlog.js';
import { type CapMemo, createCapMemo } from './leases/cap-memo.js';
import { resolveRefusedRoot } from './rotation/refusal.js';
import { createStore, type Store } from './store/index.js';
import { createLimiter, type Limiter } from './targets/limiter.js';
import { createTargetPool, type TargetPool } from './targets/pool.js';

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
  /** Workloads refused for their lease cap a moment ago, whose exchanges check the cap first (leases/cap-memo.ts). */
  cappedWorkloads: CapMemo;
  sealKey: CryptoKey;
  settings: Settings;
  now: () => Date;
}

export interface DepsOptions {
  now?: () => Date;
  fetch?: typeof fetch;
  /** A fetch trusting one issuer's own CA (`ca_pem`); runtimes without one refuse such issuers. */
  fetchForCa?: (caPem: string) => typeof fetch;
  /** The runtime's own SCRAM key derivation for lease passwords; WebCrypto's when omitted. */
  scramKeys?: ScramKeyDeriver;
}

export async function buildDeps(config: Config, connect: Connect, options: DepsOptions = {}): Promise<Deps> {
  if (!config.databaseUrl) throw new ConfigError('PGMINT_DATABASE_URL is required');
  const sealKey = await loadSealKey(config);
  const sql = guardOutage(
    connect({
      ...parseDatabaseUrl(config.databaseUrl),
      max: config.poolSize,
      applicationName: 'pgmint-control',
      statementTimeoutMs: STATEMENT_TIMEOUT_MS,
    }),
    'control_plane',
  );
  const store = createStore(sql, { contextCacheMs: config.contextCacheMs });
  const now = options.now ?? (() => new Date());
  const passwords = createVerifierPool({ size: config.verifierPoolSize, derive: options.scramKeys });
  const deps: Deps = {
    sql,
    store,
    targets: createTargetPool({
      connect,
      sealKey,
      poolSize: config.poolSize,
      concurrency: config.targetConcurrency,
      creatorRoles: config.creatorRoles,
      passwords,
      standbyRoles: config.standbyRoles,
    }),
    verifier: new TokenVerifier({
      now,
      fetch: options.fetch,
      fetchForCa: options.fetchForCa,
      allowInsecureIssuers: config.allowInsecureIssuers,
      jwksStore: store.jwksCache,
      cooldownMs: config.jwksCooldownSec * 1000,
    }),
    passwords,
    controlReads: createLimiter(config.controlReads),
    auditBacklog: createAuditBacklog(),
    cappedWorkloads: createCapMemo(),
    sealKey,
    settings: {
      audience: config.audience,
      adminToken: config.adminToken,
      allowInsecureIssuers: config.allowInsecureIssuers,
      sweepGraceSec: config.sweepGraceSec,
      leaseRetentionDays: config.leaseRetentionDays,
      auditRetentionDays: config.auditRetentionDays,
      queueTimeoutMs: config.queueTimeoutSec * 1000,
    },
    now,
  };
  // A target that refuses the stored root credential is settled (rotation recovery) and retried.
  deps.targets.onRefused((id) => resolveRefusedRoot(deps, id));
  return deps;
}

export async function closeDeps(deps: Deps): Promise<void> {
  await deps.targets.close();
  await deps.sql.end();
}
