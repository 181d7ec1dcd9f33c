/**
 * Registered target databases and their sealed root credentials.
 *
 * @example
 *   const db = await databases(sql).get('orders');
 */
import type { Queryable } from '../db/port.js';
import { DATABASE_COLUMNS, toDatabase } from './rows.js';
import type { SealedRootVersions } from '../targets/types.js';
import type { DatabaseRecord } from './types.js';

/** A database as registered: the connection settings, and optionally how it is presented and rotated. */
export type NewDatabase = Pick<DatabaseRecord, 'id' | 'host' | 'port' | 'database' | 'adminUser' | 'sslmode' | 'rootSecret'> &
  Partial<Pick<DatabaseRecord, 'publicHost' | 'publicPort' | 'publicSslmode' | 'rotationPeriodSec' | 'leasePrefix'>>;

export function databases(sql: Queryable) {
  return {
    async get(id: string): Promise<DatabaseRecord | null> {
      const { rows } = await sql.query(`SELECT ${DATABASE_COLUMNS} FROM pgmint.databases WHERE id = $1`, [id]);
      return rows[0] ? toDatabase(rows[0]) : null;
    },
    async list(): Promise<DatabaseRecord[]> {
      const { rows } = await sql.query(`SELECT ${DATABASE_COLUMNS} FROM pgmint.databases ORDER BY id`);
      return rows.map(toDatabase);
    },
    /** Inserts, or replaces the connection settings of an existing id. */
    async upsert(d: NewDatabase): Promise<DatabaseRecord> {
      const { rows } = await sql.query(
        `INSERT INTO pgmint.databases (id, host, port, database, admin_user, sslmode, public_host, public_port,
           public_sslmode, root_secret, rotation_period, lease_prefix)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, make_interval(secs => $11), $12)
         ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, port = EXCLUDED.port, database = EXCLUDED.database,
           admin_user = EXCLUDED.admin_user, sslmode = EXCLUDED.sslmode, public_host = EXCLUDED.public_host,
           public_port = EXCLUDED.public_port, public_sslmode = EXCLUDED.public_sslmode,
           root_secret = EXCLUDED.root_secret, root_rotated_at = now(), rotation_period = EXCLUDED.rotation_period,
           lease_prefix = EXCLUDED.lease_prefix, updated_at = now()
         RETURNING ${DATABASE_COLUMNS}`,
        [
          d.id,
          d.host,
          d.port,
          d.database,
          d.adminUser,
          d.sslmode,
          d.publicHost ?? null,
          d.publicPort ?? null,
          d.publicSslmode ?? null,
          JSON.stringify(d.rootSecret),
          d.rotationPeriodSec ?? 7 * 86400,
          d.leasePrefix ?? 'pgm',
        ],
      );
      return toDatabase(rows[0]!);
    },
    /**
     * Replaces the sealed versions only if they are still `expected` (compare
     * and set), so a rotation step never overwrites a change it did not see.
     * Returns the updated record, or null when the row changed or is gone.
     */
    async replaceRootSecret(
      id: string,
      expected: SealedRootVersions,
      next: SealedRootVersions,
      rotated: boolean,
    ): Promise<DatabaseRecord | null> {
      const { rows } = await sql.query(
        `UPDATE pgmint.databases SET root_secret = $3::jsonb, updated_at = now(),
           root_rotated_at = CASE WHEN $4 THEN now() ELSE root_rotated_at END
         WHERE id = $1 AND root_secret = $2::jsonb
         RETURNING ${DATABASE_COLUMNS}`,
        [id, JSON.stringify(expected), JSON.stringify(next), rotated],
      );
      return rows[0] ? toDatabase(rows[0]) : null;
    },
    /** Databases whose root credential is older than their rotation period at `now`, or whose rotation was interrupted. */
    async dueForRotation(now: Date): Promise<DatabaseRecord[]> {
      const { rows } = await sql.query(
        `SELECT ${DATABASE_COLUMNS} FROM pgmint.databases
         WHERE root_rotated_at + rotation_period <= $1::timestamptz OR jsonb_typeof(root_secret -> 'pending') = 'string'
         ORDER BY root_rotated_at, id`,
        [now.toISOString()],
      );
      return rows.map(toDatabase);
    },
    async remove(id: string): Promise<boolean> {
      const { rowCount } = await sql.query('DELETE FROM pgmint.databases WHERE id = $1', [id]);
      return rowCount > 0;
    },
  };
}
