/**
 * Fresh one-connection logins to a target, outside the pool: a rotation must
 * know what the server accepts now, not what a pooled session accepted when
 * it connected, and a registration tests a credential not yet stored.
 *
 * @example
 *   await tryRootLogin(access, db, 'pending'); // 'accepted' | 'refused'
 */
import type { Connect, Sql, SslMode } from '../db/port.js';
import { brokerStatusSql, type BrokerStatusRow } from '../sql/catalog-sql.js';
import { alterPasswordSql } from '../sql/role-sql.js';
import type { TargetAccess } from './connections.js';
import { unsealRoot } from './root-secret.js';
import type { RootVersionName, TargetRecord } from './types.js';

/** SQLSTATE invalid_password: the server answered and said no. */
const REFUSED = '28P01';

function isRefusal(err: unknown): boolean {
  return (err as { sqlstate?: unknown } | null)?.sqlstate === REFUSED || (err as { code?: unknown } | null)?.code === REFUSED;
}

async function withRootSession<T>(
  access: TargetAccess,
  db: TargetRecord,
  version: RootVersionName,
  fn: (sql: Sql) => Promise<T>,
): Promise<T> {
  const sql = access.connect({
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.adminUser,
    password: await unsealRoot(access.sealKey, db, version),
    sslmode: db.sslmode as SslMode,
    max: 1,
    applicationName: 'pgmint-rotation',
  });
  try {
    return await fn(sql);
  } finally {
    await sql.end().catch(() => {});
  }
}

/** 'accepted', or 'refused' (28P01); any other failure (the server away, a bad seal) is thrown as it is. */
export async function tryRootLogin(access: TargetAccess, db: TargetRecord, version: RootVersionName): Promise<'accepted' | 'refused'> {
  try {
    await withRootSession(access, db, version, (sql) => sql.query('SELECT 1'));
    return 'accepted';
  } catch (err) {
    if (isRefusal(err)) return 'refused';
    throw err;
  }
}

/** Logged in with `loginWith`, the broker sets its own password; only the SCRAM verifier travels. */
export async function setRootPassword(access: TargetAccess, db: TargetRecord, loginWith: RootVersionName, verifier: string): Promise<void> {
  await withRootSession(access, db, loginWith, (sql) => sql.query(alterPasswordSql(db.adminUser, verifier)));
}

export interface BrokerLogin {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: SslMode;
}

export interface BrokerCheck {
  serverVersion: number;
  createrole: boolean;
  superuser: boolean;
}

/** Logs in with a credential about to be registered and reads what the role may do there. */
export async function checkBroker(connect: Connect, login: BrokerLogin): Promise<BrokerCheck> {
  const sql = connect({ ...login, max: 1 });
  try {
    const { text, params } = brokerStatusSql();
    const { rows } = await sql.query<BrokerStatusRow>(text, params);
    const row = rows[0]!;
    return { serverVersion: row.server_version, createrole: row.createrole, superuser: row.superuser };
  } finally {
    await sql.end().catch(() => {});
  }
}
