/**
 * The control-plane copy of each issuer's JWKS, so a cold start verifies
 * tokens while the issuer is unreachable, and the last failed fetch with its
 * reason, so the health report can say why an issuer's keys are stale.
 *
 * @example
 *   await jwksCache(sql).recordFailure('https://kube.internal', { stage: 'discovery', url: '…', status: 403, reason: '…' });
 */
import type { Queryable } from '../db/port.js';
import type { FetchFailure } from '../identity/fetch-failure.js';

export interface IssuerFetchStatus {
  issuer: string;
  /** Last successful key fetch. */
  fetchedAt: Date | null;
  failedAt: Date | null;
  failure: FetchFailure | null;
}

const dateOrNull = (v: unknown): Date | null => (v == null ? null : new Date(v as string | Date));

export function jwksCache(sql: Queryable) {
  return {
    async get(issuer: string): Promise<{ jwks: { keys: unknown[] }; fetchedAt: Date } | null> {
      const { rows } = await sql.query<{ jwks: { keys: unknown[] } | null; fetched_at: Date | null }>(
        'SELECT jwks, fetched_at FROM pgmint.jwks_cache WHERE issuer = $1',
        [issuer],
      );
      const row = rows[0];
      return row?.jwks && row.fetched_at ? { jwks: row.jwks, fetchedAt: new Date(row.fetched_at) } : null;
    },
    async put(issuer: string, jwks: { keys: unknown[] }): Promise<void> {
      await sql.query(
        `INSERT INTO pgmint.jwks_cache (issuer, jwks, fetched_at) VALUES ($1, $2, now())
         ON CONFLICT (issuer) DO UPDATE SET jwks = EXCLUDED.jwks, fetched_at = now()`,
        [issuer, JSON.stringify(jwks)],
      );
    },
    async recordFailure(issuer: string, failure: FetchFailure): Promise<void> {
      await sql.query(
        `INSERT INTO pgmint.jwks_cache (issuer, failed_at, failure) VALUES ($1, now(), $2)
         ON CONFLICT (issuer) DO UPDATE SET failed_at = now(), failure = EXCLUDED.failure`,
        [issuer, JSON.stringify(failure)],
      );
    },
    /** Fetch status of several issuers (a database's), by the table's primary key. */
    async status(issuers: string[]): Promise<Map<string, IssuerFetchStatus>> {
      if (issuers.length === 0) return new Map();
      const { rows } = await sql.query<Record<string, unknown>>(
        'SELECT issuer, fetched_at, failed_at, failure FROM pgmint.jwks_cache WHERE issuer = ANY($1::text[])',
        [issuers],
      );
      return new Map(
        rows.map((r) => [
          r.issuer as string,
          {
            issuer: r.issuer as string,
            fetchedAt: dateOrNull(r.fetched_at),
            failedAt: dateOrNull(r.failed_at),
            failure: (r.failure as FetchFailure | null) ?? null,
          },
        ]),
      );
    },
  };
}
