/**
 * Fails fast while a database is away. The first statement that finds the
 * server unreachable pays the driver's bounded timeouts (port.ts,
 * `DB_TIMEOUT_MS`); for the next `holdMs` every statement on the same Sql is
 * refused at once with the same kind of error, so a burst queued behind a
 * stopped server is answered within the bound instead of waiting its turn to
 * time out. After the hold, the next statement tries the server again: a
 * database that came back serves at once, without a restart. A statement
 * that times out while another one on the same Sql was answered meanwhile
 * fails alone, without a hold: the server is there, and the timeout is a
 * busy broker's (a burst that starves the event loop fires client-side read
 * timers before the answers already waiting on the socket are read).
 *
 * Errors become `Unavailable` (still a DatabaseError) naming which database
 * was away, so the HTTP layer answers 503 with Retry-After.
 *
 * @example
 *   const sql = guardOutage(connect(config), 'control_plane');
 */
import type { Queryable, Sql } from './port.js';
import { DatabaseError } from './sanitize.js';

export type DatabaseRole = 'control_plane' | 'target';

/** Seconds a caller is told to wait (Retry-After) when a database is away. */
export const RETRY_AFTER_SEC = 5;

/** node-postgres's pool (and Neon's) when no pooled connection freed up within the connect timeout. */
const POOL_BUSY = /timeout exceeded when trying to connect/i;

export class Unavailable extends DatabaseError {
  constructor(
    readonly database: DatabaseRole,
    cause: DatabaseError,
  ) {
    super(cause.message, { sqlstate: cause.sqlstate, detail: cause.detail, hint: cause.hint, unreachable: true });
    this.name = 'Unavailable';
  }
}

export function isUnavailable(err: unknown): err is Unavailable {
  return err instanceof Unavailable;
}

export function guardOutage(sql: Sql, database: DatabaseRole, options: { holdMs?: number; now?: () => number } = {}): Sql {
  const holdMs = options.holdMs ?? 1000;
  const now = options.now ?? Date.now;
  let awayUntil = 0;
  let lastError: DatabaseError | null = null;
  let answeredAt = -Infinity;
  let slowLoggedAt = -Infinity;

  const check = () => {
    if (lastError && now() < awayUntil) throw new Unavailable(database, lastError);
  };
  const warn = (msg: string, err: DatabaseError, extra: Record<string, unknown>) =>
    console.warn(JSON.stringify({ level: 'warn', msg, database, error: err.message, sqlstate: err.sqlstate ?? null, ...extra }));
  const classify = (err: unknown, startedAt: number): unknown => {
    if (err instanceof Unavailable) return err;
    if (!(err instanceof DatabaseError) || !err.unreachable) return err;
    // Waiting too long for a pooled connection is a busy pool, and a statement that timed out
    // while others were answered a busy broker: the server is there, so no hold.
    if (POOL_BUSY.test(err.message) || answeredAt >= startedAt) {
      if (now() - slowLoggedAt >= holdMs) {
        slowLoggedAt = now();
        warn('database_busy', err, { answered_meanwhile: answeredAt >= startedAt });
      }
      return new Unavailable(database, err);
    }
    // Once per hold, so an operator reading 503s in the logs sees why (the message is sanitized).
    warn('database_away', err, { hold_ms: holdMs });
    lastError = err;
    awayUntil = now() + holdMs;
    return new Unavailable(database, err);
  };
  const guarded = async <T>(op: () => Promise<T>): Promise<T> => {
    check();
    const startedAt = now();
    try {
      const result = await op();
      answeredAt = now();
      return result;
    } catch (err) {
      // A refusal by the server (a constraint, a syntax error) is an answer too.
      if (err instanceof DatabaseError && !err.unreachable) answeredAt = now();
      throw classify(err, startedAt);
    }
  };
  const wrapTx = (tx: Queryable): Queryable => ({ query: (text, params) => guarded(() => tx.query(text, params)) });

  return {
    query: (text, params) => guarded(() => sql.query(text, params)),
    transaction: (fn) => guarded(() => sql.transaction((tx) => fn(wrapTx(tx)))),
    end: () => sql.end(),
  };
}
