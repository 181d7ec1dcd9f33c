/**
 * Removes lease users from one target, many at a time: the target-side half
 * of revocation, shared by DELETE, bulk revoke, the sweep and orphan cleanup.
 *
 * One batch costs two round trips to the registered database: a check (which
 * roles still exist, the server version, and — from the cluster-wide
 * pg_shdepend — which *other* databases hold objects or privileges of these
 * roles), then one script that revokes them all. Databases other than the
 * registered one are visited only when pg_shdepend names them, so "every
 * database where the role may own objects" costs nothing in the usual case
 * and is exact when it matters; a database the broker cannot connect to
 * (datallowconn off, no CONNECT) leaves DROP ROLE failing, and the failure is
 * recorded on the lease rather than ignored.
 *
 * A role that no longer exists counts as revoked (`absent`). If the batch
 * script fails, each role is retried alone so one bad role cannot hold back
 * the rest.
 *
 * A role asked for `ifIdle` (an expired lease, not a revocation) is left in
 * place while it has a session anywhere in the cluster (`draining`): expiry
 * stops new logins, never work in progress. The check that finds sessions is
 * the same single query for the whole batch.
 *
 * @example
 *   const results = await deps.targets.dropRoles(db, [{ name: lease.username, reassignTo: lease.reassignTo, statements: null }]);
 */
import type { Queryable, SslMode } from '../db/port.js';
import { DatabaseError, sanitizeDatabaseError } from '../db/sanitize.js';
import { administerSql } from '../sql/creator-sql.js';
import { type DropCheckRow, dropCheckSql } from '../sql/drop-check-sql.js';
import { releaseElsewhereSql, type RoleToRevoke, revokeBatchSql, terminateOnlySql } from '../sql/revoke-sql.js';
import { renderTemplate } from '../sql/template.js';
import type { Target, TargetAccess } from './connections.js';
import type { Creators } from './creators.js';
import { unsealRoot } from './root-secret.js';
import type { TargetRecord } from './types.js';

export interface DropRequest extends RoleToRevoke {
  /** The role definition's custom revocation statements, which replace the default. */
  statements: string | null;
  /** Drop only if the role has no session; otherwise keep it and answer `draining`. */
  ifIdle?: boolean;
}

export type DropOutcome =
  | { outcome: 'revoked'; /** Sessions open at the check, ended by the drop. */ sessions: number }
  | { outcome: 'absent' }
  | { outcome: 'draining'; sessions: number }
  | { outcome: 'failed'; error: DatabaseError };

const UNDEFINED_OBJECT = '42704';

function asDbError(err: unknown): DatabaseError {
  return sanitizeDatabaseError(err);
}

/** Errors that say nothing about one role: the whole target is unreachable. */
function isConnectionError(err: DatabaseError): boolean {
  return !err.sqlstate || /^(08|57|53|28)/.test(err.sqlstate);
}

async function check(sql: Queryable, roles: readonly DropRequest[]): Promise<DropCheckRow[]> {
  const { text, params } = dropCheckSql(roles);
  const { rows } = await sql.query<DropCheckRow>(text, params);
  return rows;
}

async function releaseInOtherDatabases(
  access: TargetAccess,
  db: TargetRecord,
  version: number,
  roles: readonly DropRequest[],
  checks: Map<string, DropCheckRow>,
  results: Map<string, DropOutcome>,
): Promise<void> {
  const byDb = new Map<string, DropRequest[]>();
  for (const r of roles) for (const other of checks.get(r.name)?.other_dbs ?? []) byDb.set(other, [...(byDb.get(other) ?? []), r]);
  if (byDb.size === 0) return;
  const password = await unsealRoot(access.sealKey, db);
  for (const [database, members] of byDb) {
    const sql = access.connect({
      host: db.host,
      port: db.port,
      database,
      user: db.adminUser,
      password,
      sslmode: db.sslmode as SslMode,
      max: 1,
      applicationName: 'pgmint-revoke',
    });
    try {
      await sql.query(releaseElsewhereSql(version, members));
    } catch (err) {
      const error = asDbError(err);
      for (const m of members)
        results.set(m.name, {
          outcome: 'failed',
          error: new DatabaseError(`in database ${database}: ${error.message}`, { sqlstate: error.sqlstate }),
        });
    } finally {
      await sql.end().catch(() => {});
    }
  }
}

