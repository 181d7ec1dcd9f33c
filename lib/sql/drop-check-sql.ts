/**
 * The one query that precedes dropping a batch of lease roles on a target:
 * which of them still exist, the server version, how many sessions each has
 * in the whole cluster, which other databases hold objects or privileges of
 * them (the cluster-wide pg_shdepend), whether a role is idle enough to skip
 * straight to DROP ROLE, and which creator role administers it.
 *
 * pg_stat_activity is read once for the batch (it is a function scan, not an
 * index), grouped by user.
 *
 * @example
 *   const { text, params } = dropCheckSql([{ name: 'pgm_prod_api_k3v9q2x7ab', reassignTo: 'app_readonly' }]);
 */
import { creatorOfSql } from './creator-sql.js';
import type { Statement } from './statement.js';

/** One row per role that still exists. */
export interface DropCheckRow {
  name: string;
  version: number;
  /** Whether the role holds the privileges of its reassign target (the default creation makes it so). */
  reaches_group: boolean;
  other_dbs: string[];
  /** Sessions of the role in the whole cluster. */
  sessions: number;
  /** Past VALID UNTIL, no session, nothing owned or granted in this database: DROP ROLE alone will do. */
  idle: boolean;
  /** The creator role that administers it, when not the broker (sql/creator-sql.ts). */
  creator: string | null;
}

export function dropCheckSql(roles: ReadonlyArray<{ name: string; reassignTo: string | null }>): Statement {
  return {
    text: `WITH s AS (SELECT usename::text AS name, count(*)::int AS n FROM pg_stat_activity
               WHERE usename = ANY($1::text[]) GROUP BY usename)
     SELECT r.rolname AS name, current_setting('server_version_num')::int AS version, coalesce(s.n, 0) AS sessions,
       coalesce(w.reassign IS NULL OR pg_has_role(r.oid, g.oid, 'USAGE'), false) AS reaches_group,
       array(SELECT DISTINCT d.datname::text FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
             WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid
               AND d.datname <> current_database() ORDER BY 1) AS other_dbs,
       coalesce(r.rolvaliduntil < now(), false)
         AND s.n IS NULL
         AND NOT EXISTS (SELECT 1 FROM pg_shdepend s WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = r.oid
                           AND s.dbid IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))) AS idle,
       ${creatorOfSql('r.oid')} AS creator
     FROM unnest($1::text[], $2::text[]) AS w(name, reassign)
     JOIN pg_roles r ON r.rolname = w.name
     LEFT JOIN pg_roles g ON g.rolname = w.reassign
     LEFT JOIN s ON s.name = r.rolname`,
    params: [roles.map((r) => r.name), roles.map((r) => r.reassignTo)],
  };
}
