/**
 * The control-plane copy of each issuer's JWKS, so a cold start verifies
 * tokens while the issuer is unreachable.
 */
import type { Queryable } from '../db/port.js';

export function jwksCache(sql: Queryable) {
  return {
    async get(issuer: string): Promise<{ jwks: { keys: unknown[] }; fetchedAt: Date } | null> {
      const { rows } = await sql.query<{ jwks: { keys: unknown[] }; fetched_at: Date }>(
        'SELECT jwks, fetched_at FROM pgmint.jwks_cache WHERE issuer = $1',
        [issuer],
      );
      const row = rows[0];
      return row ? { jwks: row.jwks, fetchedAt: new Date(row.fetched_at) } : null;
    },
    async put(issuer: string, jwks: { keys: unknown[] }): Promise<void> {
      await sql.query(
        `INSERT INTO pgmint.jwks_cache (issuer, jwks, fetched_at) VALUES ($1, $2, now())
         ON CONFLICT (issuer) DO UPDATE SET jwks = EXCLUDED.jwks, fetched_at = now()`,
        [issuer, JSON.stringify(jwks)],
      );
    },
  };
}
