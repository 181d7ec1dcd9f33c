/**
 * Reads of a target's catalog that change nothing: what the broker role is
 * (for registration and health), which group roles exist (for role
 * definitions), and the orphan candidates the sweep looks at.
 *
 * @example
 *   const { text, params } = existingRolesSql(['app_readonly', 'app_readwrite']);
 */
import type { Statement } from './statement.js';

/** The logged-in broker's attributes and the server version (`server_version_num`). */
export interface BrokerStatusRow {
  createrole: boolean;
  superuser: boolean;
  server_version: number;
}

export function brokerStatusSql(): Statement {
  return {
    text: `SELECT rolcreaterole AS createrole, rolsuper AS superuser, current_setting('server_version_num')::int AS server_version
       FROM pg_roles WHERE rolname = current_user`,
    params: [],
  };
}

/** The names among `names` that exist as roles. */
export function existingRolesSql(names: readonly string[]): Statement {
  return { text: 'SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', params: [names] };
}

export interface OrphanQuery {
  /** The database's lease prefix, without the underscore. */
  leasePrefix: string;
  /** Only roles whose VALID UNTIL is at least this long past. */
  graceSec: number;
  /** Keyset paging: names after this one. */
  after: string;
  limit: number;
  /** The broker: roles it or one of its creators administers are its own. */
  broker: string;
  /** The database's group roles: roles that joined one are its own too. */
  groups: readonly string[];
  /** A role expired less than this long ago is `recent` (its sessions are not ended yet). */
  recentSec: number;
}

export interface OrphanCandidateRow {
  name: string;
  /** A group the role reaches, to hand its objects to (REASSIGN is then allowed). */
  grp: string | null;
  recent: boolean;
}

/**
 * Expired login roles with the lease prefix that this broker (or one of its
 * creator roles: PostgreSQL 16+ records their ADMIN OPTION) created or that
 * joined the database's groups — never another broker's or another
 * database's, since roles are cluster-wide.
 */
export function orphanCandidatesSql(q: OrphanQuery): Statement {
  return {
    text: `SELECT r.rolname::text AS name,
           (SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
            WHERE m.member = r.oid AND pg_has_role(r.oid, g.oid, 'USAGE') ORDER BY g.rolname LIMIT 1) AS grp,
           r.rolvaliduntil > now() - make_interval(secs => $7) AS recent
         FROM pg_roles r
         WHERE starts_with(r.rolname, $1) AND r.rolvaliduntil < now() - make_interval(secs => $2) AND r.rolname > $3
           AND (EXISTS (SELECT 1 FROM pg_auth_members a WHERE a.roleid = r.oid AND a.admin_option
                          AND (a.member = (SELECT oid FROM pg_roles WHERE rolname = $5)
                            OR a.member IN (SELECT c.roleid FROM pg_auth_members c
                                            WHERE c.member = (SELECT oid FROM pg_roles WHERE rolname = $5) AND c.admin_option)))
             OR EXISTS (SELECT 1 FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
                        WHERE a.member = r.oid AND g.rolname = ANY($6::text[])))
         ORDER BY r.rolname LIMIT $4`,
    params: [`${q.leasePrefix}_`, q.graceSec, q.after, q.limit, q.broker, q.groups, q.recentSec],
  };
}
