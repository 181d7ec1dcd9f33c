/**
 * Adapts a node-postgres-compatible Pool (`pg` or `@neondatabase/serverless`)
 * to the Sql port, and passes every driver error through the one sanitizer.
 */
import type { Queryable, QueryResult, Sql } from './port.js';
import { DatabaseError, sanitizeDatabaseError } from './sanitize.js';

interface PgLikeClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  release(err?: boolean | Error): void;
}

export interface PgLikePool {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  connect(): Promise<PgLikeClient>;
  end(): Promise<void>;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

function run<T>(target: { query: PgLikePool['query'] }, text: string, params?: readonly unknown[]): Promise<QueryResult<T>> {
  return target.query(text, params ? [...params] : undefined).then(
    (r) => ({ rows: r.rows as T[], rowCount: r.rowCount ?? 0 }),
    (err: unknown) => {
      throw sanitizeDatabaseError(err);
    },
  );
}

export function adaptPool(pool: PgLikePool): Sql {
  // An idle client that loses its server must not crash the process.
  pool.on?.('error', () => {});
  return {
    query: <T>(text: string, params?: readonly unknown[]) => run<T>(pool, text, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      let client: PgLikeClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw sanitizeDatabaseError(err);
      }
      const tx: Queryable = { query: <R>(text: string, params?: readonly unknown[]) => run<R>(client, text, params) };
      try {
        await tx.query('BEGIN');
        const result = await fn(tx);
        await tx.query('COMMIT');
        client.release();
        return result;
      } catch (err) {
        // A connection that timed out or broke is discarded, not rolled back (which would wait
        // out another timeout) and never handed to the next caller mid-transaction.
        if (err instanceof DatabaseError && err.unreachable) {
          client.release(err);
          throw err;
        }
        await client.query('ROLLBACK').then(
          () => client.release(),
          (rollbackError: Error) => client.release(rollbackError),
        );
        throw err;
      }
    },
    end: () => pool.end(),
  };
}
