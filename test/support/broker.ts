/**
 * A complete broker for a test file: its own control-plane and target
 * databases on a shared test server, a real dev OIDC issuer on loopback, and
 * the Hono app (in-process via `app.request`, and served over real HTTP).
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../lib/db/port.js';
import type { Deps } from '../../lib/deps.js';
import { closeDeps } from '../../lib/deps.js';
import { createApp } from '../../lib/http/app.js';
import { bootstrapSql } from '../../lib/sql/bootstrap-sql.js';
import { type DevIssuer, startDevIssuer } from '../../functions/local/dev-issuer.js';
import { readMigrations } from '../../functions/local/migrations.js';
import { migrate } from '../../lib/store/migrate.js';
import { serveNode } from '../../functions/runtime/http-server.js';
import { nodeDeps } from '../../functions/runtime/node.js';
import type { ServerInfo } from './global-setup.js';
import { createDatabase, type ServerName, server, serverUrl, withSuperuser } from './postgres.js';

export const ADMIN_TOKEN = `test_admin_${randomBytes(16).toString('hex')}`;

export interface TestBroker {
  pg: ServerInfo;
  controlDb: string;
  targetDb: string;
  brokerUser: string;
  brokerPassword: string;
  issuer: DevIssuer;
  /** The PGMINT_* environment this broker runs with (for handlers started elsewhere). */
  env: Record<string, string>;
  deps: Deps;
  app: ReturnType<typeof createApp>;
  url: string;
  admin(method: string, path: string, body?: unknown, token?: string): Promise<Response>;
  /** Registers the target as `id`, a `readonly` role on app_readonly and the dev issuer. */
  setupDefault(id?: string, issuerOverrides?: Record<string, unknown>, databaseOverrides?: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export interface TestBrokerOptions {
  server?: ServerName;
  /** A server of the test's own (one it stops or restarts) for the target, and the control plane unless `controlPg` is given. */
  pg?: ServerInfo;
  /** Where the control-plane database lives, when not on the target's server. */
  controlPg?: ServerInfo;
  env?: Record<string, string>;
  now?: () => Date;
}

export const TARGET_FIXTURE = `
CREATE TABLE app.orders (id serial PRIMARY KEY, item text NOT NULL);
INSERT INTO app.orders (item) VALUES ('apple'), ('pear');
CREATE SCHEMA secret;
CREATE TABLE secret.payroll (who text, salary int);
INSERT INTO secret.payroll VALUES ('ceo', 1);
`;

export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const pg = options.pg ?? server(options.server ?? 'pg18');
  const controlPg = options.controlPg ?? pg;
  const controlDb = await createDatabase(controlPg, 'control');
  const targetDb = await createDatabase(pg, 'target');
  const suffix = randomBytes(4).toString('hex');
  const brokerUser = `pgmint_broker_${suffix}`;
  const brokerPassword = randomBytes(18).toString('base64url');
  // Roles are cluster-wide; each test file uses its own group names.
  const ro = `app_ro_${suffix}`;
  const rw = `app_rw_${suffix}`;
  await withSuperuser(pg, targetDb, async (c) => {
    const version = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num);
    await c.query(
      bootstrapSql({
        database: targetDb,
        schema: 'app',
        brokerRole: brokerUser,
        brokerPassword,
        readonlyGroup: ro,
        readwriteGroup: rw,
        serverVersion: version,
      }),
    );
    await c.query(TARGET_FIXTURE);
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA app TO ${ro}`);
  });
  const issuer = await startDevIssuer();
  const env: Record<string, string> = {
    PGMINT_DATABASE_URL: serverUrl(controlPg, controlDb),
    PGMINT_SECRET_KEY: randomBytes(32).toString('base64'),
    PGMINT_ADMIN_TOKEN: ADMIN_TOKEN,
    PGMINT_ALLOW_INSECURE_ISSUERS: '1',
    PGMINT_DRIVER: 'pg',
    ...options.env,
  };
  const deps = await nodeDeps(env, { now: options.now });
  await migrate(deps.sql, await readMigrations());
  const app = createApp(deps);
  const httpServer = await serveNode(app.fetch, { port: 0, hostname: '127.0.0.1' });
  const address = httpServer.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const admin = async (method: string, path: string, body?: unknown, token = ADMIN_TOKEN): Promise<Response> =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  const broker: TestBroker = {
    pg,
    controlDb,
    targetDb,
    brokerUser,
    brokerPassword,
    issuer,
    env,
    deps,
    app,
    url,
    admin,
    async setupDefault(id = 'main', issuerOverrides = {}, databaseOverrides = {}) {
      const steps: Array<[string, string, unknown]> = [
        [
          'POST',
          '/api/v1/databases',
          {
            id,
            host: pg.host,
            port: pg.port,
            database: targetDb,
            admin_user: brokerUser,
            admin_password: brokerPassword,
            sslmode: 'disable',
            ...databaseOverrides,
          },
        ],
        ['PUT', `/api/v1/databases/${id}/roles/readonly`, { member_of: [ro] }],
        ['PUT', `/api/v1/databases/${id}/roles/readwrite`, { member_of: [rw], allow_write: true, max_ttl: '2h' }],
        [
          'POST',
          `/api/v1/databases/${id}/issuers`,
          { issuer: issuer.url, allowed_service_accounts: ['prod/api', 'batch/*'], default_role: 'readonly', ...issuerOverrides },
        ],
      ];
      for (const [method, path, body] of steps) {
        const res = await admin(method, path, body);
        if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
      }
    },
    async close() {
      await new Promise((r) => httpServer.close(() => r(undefined)));
      await closeDeps(deps);
      await issuer.stop();
    },
  };
  return broker;
}

/** The read-only and read-write group names a broker's target uses. */
export function groupsOf(b: TestBroker): { ro: string; rw: string } {
  const suffix = b.brokerUser.replace('pgmint_broker_', '');
  return { ro: `app_ro_${suffix}`, rw: `app_rw_${suffix}` };
}

/**
 * Makes a lease expire `seconds` from now, on the target (VALID UNTIL, as the
 * superuser) and in the control plane alike — how tests see expiry without
 * waiting out the 30-second minimum TTL. Returns the new expiry.
 */
export async function expireLeaseIn(b: TestBroker, lease: { lease_id: string; user: string }, seconds: number): Promise<Date> {
  const at = new Date(Math.ceil((Date.now() + seconds * 1000) / 1000) * 1000);
  await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${lease.user}" VALID UNTIL '${at.toISOString()}'`));
  await b.deps.sql.query('UPDATE pgmint.leases SET expires_at = $2 WHERE id = $1', [lease.lease_id, at.toISOString()]);
  return at;
}

/** The control-plane statements the broker sends while `fn` runs, in transactions too. */
export async function statementsDuring(b: TestBroker, fn: () => Promise<void>): Promise<string[]> {
  const sql = b.deps.sql;
  const { query, transaction } = sql;
  const seen: string[] = [];
  const seeing = (q: Queryable): Queryable => ({
    query: (text, params) => {
      seen.push(text);
      return q.query(text, params);
    },
  });
  sql.query = ((text: string, params?: readonly unknown[]) => {
    seen.push(text);
    return query(text, params);
  }) as typeof query;
  sql.transaction = ((run: (tx: Queryable) => Promise<unknown>) => transaction((tx) => run(seeing(tx)))) as typeof transaction;
  try {
    await fn();
  } finally {
    sql.query = query;
    sql.transaction = transaction;
  }
  return seen;
}
