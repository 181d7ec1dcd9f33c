/**
 * Reads pgmint's settings from an environment map (process.env on Node, the
 * `env` binding on Workers). A missing or malformed secret key stops start-up
 * with a clear message: pgmint never falls back to storing plaintext.
 *
 * @example
 *   const config = readConfig(process.env);
 */
import { z } from 'zod';
import { importSealKey } from './crypto/seal.js';

const flag = z
  .enum(['', '0', '1', 'true', 'false'])
  .default('')
  .transform((v) => v === '1' || v === 'true');

const EnvSchema = z.object({
  PGMINT_DATABASE_URL: z.string().url().optional(),
  PGMINT_SECRET_KEY: z.string({ error: 'PGMINT_SECRET_KEY is required: base64 of 32 random bytes (openssl rand -base64 32)' }),
  PGMINT_ADMIN_TOKEN: z.string().min(24, 'PGMINT_ADMIN_TOKEN must be at least 24 characters').optional(),
  PGMINT_AUDIENCE: z.string().min(1).default('pgmint'),
  PGMINT_DRIVER: z.enum(['pg', 'neon']).default('pg'),
  PGMINT_ALLOW_INSECURE_ISSUERS: flag,
  PGMINT_SWEEP_GRACE: z.coerce.number().int().min(0).default(60),
  PGMINT_LEASE_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  PGMINT_AUDIT_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(0)
    .max(36_500)
    .default(400)
    .refine((d) => d === 0 || d >= 30, 'must be 0 (keep forever) or at least 30 days'),
  PGMINT_NEON_WS_PROXY: z.string().optional(),
  PGMINT_TARGET_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  PGMINT_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  PGMINT_CREATOR_ROLES: z.coerce.number().int().min(0).max(4096).default(1000),
  PGMINT_QUEUE_TIMEOUT: z.coerce.number().min(0.1).max(900).default(20),
  PGMINT_CONTEXT_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  PGMINT_JWKS_COOLDOWN: z.coerce.number().min(0).max(3600).default(30),
  PGMINT_VERIFIER_POOL: z.coerce.number().int().min(0).max(64).default(8),
  PGMINT_STANDBY_ROLES: z.coerce.number().int().min(0).max(16).default(2),
  PGMINT_CONTROL_READS: z.coerce.number().int().min(1).max(256).default(8),
});

export type Env = Record<string, string | undefined>;

export interface Config {
  databaseUrl: string | undefined;
  secretKey: string;
  adminToken: string;
  audience: string;
  driver: 'pg' | 'neon';
  allowInsecureIssuers: boolean;
  sweepGraceSec: number;
  /** Days finished leases are kept (PGMINT_LEASE_RETENTION_DAYS). */
  leaseRetentionDays: number;
  /** Days after its month ends before an audit partition is dropped (PGMINT_AUDIT_RETENTION_DAYS); 0 = never. */
  auditRetentionDays: number;
  neonWsProxy: string | undefined;
  targetConcurrency: number;
  poolSize: number;
  /** Creator roles per broker on PostgreSQL 16+ targets (lib/targets/creators.ts); 0 = the broker creates lease roles itself. */
  creatorRoles: number;
  /** Seconds an exchange may wait for a free slot on its target before 503. */
  queueTimeoutSec: number;
  /** Milliseconds an exchange's control-plane context is kept in memory (store/exchange-context.ts); 0 reads it every time. */
  contextCacheMs: number;
  /** Seconds between refetches of an issuer's keys for an unknown `kid` (jose's cooldownDuration). */
  jwksCooldownSec: number;
  /** Lease passwords with their SCRAM verifiers computed ahead per process (crypto/verifier-pool.ts); 0 computes each on the spot. */
  verifierPoolSize: number;
  /** Standby lease roles kept per target and role definition (lib/targets/standby-roles.ts); 0 turns them off. */
  standbyRoles: number;
  /** Exchange context reads in flight on the control plane per process; the rest wait in memory, not in the driver's pool queue. */
  controlReads: number;
}

export class ConfigError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function readConfig(env: Env): Config {
  const parsed = EnvSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('PGMINT_'))));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${issue.path.join('.')}: ${issue.message}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.PGMINT_DATABASE_URL,
    secretKey: e.PGMINT_SECRET_KEY,
    adminToken: e.PGMINT_ADMIN_TOKEN ?? '',
    audience: e.PGMINT_AUDIENCE,
    driver: e.PGMINT_DRIVER,
    allowInsecureIssuers: e.PGMINT_ALLOW_INSECURE_ISSUERS,
    sweepGraceSec: e.PGMINT_SWEEP_GRACE,
    leaseRetentionDays: e.PGMINT_LEASE_RETENTION_DAYS,
    auditRetentionDays: e.PGMINT_AUDIT_RETENTION_DAYS,
    neonWsProxy: e.PGMINT_NEON_WS_PROXY,
    targetConcurrency: e.PGMINT_TARGET_CONCURRENCY,
    poolSize: e.PGMINT_POOL_SIZE,
    creatorRoles: e.PGMINT_CREATOR_ROLES,
    queueTimeoutSec: e.PGMINT_QUEUE_TIMEOUT,
    contextCacheMs: e.PGMINT_CONTEXT_CACHE_MS,
    jwksCooldownSec: e.PGMINT_JWKS_COOLDOWN,
    verifierPoolSize: e.PGMINT_VERIFIER_POOL,
    standbyRoles: e.PGMINT_STANDBY_ROLES,
    controlReads: e.PGMINT_CONTROL_READS,
  };
}

/** Imports the sealing key, turning a bad value into a start-up error. */
export async function loadSealKey(config: Config): Promise<CryptoKey> {
  try {
    return await importSealKey(config.secretKey);
  } catch (err) {
    throw new ConfigError(err instanceof Error ? err.message : 'PGMINT_SECRET_KEY is not valid');
  }
}
