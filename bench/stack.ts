/**
 * A self-contained stack for the benchmarks: an ephemeral PostgreSQL 18 with
 * a control-plane and a target database, a dev OIDC issuer, and a broker
 * running in its own Node process (as it would in production), registered
 * with one database, one role and the issuer.
 *
 * @example
 *   const pg = await startPostgres();
 *   const stack = await startStack(pg);
 *   const token = await stack.issuer.mint({ namespace: 'prod', serviceAccount: 'api' });
 *   await stack.stop(); await pg.stop();
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import pg from 'pg';
import { type DevIssuer, startDevIssuer } from '../functions/local/dev-issuer.js';
import { type RunningPostgres, startEmbeddedPostgres } from '../functions/local/embedded-postgres.js';
import { connectPg } from '../lib/db/pg.js';
import { bootstrapSql } from '../lib/sql/bootstrap-sql.js';
import { probeCreators, provisionAllCreators } from '../lib/targets/creators.js';
import { DEFAULT_CREATOR_ROLES } from '../lib/targets/pool.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface BenchPostgres extends RunningPostgres {
  /** Runs `fn` with a superuser client on `database`. */
  su<T>(database: string, fn: (c: pg.Client) => Promise<T>): Promise<T>;
}

export async function startPostgres(): Promise<BenchPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pgmint-bench-pg-'));
  const server = await startEmbeddedPostgres({ dataDir, ephemeral: true });
  return {
    ...server,
    async su(database, fn) {
      const client = new pg.Client({ connectionString: server.url(database) });
      await client.connect();
      try {
        return await fn(client);
      } finally {
        await client.end();
      }
    },
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Target {
  controlDb: string;
  targetDb: string;
  brokerUser: string;
  brokerPassword: string;
  readonlyGroup: string;
}

/** A fresh control-plane database and a bootstrapped target database on `pg`. */
export async function prepareDatabases(server: BenchPostgres): Promise<Target> {
  const suffix = randomBytes(3).toString('hex');
  const controlDb = `control_${suffix}`;
  const targetDb = `target_${suffix}`;
  await server.su('postgres', async (c) => {
    await c.query(`CREATE DATABASE ${controlDb}`);
    await c.query(`CREATE DATABASE ${targetDb}`);
  });
  const brokerUser = `pgmint_broker_${suffix}`;
  const brokerPassword = randomBytes(18).toString('base64url');
  const readonlyGroup = `app_ro_${suffix}`;
  await server.su(targetDb, async (c) => {
    const version = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num);
    await c.query(
      bootstrapSql({
        database: targetDb,
        schema: 'app',
        brokerRole: brokerUser,
        brokerPassword,
        readonlyGroup,
        readwriteGroup: `app_rw_${suffix}`,
        serverVersion: version,
      }),
    );
    await c.query('CREATE TABLE app.orders (id serial PRIMARY KEY, item text NOT NULL)');
    await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA app TO ${readonlyGroup}`);
  });
  return { controlDb, targetDb, brokerUser, brokerPassword, readonlyGroup };
}

export interface Broker {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * `bench/broker-main.ts` bundled by esbuild, as every deployed pgmint is
 * (infra/build.ts): run through tsx instead, the broker spends about a tenth
 * more CPU per exchange in its loader and source maps. Built once per run,
 * into bench/results/ (two folders below the checkout, where
 * functions/local/migrations.ts finds infra/migrations).
 */
let bundled: Promise<string> | undefined;
function brokerBundle(): Promise<string> {
  bundled ??= (async () => {
    const outfile = join(HERE, 'results', 'broker-main.mjs');
    await build({
      entryPoints: [join(HERE, 'broker-main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'warning',
    });
    return outfile;
  })();
  return bundled;
}

/**
 * Starts the broker (`bench/broker-main.ts`, bundled) in a fresh Node process
 * with `env` and waits until it listens. `nodeArgs` lets a run add e.g. `--cpu-prof`.
 */
export async function startBroker(env: Record<string, string>, nodeArgs: string[] = []): Promise<Broker> {
  const child: ChildProcess = fork(await brokerBundle(), [], {
    env: { ...process.env, ...env },
    execArgv: nodeArgs,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`broker exited with ${code} before listening`)));
  });
  return {
    url,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send({ stop: true });
      }),
  };
}

export interface StackOptions {
  /** Extra PGMINT_* settings for the broker process. */
  env?: Record<string, string>;
  /** Lease cap per pod on the bench issuer. */
  maxLeasesPerWorkload?: number;
  nodeArgs?: string[];
}

export interface Stack extends Target {
  pg: BenchPostgres;
  /** Creator roles the broker uses on this target (PGMINT_CREATOR_ROLES), all provisioned before any measurement. */
  creatorRoles: number;
  /** Seconds it took to provision them (once per target, on first use in production). */
  creatorSetupSec: number;
  issuer: DevIssuer;
  broker: Broker;
  env: Record<string, string>;
  adminToken: string;
  /** The exchange URL for the registered database. */
  exchangeUrl: string;
  admin(method: string, path: string, body?: unknown): Promise<Response>;
  stop(): Promise<void>;
}

export const DATABASE_ID = 'bench';

export async function startStack(server: BenchPostgres, options: StackOptions = {}): Promise<Stack> {
  const target = await prepareDatabases(server);
  const issuer = await startDevIssuer();
  const adminToken = `bench_admin_${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    PGMINT_DATABASE_URL: server.url(target.controlDb),
    PGMINT_SECRET_KEY: randomBytes(32).toString('base64'),
    PGMINT_ADMIN_TOKEN: adminToken,
    PGMINT_ALLOW_INSECURE_ISSUERS: '1',
    PGMINT_DRIVER: 'pg',
    ...options.env,
  };
  const broker = await startBroker(env, options.nodeArgs);
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${broker.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const steps: Array<[string, string, unknown]> = [
    [
      'POST',
      '/api/v1/databases',
      {
        id: DATABASE_ID,
        host: server.host,
        port: server.port,
        database: target.targetDb,
        admin_user: target.brokerUser,
        admin_password: target.brokerPassword,
        sslmode: 'disable',
      },
    ],
    ['PUT', `/api/v1/databases/${DATABASE_ID}/roles/readonly`, { member_of: [target.readonlyGroup] }],
    [
      'POST',
      `/api/v1/databases/${DATABASE_ID}/issuers`,
      {
        issuer: issuer.url,
        allowed_service_accounts: ['prod/*'],
        default_role: 'readonly',
        max_leases_per_workload: options.maxLeasesPerWorkload ?? 10,
      },
    ],
  ];
  for (const [method, path, body] of steps) {
    const res = await admin(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  }
  const creatorRoles = Number(env.PGMINT_CREATOR_ROLES ?? DEFAULT_CREATOR_ROLES);
  const setupStart = performance.now();
  await warmCreators(server, target, creatorRoles);
  return {
    ...target,
    creatorRoles,
    creatorSetupSec: (performance.now() - setupStart) / 1000,
    pg: server,
    issuer,
    broker,
    env,
    adminToken,
    exchangeUrl: `${broker.url}/api/v1/databases/${DATABASE_ID}/credentials/k8s`,
    admin,
    async stop() {
      await broker.stop();
      await issuer.stop();
    },
  };
}

/**
 * Provisions every creator role and its function up front, as the broker, the
 * way a target that has served a while has them: a measurement then sees
 * steady-state exchanges, not the one-time setup of each creator.
 */
export async function warmCreators(server: BenchPostgres, target: Target, count: number): Promise<void> {
  const sql = connectPg({
    host: server.host,
    port: server.port,
    database: target.targetDb,
    user: target.brokerUser,
    password: target.brokerPassword,
    sslmode: 'disable',
    max: 1,
  });
  try {
    await provisionAllCreators(sql, await probeCreators(sql, target.brokerUser, count), [target.readonlyGroup]);
  } finally {
    await sql.end();
  }
}

/** Drops every lease login role (prefix `pgm_`) on the target, in one transaction. */
export async function dropLeaseRoles(server: BenchPostgres, targetDb: string): Promise<number> {
  return server.su(targetDb, async (c) => {
    const { rows } = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'pgm\\_%'");
    await c.query(`DO $$ DECLARE r record; BEGIN
      FOR r IN SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgm\\_%' LOOP EXECUTE format('DROP ROLE %I', r.rolname); END LOOP;
    END $$`);
    return rows[0]!.n;
  });
}
