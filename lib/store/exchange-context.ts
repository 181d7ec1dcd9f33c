/**
 * Everything an exchange reads from the control plane — the database, the
 * issuers registered for the token's `iss`, and the database's roles — in one
 * round trip instead of three, kept in memory for a short time per process.
 *
 * Why cache: that round trip is about 1.5 ms of an exchange that the floor
 * (bench/floor.ts) does not pay, and the answer changes only when an admin
 * changes the registry. A context is served for `ttlMs`
 * (PGMINT_CONTEXT_CACHE_MS, default 1 s; 0 reads every time). Changes made
 * through this broker instance apply to the very next exchange: the store
 * calls `invalidate()` after every write to databases, issuers and roles
 * (store/index.ts). Changes made through another instance, or directly in the
 * control plane, apply within the TTL.
 *
 * Only contexts an exchange can succeed with are kept: a missing database, or
 * an `iss` no issuer of the database is registered for, is read again every
 * time, so unauthenticated callers cannot fill the cache with names of their
 * choosing and a database registered elsewhere is never refused from memory.
 * Concurrent misses for one key share a single query. Cached contexts are
 * shared between requests and frozen.
 *
 * @example
 *   const contexts = exchangeContext(sql, { ttlMs: 1000 });
 *   const context = await contexts.load('orders', 'k8s', 'https://oidc.example.com');
 *   // null when the database does not exist
 */
import type { Queryable } from '../db/port.js';
import { DATABASE_COLUMNS, toDatabase, toIssuer, toRole } from './rows.js';
import type { DatabaseRecord, IssuerKind, IssuerRecord, RoleRecord } from './types.js';

export interface ExchangeContext {
  readonly db: DatabaseRecord;
  /** Issuers with exactly this `iss` and kind, oldest first; empty when `iss` is null. */
  readonly issuers: readonly IssuerRecord[];
  readonly roles: readonly RoleRecord[];
}

export interface ExchangeContextOptions {
  /** How long a loaded context is served from memory, in ms; 0 (the default) reads every time. */
  ttlMs?: number;
  /** Most contexts kept; the oldest is dropped first. */
  maxEntries?: number;
  /** Monotonic milliseconds (tests). */
  clock?: () => number;
}

/** Runs the control-plane query when one is needed (the exchange passes its read limiter). */
export type ReadScheduler = <T>(read: () => Promise<T>) => Promise<T>;

const direct: ReadScheduler = (read) => read();

function frozen(context: ExchangeContext): ExchangeContext {
  for (const record of [context.db, ...context.issuers, ...context.roles]) Object.freeze(record);
  Object.freeze(context.issuers);
  Object.freeze(context.roles);
  return Object.freeze(context);
}

export function exchangeContext(sql: Queryable, options: ExchangeContextOptions = {}) {
  const ttlMs = options.ttlMs ?? 0;
  const maxEntries = options.maxEntries ?? 1000;
  const clock = options.clock ?? (() => performance.now());
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new TypeError('exchange context TTL must be a non-negative number of ms');

  const cached = new Map<string, { readAt: number; context: ExchangeContext }>();
  const inFlight = new Map<string, Promise<ExchangeContext | null>>();
  /** Bumped by every invalidation: a read that started before one is not kept. */
  let generation = 0;

  async function query(databaseId: string, kind: IssuerKind, issuer: string | null): Promise<ExchangeContext | null> {
    const { rows } = await sql.query<Record<string, unknown>>(
      `SELECT ${DATABASE_COLUMNS},
         (SELECT coalesce(json_agg(i ORDER BY i.created_at), '[]') FROM pgmint.issuers i
           WHERE i.database_id = $1 AND i.kind = $2 AND i.issuer = $3) AS ctx_issuers,
         (SELECT coalesce(json_agg(r), '[]') FROM pgmint.roles r WHERE r.database_id = $1) AS ctx_roles
       FROM pgmint.databases WHERE id = $1`,
      [databaseId, kind, issuer],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      db: toDatabase(row),
      issuers: (row.ctx_issuers as Record<string, unknown>[]).map(toIssuer),
      roles: (row.ctx_roles as Record<string, unknown>[]).map(toRole),
    };
  }

  function keep(key: string, readAt: number, context: ExchangeContext): void {
    cached.delete(key);
    if (cached.size >= maxEntries) cached.delete(cached.keys().next().value!);
    cached.set(key, { readAt, context: frozen(context) });
  }

  return {
    /** The context for a database and a token's `iss` (null: no such database). */
    load(databaseId: string, kind: IssuerKind, issuer: string | null, schedule: ReadScheduler = direct): Promise<ExchangeContext | null> {
      if (ttlMs === 0) return schedule(() => query(databaseId, kind, issuer));
      // Database ids are slugs and kinds are words, so only `issuer` may hold any character.
      const key = `${databaseId}\n${kind}\n${issuer ?? ''}`;
      const hit = cached.get(key);
      if (hit) {
        if (clock() - hit.readAt < ttlMs) return Promise.resolve(hit.context);
        cached.delete(key);
      }
      const pending = inFlight.get(key);
      if (pending) return pending;
      const started = generation;
      const readAt = clock();
      const read = schedule(() => query(databaseId, kind, issuer))
        .then((context) => {
          if (context && context.issuers.length > 0 && started === generation) keep(key, readAt, context);
          return context;
        })
        .finally(() => {
          if (inFlight.get(key) === read) inFlight.delete(key);
        });
      inFlight.set(key, read);
      return read;
    },
    /** Forgets every cached context; called after each write to databases, issuers or roles. */
    invalidate(): void {
      generation++;
      cached.clear();
      inFlight.clear();
    },
  };
}

export type ExchangeContexts = ReturnType<typeof exchangeContext>;
