/**
 * The Sql port: the little pgmint needs from a Postgres driver, so the same
 * domain code runs over TCP (`pg`) on Lambda and over WebSocket
 * (`@neondatabase/serverless`) on edge runtimes.
 *
 * @example
 *   const sql = connect({ host, port, database, user, password });
 *   const { rows } = await sql.query<{ now: Date }>('SELECT now()');
 */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  /** `$n` parameters only; raw SQL text never carries a value. */
  query<T = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
}

export interface Sql extends Queryable {
  /** BEGIN … COMMIT on one connection; ROLLBACK when `fn` throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Closes the pool. */
  end(): Promise<void>;
}

/**
 * How long a driver waits before a database counts as away: to open a
 * connection (or get one from a full pool) and for a statement's answer. A
 * stopped or unreachable server is thus reported within ~10 s (db/outage.ts),
 * never left hanging; a statement that legitimately runs longer is split.
 */
export const CONNECT_TIMEOUT_MS = 4_000;
export const STATEMENT_TIMEOUT_MS = 6_000;

export type SslMode = 'disable' | 'prefer' | 'require' | 'verify-full';

export interface ConnectionConfig {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode?: SslMode;
  /** Pool size; serverless functions keep it small. */
  max?: number;
  applicationName?: string;
}

export type Connect = (config: ConnectionConfig) => Sql;

/** Parses a `postgresql://` URL into a ConnectionConfig. */
export function parseDatabaseUrl(url: string): ConnectionConfig {
  const u = new URL(url);
  if (u.protocol !== 'postgresql:' && u.protocol !== 'postgres:') {
    throw new TypeError('database URL must start with postgresql://');
  }
  const sslmode = (u.searchParams.get('sslmode') ?? 'disable') as SslMode;
  return {
    host: decodeURIComponent(u.hostname),
    port: u.port ? Number(u.port) : 5432,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    sslmode,
  };
}