async function dropOne(sql: Queryable, version: number, creators: Creators, role: DropRequest): Promise<DropOutcome> {
  try {
    if (role.statements) {
      const custom = administerSql(creators, role.name, renderTemplate(role.statements, { name: role.name }));
      await sql.query(`${terminateOnlySql(version, role, creators)};\n${custom}`);
    } else {
      await sql.query(revokeBatchSql(version, [role], [], creators));
    }
    return { outcome: 'revoked', sessions: 0 };
  } catch (err) {
    const error = asDbError(err);
    return error.sqlstate === UNDEFINED_OBJECT ? { outcome: 'absent' } : { outcome: 'failed', error };
  }
}

export async function dropLeaseRoles(
  access: TargetAccess,
  db: TargetRecord,
  roles: readonly DropRequest[],
): Promise<Map<string, DropOutcome>> {
  const results = new Map<string, DropOutcome>();
  if (roles.length === 0) return results;
  const failAll = (err: unknown, which: readonly DropRequest[] = roles) => {
    const error = asDbError(err);
    for (const r of which) if (!results.has(r.name)) results.set(r.name, { outcome: 'failed', error });
    return results;
  };

  let target: Target;
  let checks: DropCheckRow[];
  let creators: Creators;
  try {
    target = await access.connections.open(db);
    creators = await target.creators();
    checks = await target.limiter.run(() => check(target.sql, roles));
  } catch (err) {
    return failAll(err);
  }
  const found = new Map(checks.map((c) => [c.name, c]));
  for (const r of roles) {
    const c = found.get(r.name);
    if (!c) results.set(r.name, { outcome: 'absent' });
    else if (r.ifIdle && c.sessions > 0) results.set(r.name, { outcome: 'draining', sessions: c.sessions });
  }
  const present = roles
    .filter((r) => found.has(r.name) && !results.has(r.name))
    .map((r) => ({ ...r, creator: found.get(r.name)!.creator }));
  if (present.length === 0) return results;
  const version = checks[0]!.version;

  try {
    await releaseInOtherDatabases(access, db, version, present, found, results);
  } catch (err) {
    return failAll(err, present);
  }

  const pending = present.filter((r) => !results.has(r.name));
  // Custom statements and roles outside their group's reach go one at a time;
  // the rest share one script.
  const batchable = pending.filter((r) => !r.statements && found.get(r.name)!.reaches_group);
  const single = pending.filter((r) => !batchable.includes(r));
  if (batchable.length > 0) {
    // Only roles that owned objects elsewhere (just handed over) or may own some here need the full sequence.
    const idle = batchable.filter((r) => found.get(r.name)!.idle && found.get(r.name)!.other_dbs.length === 0);
    const busy = batchable.filter((r) => !idle.includes(r));
    try {
      await target.limiter.run(() => target.sql.query(revokeBatchSql(version, busy, idle, creators)));
      for (const r of batchable) results.set(r.name, { outcome: 'revoked', sessions: found.get(r.name)!.sessions });
    } catch (err) {
      const error = asDbError(err);
      if (isConnectionError(error)) return failAll(error, batchable);
      if (batchable.length === 1)
        results.set(batchable[0]!.name, error.sqlstate === UNDEFINED_OBJECT ? { outcome: 'absent' } : { outcome: 'failed', error });
      else single.push(...batchable);
    }
  }
  for (const r of single) {
    const outcome = await target.limiter.run(() => dropOne(target.sql, version, creators, r));
    results.set(r.name, outcome.outcome === 'revoked' ? { outcome: 'revoked', sessions: found.get(r.name)!.sessions } : outcome);
  }
  return results;
}
