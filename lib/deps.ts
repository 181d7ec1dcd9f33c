/**
 * Wires a Deps from a Config and a driver: one control-plane pool, one target
 * pool, one token verifier, one verifier pool and one control-plane read
 * limiter per process. Entry points call this once at module
 * scope so warm invocations reuse connections and the JWKS cache.
 *
 * @example
 *   const deps = await buildDeps(readConfig(env), connectPg);
 */
import { type Config, ConfigError, loadSealKey } from './config.js';
import type { Deps } from './context.js';
import { createVerifierPool } from './crypto/verifier-pool.js';
import { guardOutage } from './db/outage.js';
import { type Connect, parseDatabaseUrl, STATEMENT_TIMEOUT_MS } from './db/port.js';
import { TokenVerifier } from './identity/index.js';
import { createAuditBacklog } from './leases/audit-backlog.js';
import { resolveRefusedRoot } from './rotation/refusal.js';
import { createStore } from './store/index.js';
import { createLimiter } from './targets/limiter.js';
import { createTargetPool } from './targets/pool.js';

export interface DepsOptions {
  now?: () => Date;
  fetch?: typeof fetch;
  /** A fetch trusting one issuer's own CA (`ca_pem`); runtimes without one refuse such issuers. */
  fetchForCa?: (caPem: string) => typeof fetch;
}

export async function buildDeps(config: Config, connect: Connect, options: DepsOptions = {}): Promise<Deps> {
  if (!config.databaseUrl) throw new ConfigError('PGMINT_DATABASE_URL is required');
  const sealKey = await loadSealKey(config);
  const sql = guardOutage(connect({ ...parseDatabaseUrl(config.databaseUrl), max: config.poolSize, applicationName: 'pgmint-control', statementTimeoutMs: STATEMENT_TIMEOUT_MS }), 'control_plane');
  const store = createStore(sql, { contextCacheMs: config.contextCacheMs });
  const now = options.now ?? (() => new Date());
  const deps: Deps = {
    sql,
    store,
    connect,
    targets: createTargetPool({ connect, sealKey, poolSize: config.poolSize, concurrency: config.targetConcurrency, creatorRoles: config.creatorRoles }),
    verifier: new TokenVerifier({
      now,
      fetch: options.fetch,
      fetchForCa: options.fetchForCa,
      allowInsecureIssuers: config.allowInsecureIssuers,
      jwksStore: store.jwksCache,
      cooldownMs: config.jwksCooldownSec * 1000,
    }),
    passwords: createVerifierPool({ size: config.verifierPoolSize }),
    controlReads: createLimiter(config.controlReads),
    auditBacklog: createAuditBacklog(),
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
