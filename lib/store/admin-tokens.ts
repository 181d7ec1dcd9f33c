/**
 * Admin tokens beyond the bootstrap one: only their SHA-256 hash is stored,
 * with their scopes; revoking keeps the row (revoked_at) for the audit trail.
 *
 * @example
 *   const row = await adminTokens(sql).create({ name: 'ci', scopes: ['leases:read'], tokenHash, createdBy: 'bootstrap' });
 */
import type { Queryable } from '../db/port.js';

export interface AdminTokenRecord {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  createdBy: string | null;
  revokedAt: string | null;
}

const iso = (v: unknown): string | null => (v == null ? null : new Date(v as string | Date).toISOString());

function toToken(r: Record<string, unknown>): AdminTokenRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    scopes: r.scopes as string[],
    createdAt: iso(r.created_at)!,
    createdBy: (r.created_by as string | null) ?? null,
    revokedAt: iso(r.revoked_at),
  };
}

const COLUMNS = 'id, name, scopes, created_at, created_by, revoked_at';

export function adminTokens(sql: Queryable) {
  return {
    async create(t: { name: string; scopes: string[]; tokenHash: string; createdBy: string }): Promise<AdminTokenRecord> {
      const { rows } = await sql.query(
        `INSERT INTO pgmint.admin_tokens (name, token_hash, scopes, created_by) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
        [t.name, t.tokenHash, t.scopes, t.createdBy],
      );
      return toToken(rows[0]!);
    },
    /** The unrevoked token stored under `tokenHash`, or null. */
    async findActive(tokenHash: string): Promise<AdminTokenRecord | null> {
      const { rows } = await sql.query(`SELECT ${COLUMNS} FROM pgmint.admin_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, [
        tokenHash,
      ]);
      return rows[0] ? toToken(rows[0]) : null;
    },
    async list(): Promise<AdminTokenRecord[]> {
      const { rows } = await sql.query(`SELECT ${COLUMNS} FROM pgmint.admin_tokens ORDER BY created_at, id`);
      return rows.map(toToken);
    },
    async get(id: string): Promise<AdminTokenRecord | null> {
      const { rows } = await sql.query(`SELECT ${COLUMNS} FROM pgmint.admin_tokens WHERE id = $1::uuid`, [id]);
      return rows[0] ? toToken(rows[0]) : null;
    },
    /** Null when no such token; a revoked token stays revoked at its first time. */
    async revoke(id: string): Promise<AdminTokenRecord | null> {
      const { rows } = await sql.query(
        `UPDATE pgmint.admin_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1::uuid RETURNING ${COLUMNS}`,
        [id],
      );
      return rows[0] ? toToken(rows[0]) : null;
    },
  };
}
