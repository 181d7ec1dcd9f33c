/**
 * Registering a target database: the broker's credential is tested by
 * logging in, and the role must hold CREATEROLE and must not be a superuser.
 * A failure is `invalid_config` with the reason, and nothing is stored.
 *
 * @example
 *   await registerDatabase(deps, { id: 'orders', host, port, database, adminUser, adminPassword, sslmode });
 */
import type { Deps } from '../deps.js';
import { seal } from '../crypto/seal.js';
import type { SslMode } from '../db/port.js';
import { PgmintError } from '../errors.js';
import type { DatabaseRecord } from '../store/types.js';
import type { BrokerCheck } from '../targets/pool.js';
import { rootSecretAad } from '../targets/root-secret.js';
import type { AdminRequest } from './lookup.js';

export interface DatabaseRegistration {
  id: string;
  host: string;
  port: number;
  database: string;
  adminUser: string;
  adminPassword: string;
  sslmode: SslMode;
  publicHost?: string;
  publicPort?: number;
  publicSslmode?: string;
  rotationPeriodSec?: number;
  leasePrefix?: string;
}

export async function registerDatabase(deps: Deps, r: DatabaseRegistration, request: AdminRequest): Promise<DatabaseRecord> {
  let check: BrokerCheck;
  try {
    check = await deps.targets.checkBroker({
      host: r.host,
      port: r.port,
      database: r.database,
      user: r.adminUser,
      password: r.adminPassword,
      sslmode: r.sslmode,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new PgmintError('invalid_config', `cannot connect to the target database: ${reason}`, { details: { field: 'host' } });
  }
  if (check.superuser) {
    const advice = 'give pgmint a role with CREATEROLE only (see `pgmint bootstrap-sql`)';
    throw new PgmintError('invalid_config', `the admin role is a superuser; ${advice}`, { details: { field: 'admin_user' } });
  }
  if (!check.createrole) {
    throw new PgmintError('invalid_config', 'the admin role lacks CREATEROLE', { details: { field: 'admin_user' } });
  }
  const sealed = await seal(deps.sealKey, r.adminPassword, rootSecretAad(r.id));
  const { adminPassword: _sealedAbove, ...settings } = r;
  const record = await deps.store.databases.upsert({
    ...settings,
    publicHost: r.publicHost ?? null,
    publicPort: r.publicPort ?? null,
    publicSslmode: r.publicSslmode ?? null,
    rootSecret: { current: sealed },
  });
  await deps.targets.close(r.id);
  const { admin, requestId } = request;
  await deps.store.audit.append({ action: 'database.register', outcome: 'success', databaseId: r.id, requestId, subject: admin });
  return record;
}
