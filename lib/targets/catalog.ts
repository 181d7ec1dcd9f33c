/**
 * Reads of a target's catalog: the broker's health there, which group roles
 * exist, and the orphan candidates of a sweep (lib/sql/catalog-sql.ts has the
 * queries). Nothing here changes the target.
 *
 * @example
 *   const missing = await missingRoles(target, ['app_readonly']); // [] when all exist
 */
import { sanitizeDatabaseError } from '../db/sanitize.js';
import {
  type BrokerStatusRow,
  brokerStatusSql,
  existingRolesSql,
  type OrphanCandidateRow,
  type OrphanQuery,
  orphanCandidatesSql,
} from '../sql/catalog-sql.js';
import type { Connections } from './connections.js';
import type { TargetRecord } from './types.js';

export interface TargetHealth {
  reachable: boolean;
  createrole: boolean | null;
  superuser: boolean | null;
  serverVersion: number | null;
  /** Who creates and drops lease roles on this target (creators.ts). */
  leaseRolesCreatedBy: 'creators' | 'broker' | null;
  /** Why the target could not be read, without secrets. */
  error: string | null;
}

/** Never throws: an unreachable target is a health report too. */
export async function checkHealth(connections: Connections, db: TargetRecord): Promise<TargetHealth> {
  const health: TargetHealth = {
    reachable: false,
    createrole: null,
    superuser: null,
    serverVersion: null,
    leaseRolesCreatedBy: null,
    error: null,
  };
  try {
    const target = await connections.open(db);
    const { text, params } = brokerStatusSql();
    const { rows } = await target.sql.query<BrokerStatusRow>(text, params);
    health.reachable = true;
    health.createrole = rows[0]?.createrole ?? false;
    health.superuser = rows[0]?.superuser ?? false;
    health.serverVersion = rows[0]?.server_version ?? null;
    health.leaseRolesCreatedBy = (await target.creators()).mode === 'creators' ? 'creators' : 'broker';
  } catch (err) {
    health.error = sanitizeDatabaseError(err).message;
  }
  return health;
}

/** The names among `names` that are not roles on the target. */
export async function missingRoles(connections: Connections, db: TargetRecord, names: readonly string[]): Promise<string[]> {
  const target = await connections.open(db);
  const { text, params } = existingRolesSql(names);
  const { rows } = await target.sql.query<{ rolname: string }>(text, params);
  const found = new Set(rows.map((r) => r.rolname));
  return names.filter((n) => !found.has(n));
}

export interface OrphanCandidate {
  name: string;
  /** A group the role reaches, to hand its objects to; null drops them. */
  group: string | null;
  /** Expired less than `recentSec` ago: its sessions are not ended yet. */
  recent: boolean;
}

/** One page of expired, prefixed login roles that this broker administers or that joined the database's groups. */
export async function orphanCandidates(
  connections: Connections,
  db: TargetRecord,
  query: Omit<OrphanQuery, 'broker'>,
): Promise<OrphanCandidate[]> {
  const target = await connections.open(db);
  const { text, params } = orphanCandidatesSql({ ...query, broker: db.adminUser });
  const { rows } = await target.sql.query<OrphanCandidateRow>(text, params);
  return rows.map((r) => ({ name: r.name, group: r.grp, recent: r.recent }));
}
