/**
 * Trusted token issuers per database: who may ask, with which audience, for which roles.
 *
 * @example
 *   const candidates = await issuers(sql).findByIssuer('orders', 'k8s', iss);
 */
import type { Queryable } from '../db/port.js';
import { toIssuer } from './rows.js';
import type { IssuerKind, IssuerRecord } from './types.js';

export type IssuerInput = Omit<IssuerRecord, 'id' | 'createdAt'>;

export function issuers(sql: Queryable) {
  return {
    async findByIssuer(databaseId: string, kind: IssuerKind, issuer: string): Promise<IssuerRecord[]> {
      const { rows } = await sql.query(
        'SELECT * FROM pgmint.issuers WHERE database_id = $1 AND kind = $2 AND issuer = $3 ORDER BY created_at',
        [databaseId, kind, issuer],
      );
      return rows.map(toIssuer);
    },
    async get(databaseId: string, id: string): Promise<IssuerRecord | null> {
      const { rows } = await sql.query('SELECT * FROM pgmint.issuers WHERE database_id = $1 AND id = $2::uuid', [databaseId, id]);
      return rows[0] ? toIssuer(rows[0]) : null;
    },
    async list(databaseId: string): Promise<IssuerRecord[]> {
      const { rows } = await sql.query('SELECT * FROM pgmint.issuers WHERE database_id = $1 ORDER BY created_at', [databaseId]);
      return rows.map(toIssuer);
    },
    async create(i: IssuerInput): Promise<IssuerRecord> {
      const { rows } = await sql.query(
        `INSERT INTO pgmint.issuers (database_id, kind, issuer, audiences, allowed_service_accounts, allowed_subjects,
           bound_claims, default_role, allowed_roles, pinned_jwks, pinned_pems, max_leases_per_workload,
           max_token_lifetime, require_bound_pod, ca_pem)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *`,
        [
          i.databaseId,
          i.kind,
          i.issuer,
          i.audiences,
          i.allowedServiceAccounts,
          i.allowedSubjects,
          JSON.stringify(i.boundClaims),
          i.defaultRole,
          i.allowedRoles,
          i.pinnedJwks ? JSON.stringify(i.pinnedJwks) : null,
          i.pinnedPems,
          i.maxLeasesPerWorkload,
          i.maxTokenLifetimeSec,
          i.requireBoundPod,
          i.caPem,
        ],
      );
      return toIssuer(rows[0]!);
    },
    async remove(databaseId: string, id: string): Promise<boolean> {
      const { rowCount } = await sql.query('DELETE FROM pgmint.issuers WHERE database_id = $1 AND id = $2::uuid', [databaseId, id]);
      return rowCount > 0;
    },
  };
}
