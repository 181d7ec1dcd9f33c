/**
 * A database's health as operators see it: can the broker reach the target,
 * does it still hold CREATEROLE (and not more), how many leases are active,
 * draining (expired, sessions still open), overdue for the sweeper, or
 * irrevocable, how old the root credential is, and whether each trusted
 * issuer's keys can be fetched.
 *
 * @example
 *   const report = await databaseHealth(deps, 'orders'); // report.status: 'ok' | 'degraded' | 'down'
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import { type IssuerHealth, issuerHealth } from '../registry/issuer-health.js';
import type { TargetHealth } from '../targets/catalog.js';

/** What the target port found (targets/catalog.ts), with the control plane's view beside it. */
export interface HealthReport extends TargetHealth {
  database: string;
  status: 'ok' | 'degraded' | 'down';
  leases: { active: number; pending: number; draining: number; overdue: number; retrying: number; irrevocable: number };
  rootCredential: { rotatedAt: string; ageSeconds: number; rotationPeriod: number; rotationDue: boolean };
  issuers: IssuerHealth[];
}

export async function databaseHealth(deps: Deps, databaseId: string): Promise<HealthReport> {
  const db = await deps.store.databases.get(databaseId);
  if (!db) throw new PgmintError('database_not_found', 'no such database');
  const now = deps.now();
  const { reachable, createrole, superuser, serverVersion, leaseRolesCreatedBy, error } = await deps.targets.checkHealth(db);
  const [counts, issuers] = await Promise.all([
    deps.store.leases.countByState({ databaseId: db.id, now, graceSec: deps.settings.sweepGraceSec }),
    issuerHealth(deps, db.id),
  ]);
  const ageSec = Math.max(0, Math.floor((now.getTime() - Date.parse(db.rootRotatedAt)) / 1000));
  const rotationDue = ageSec > db.rotationPeriodSec;
  const issuerFailing = issuers.some((i) => i.status === 'failing');
  const degraded = !createrole || Boolean(superuser) || counts.overdue! > 0 || counts.irrevocable! > 0 || rotationDue || issuerFailing;
  return {
    database: db.id,
    status: !reachable ? 'down' : degraded ? 'degraded' : 'ok',
    reachable,
    createrole,
    superuser,
    serverVersion,
    leaseRolesCreatedBy,
    error,
    leases: {
      active: counts.active!,
      pending: counts.pending!,
      draining: counts.draining!,
      overdue: counts.overdue!,
      retrying: counts.retrying!,
      irrevocable: counts.irrevocable!,
    },
    rootCredential: { rotatedAt: db.rootRotatedAt, ageSeconds: ageSec, rotationPeriod: db.rotationPeriodSec, rotationDue },
    issuers,
  };
}
