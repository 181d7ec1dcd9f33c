/**
 * Pooled connections to target databases with the broker's root credential,
 * kept per database and reopened when the credential changes (after a
 * rotation). Each target also gets a limiter: role creation is bounded per
 * target so a burst of pods queues in pgmint instead of overwhelming the
 * database.
 *
 * When the target refuses the credential (SQLSTATE 28P01 — a rotation
 * elsewhere changed it, or one was interrupted), the refusal handler finds a
 * stored version the target accepts, the pool reconnects with it and the
 * statement is retried once. A 28P01 only happens while a session is being
 * opened, before the statement ran, so the retry cannot run anything twice.
 * Only the port (pool.ts) and tests observing the pool use these connections.
 *
 * @example
 *   const target = await connections.open(db);
 *   await target.limiter.run(() => target.sql.query('SELECT 1'));
 */
import { guardOutage } from '../db/outage.js';
import { type Connect, type Queryable, type Sql, type SslMode, STATEMENT_TIMEOUT_MS } from '../db/port.js';
import type { VerifierPool } from '../crypto/verifier-pool.js';
import { type Creators, probeCreators } from './creators.js';
import { createLimiter, type Limiter } from './limiter.js';
import { createStandbyRoles, type StandbyRoles } from './standby-roles.js';
import { unsealRoot } from './root-secret.js';
import type { RootVersionName, TargetRecord } from './types.js';

export interface Target {
  sql: Sql;
  limiter: Limiter;
  /** How lease roles are administered here (creators.ts); probed once per process. */
  creators(): Promise<Creators>;
  /** Lease roles made ahead, claimed by exchanges (standby-roles.ts). */
  standbys: StandbyRoles;
  /** Where lease passwords come from, and an unused one goes back to. */
  passwords: VerifierPool;
}

/** Returns a record and the version of its root secret that the target accepts now. */
export type RefusalHandler = (databaseId: string) => Promise<{ db: TargetRecord; version: RootVersionName }>;

export interface ConnectionOptions {
  connect: Connect;
  sealKey: CryptoKey;
  /** Connections per target held by one broker instance. */
  poolSize?: number;
  /** Role creations in flight per target. */
  concurrency?: number;
  /** Creator roles per broker on PostgreSQL 16+ (creators.ts); 0 keeps the broker as the only creator. */
  creatorRoles?: number;
  passwords: VerifierPool;
  /** Standby roles per target and role definition (standby-roles.ts); 0 makes none. */
  standbyRoles?: number;
  onRefused?: RefusalHandler;
}

export const DEFAULT_CREATOR_ROLES = 1000;

const isRefusal = (err: unknown) => (err as { sqlstate?: unknown } | null)?.sqlstate === '28P01';

interface Entry {
  /** The sealed version the live pool logged in with. */
  sealed: string;
  /** root_rotated_at of the record it came from: an older record never replaces a newer one. */
  rotatedAt: number;
  sql: Sql;
  target: Target;
  recovering?: Promise<void>;
}

