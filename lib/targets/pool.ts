/**
 * Connections to target databases with the broker's root credential, kept
 * per database and reopened when the credential changes (after a rotation).
 * Each target also gets a limiter: role creation is bounded per target so a
 * burst of pods queues in pgmint instead of overwhelming the database.
 *
 * @example
 *   const target = await targets.open(db);
 *   await target.sql.query('SELECT 1');
 */
import { unseal } from '../crypto/seal.js';
import type { Connect, Sql, SslMode } from '../db/port.js';
import type { DatabaseRecord } from '../store/types.js';
import { createLimiter, type Limiter } from './limiter.js';

export interface Target {
  sql: Sql;
  limiter: Limiter;
}

export interface TargetPoolOptions {
  connect: Connect;
  sealKey: CryptoKey;
  /** Connections per target held by one broker instance. */
  poolSize?: number;
  /** Role creations in flight per target. */
  concurrency?: number;
}

export function rootSecretAad(databaseId: string): string {
  return `pgmint:database:${databaseId}`;
}

export async function unsealRoot(sealKey: CryptoKey, db: DatabaseRecord, version: 'current' | 'pending' | 'previous' = 'current') {
  const sealed = db.rootSecret[version];
  if (!sealed) throw new TypeError(`database ${db.id} has no ${version} root credential`);
  return unseal(sealKey, sealed, rootSecretAad(db.id));
}

export function createTargetPool(options: TargetPoolOptions) {
  const open = new Map<string, { sealed: string; target: Target }>();
  return {
    async open(db: DatabaseRecord): Promise<Target> {
      const cached = open.get(db.id);
      if (cached && cached.sealed === db.rootSecret.current) return cached.target;
      const password = await unsealRoot(options.sealKey, db);
      const sql = options.connect({
        host: db.host,
        port: db.port,
        database: db.database,
        user: db.adminUser,
        password,
        sslmode: db.sslmode as SslMode,
        max: options.poolSize ?? 4,
        applicationName: 'pgmint',
      });
      const target = { sql, limiter: cached?.target.limiter ?? createLimiter(options.concurrency ?? 8) };
      open.set(db.id, { sealed: db.rootSecret.current, target });
      // The old pool drains on its own; open sessions finish their statements.
      if (cached) void cached.target.sql.end().catch(() => {});
      return target;
    },
    async close(databaseId?: string): Promise<void> {
      const ids = databaseId ? [databaseId] : [...open.keys()];
      await Promise.allSettled(
        ids.map(async (id) => {
          const entry = open.get(id);
          open.delete(id);
          await entry?.target.sql.end();
        }),
      );
    },
  };
}

export type TargetPool = ReturnType<typeof createTargetPool>;
