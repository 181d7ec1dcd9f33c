/**
 * Adapts a node-postgres-compatible Pool (`pg` or `@neondatabase/serverless`)
 * to the Sql port, and passes every driver error through the one sanitizer.
 *
 * Waits are judged by whether the server keeps answering, not by how long
 * one caller waited: a statement's read timeout and a wait for a pooled
 * connection are looked at again once the event loop has read its sockets,
 * and a connection wait (for a pooled one, or a new one's handshake) that
 * timed out while the pool kept answering other statements is a busy broker
 * (a burst queued in front of it, thousands of requests being parsed), so it
 * waits again instead of failing as if the server were away.
 */
import type { Queryable, QueryResult, Sql } from './port.js';
import { DatabaseError, sanitizeDatabaseError } from './sanitize.js';

interface PgLikeClient {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  release(err?: boolean | Error): void;
  on?(event: 'error', listener: (err: Error) => void): unknown;
  off?(event: 'error', listener: (err: Error) => void): unknown;
}

export interface PgLikePool {
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  connect(): Promise<PgLikeClient>;
  end(): Promise<void>;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

/** When a statement on the pool was last answered (a result or a refusal). */
interface Progress {
  at: number;
}

function run<T>(
  target: { query: PgLikePool['query'] },
  progress: Progress,
  text: string,
  params?: readonly unknown[],
  readTimeoutMs?: number,
): Promise<QueryResult<T>> {
  const sent = target.query(text, params ? [...params] : undefined);
  return (readTimeoutMs ? answeredWithin(sent, readTimeoutMs) : sent).then(
    (r) => {
      progress.at = Date.now();
      return { rows: r.rows as T[], rowCount: r.rowCount ?? 0 };
    },
    (err: unknown) => {
      const error = sanitizeDatabaseError(err);
      if (!error.unreachable) progress.at = Date.now();
      throw error;
    },
  );
}

/**
 * A pooled connection not had within the connection timeout: none came free
 * (pg-pool's, and Neon's, queue timeout), or a new one's handshake was not
 * read in time (pg's own connect timeout). No statement was sent either way.
 */
const CONNECT_WAIT = /timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;

/** Node's setImmediate when there is one (edge runtimes may lack it): it runs after the poll phase has read the sockets. */
const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;

/** Yields until the event loop has read what is waiting on its sockets. */
const afterPendingIo = (): Promise<void> => new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));

/**
 * `pending`, or a read timeout if it has not settled within `ms`. The timer is
 * looked at again once the event loop has read its sockets: after a busy
 * stretch (a burst's requests parsed and their tokens verified) timers run
 * before the poll phase reads answers that came in meanwhile, and the
 * driver's own query_timeout then took a prompt answer for a server away.
 */
function answeredWithin<T>(pending: Promise<T>, ms: number): Promise<T> {
  let settled = false;
  const done = pending.finally(() => {
    settled = true;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      await afterPendingIo();
      if (!settled) reject(new Error('Query read timeout'));
    }, ms);
  });
  return Promise.race([done, timedOut]).finally(() => clearTimeout(timer));
}

/**
 * A pooled connection and how to give it back. Error events between its
 * statements (a connection lost while a transaction waits on a target, say)
 * have no statement to take them: kept here rather than left uncaught, the
 * next statement reports them.
 */
async function checkout(pool: PgLikePool, progress: Progress): Promise<{ client: PgLikeClient; release: (err?: Error) => void }> {
  let client: PgLikeClient;
  for (;;) {
    const waitingSince = Date.now();
    try {
      client = await pool.connect();
      break;
    } catch (err) {
      // Timers run before the sockets are read after a busy stretch: look once they are.
      if (err instanceof Error && CONNECT_WAIT.test(err.message)) {
        await afterPendingIo();
        if (progress.at >= waitingSince) continue;
      }
      throw sanitizeDatabaseError(err);
    }
  }
  const lost = () => undefined;
  client.on?.('error', lost);
  const release = (err?: Error) => {
    client.off?.('error', lost);
    client.release(err);
  };
  return { client, release };
}

/** On a pooled connection of its own, so that one whose answer never came can be closed rather than reused. */
async function runPooled<T>(
  pool: PgLikePool,
  progress: Progress,
  text: string,
  params: readonly unknown[] | undefined,
  readTimeoutMs: number,
) {
  const { client, release } = await checkout(pool, progress);
  try {
    const result = await run<T>(client, progress, text, params, readTimeoutMs);
    release();
    return result;
  } catch (err) {
    // A refusal (a constraint, a syntax error) leaves the connection ready for the next statement.
    release(err instanceof DatabaseError && err.unreachable ? err : undefined);
    throw err;
  }
}

/** `readTimeoutMs`: how long a statement's answer is waited for (port.ts); unset waits. */
export function adaptPool(pool: PgLikePool, readTimeoutMs?: number): Sql {
  // An idle client that loses its server must not crash the process.
  pool.on?.('error', () => {});
  const progress: Progress = { at: -Infinity };
  return {
    query: <T>(text: string, params?: readonly unknown[]) =>
      readTimeoutMs ? runPooled<T>(pool, progress, text, params, readTimeoutMs) : run<T>(pool, progress, text, params),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const { client, release } = await checkout(pool, progress);
      const tx: Queryable = {
        query: <R>(text: string, params?: readonly unknown[]) => run<R>(client, progress, text, params, readTimeoutMs),
      };
      try {
        await tx.query('BEGIN');
        const result = await fn(tx);
        await tx.query('COMMIT');
        release();
        return result;
      } catch (err) {
        // A connection that timed out or broke is discarded, not rolled back (which would wait
        // out another timeout) and never handed to the next caller mid-transaction.
        if (err instanceof DatabaseError && err.unreachable) {
          release(err);
          throw err;
        }
        await client.query('ROLLBACK').then(
          () => release(),
          (rollbackError: Error) => release(rollbackError),
        );
        throw err;
      }
    },
    end: () => pool.end(),
  };
}