export function createConnections(options: ConnectionOptions) {
  const entries = new Map<string, Entry>();
  const opening = new Map<string, Promise<Entry>>();
  let onRefused = options.onRefused;

  const connectAs = async (db: TargetRecord, version: RootVersionName): Promise<Sql> =>
    options.connect({
      host: db.host,
      port: db.port,
      database: db.database,
      user: db.adminUser,
      password: await unsealRoot(options.sealKey, db, version),
      sslmode: db.sslmode as SslMode,
      max: options.poolSize ?? 4,
      applicationName: 'pgmint',
      statementTimeoutMs: STATEMENT_TIMEOUT_MS,
    });

  /** Points the entry at a new pool; the old one drains, its open sessions finish their statements. */
  const switchTo = async (entry: Entry, db: TargetRecord, version: RootVersionName) => {
    const sealed = db.rootSecret[version];
    if (!sealed || entry.sealed === sealed) return;
    const sql = await connectAs(db, version);
    if (entry.sealed === sealed) {
      void sql.end().catch(() => {});
      return;
    }
    const old = entry.sql;
    entry.sql = sql;
    entry.sealed = sealed;
    entry.rotatedAt = Date.parse(db.rootRotatedAt);
    retire(old);
  };

  const recover = (id: string, entry: Entry): Promise<void> => {
    entry.recovering ??= (async () => {
      const { db, version } = await onRefused!(id);
      await switchTo(entry, db, version);
    })().finally(() => {
      entry.recovering = undefined;
    });
    return entry.recovering;
  };

  // A replaced pool is closed only once the operations started on it have
  // finished: ending a pg pool strands the queries still queued for one of its
  // connections, which then fail after the connect timeout without ever running.
  const users = new Map<Sql, number>();
  const retiring = new Set<Sql>();
  const retire = (sql: Sql) => {
    if (users.get(sql)) retiring.add(sql);
    else void sql.end().catch(() => {});
  };
  const use = async <T>(sql: Sql, op: (sql: Sql) => Promise<T>): Promise<T> => {
    users.set(sql, (users.get(sql) ?? 0) + 1);
    try {
      return await op(sql);
    } finally {
      const left = users.get(sql)! - 1;
      if (left > 0) users.set(sql, left);
      else {
        users.delete(sql);
        if (retiring.delete(sql)) void sql.end().catch(() => {});
      }
    }
  };

  const guarded = async <T>(id: string, entry: Entry, op: (sql: Sql) => Promise<T>): Promise<T> => {
    const sql = entry.sql;
    try {
      return await use(sql, op);
    } catch (err) {
      if (!onRefused || !isRefusal(err)) throw err;
      if (entry.sql === sql) await recover(id, entry);
      return use(entry.sql, op);
    }
  };

  const create = async (db: TargetRecord): Promise<Entry> => {
    const entry = { sealed: db.rootSecret.current, rotatedAt: Date.parse(db.rootRotatedAt), sql: await connectAs(db, 'current') } as Entry;
    // Fails fast for a moment after the target was found away (db/outage.ts), across pool switches.
    const sql: Sql = guardOutage(
      {
        query: (text, params) => guarded(db.id, entry, (s) => s.query(text, params)),
        transaction: <T>(fn: (tx: Queryable) => Promise<T>) => guarded(db.id, entry, (s) => s.transaction(fn)),
        end: () => entry.sql.end(),
      },
      'target',
    );
    let probed: Promise<Creators> | undefined;
    const creators = () => {
      probed ??= probeCreators(sql, db.adminUser, options.creatorRoles ?? DEFAULT_CREATOR_ROLES).catch((err) => {
        probed = undefined;
        throw err;
      });
      return probed;
    };
    const limiter = createLimiter(options.concurrency ?? 8);
    const standbys = createStandbyRoles({
      size: options.standbyRoles ?? 0,
      prefix: db.leasePrefix,
      sql,
      limiter,
      creators,
      passwords: options.passwords,
    });
    entry.target = { limiter, sql, creators, standbys, passwords: options.passwords };
    entries.set(db.id, entry);
    return entry;
  };

  return {
    async open(db: TargetRecord): Promise<Target> {
      let entry = entries.get(db.id);
      if (!entry) {
        let pending = opening.get(db.id);
        if (!pending) {
          pending = create(db).finally(() => opening.delete(db.id));
          opening.set(db.id, pending);
        }
        entry = await pending;
      }
      // A pool that fell back to the pending version while a rotation ran stays valid until it
      // settles, and a record read before a rotation this pool already follows changes nothing.
      const stale = Date.parse(db.rootRotatedAt) < entry.rotatedAt;
      if (!stale && entry.sealed !== db.rootSecret.current && entry.sealed !== db.rootSecret.pending) await switchTo(entry, db, 'current');
      return entry.target;
    },
    /** Installs what to do when a target refuses the stored credential (wired by buildDeps). */
    onRefused(handler: RefusalHandler): void {
      onRefused = handler;
    },
    async close(databaseId?: string): Promise<void> {
      const ids = databaseId ? [databaseId] : [...entries.keys()];
      await Promise.allSettled(
        ids.map(async (id) => {
          const entry = entries.get(id);
          entries.delete(id);
          await entry?.target.standbys.close();
          await entry?.sql.end();
        }),
      );
    },
  };
}

export type Connections = ReturnType<typeof createConnections>;

/** What the port's operations share: the pooled connections, and what opens a fresh one. */
export interface TargetAccess {
  connections: Connections;
  connect: Connect;
  sealKey: CryptoKey;
}
