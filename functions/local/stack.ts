/**
 * The embedded default: a real Postgres, a development OIDC issuer and the
 * broker, wired together and seeded with a demo database, role and issuer.
 * `npm start` runs it in the foreground; tests and benchmarks start their own.
 *
 * @example
 *   const stack = await startStack({ home: '.pgmint' });
 *   console.log(stack.brokerUrl); await stack.stop();
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Deps } from '../../lib/deps.js';
import { closeDeps } from '../../lib/deps.js';
import { createApp } from '../../lib/http/app.js';
import { DEFAULT_MAX_TOKEN_LIFETIME_SEC } from '../../lib/identity/index.js';
import { registerDatabase } from '../../lib/registry/databases.js';
import { trustIssuer } from '../../lib/registry/issuers.js';
import { defineRole } from '../../lib/registry/roles.js';
import { serveNode } from '../runtime/http-server.js';
import { nodeDeps } from '../runtime/node.js';
import { prepareDemoTarget } from './demo-target.js';
import { type DevIssuer, startDevIssuer } from './dev-issuer.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';
import { migrate } from '../../lib/store/migrate.js';
import { readMigrations } from './migrations.js';

export interface StackOptions {
  /** Folder for Postgres data, keys and the dev settings file. */
  home: string;
  brokerPort?: number;
  issuerPort?: number;
  postgresPort?: number;
  /** Use this control-plane database instead of starting Postgres. */
  databaseUrl?: string;
  ephemeral?: boolean;
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}

export interface Stack {
  brokerUrl: string;
  adminToken: string;
  issuer: DevIssuer;
  postgres: RunningPostgres | null;
  deps: Deps;
  /** Written for `pgmint token dev` and friends. */
  settingsFile: string;
  stop(): Promise<void>;
}

export interface DevSettings {
  brokerUrl: string;
  issuerUrl: string;
  keyFile: string;
  adminToken: string;
  database: string;
  audience: string;
}

async function readOrCreate(file: string, make: () => string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const value = make();
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return value;
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const log = o.log ?? (() => {});
  const env = o.env ?? process.env;
  await mkdir(o.home, { recursive: true });
  const secretKey = env.PGMINT_SECRET_KEY ?? (await readOrCreate(join(o.home, 'secret.key'), () => randomBytes(32).toString('base64')));
  const adminToken =
    env.PGMINT_ADMIN_TOKEN ??
    (await readOrCreate(join(o.home, 'admin.token'), () => `pgmint_admin_${randomBytes(24).toString('base64url')}`));

  let postgres: RunningPostgres | null = null;
  let controlUrl = o.databaseUrl ?? env.PGMINT_DATABASE_URL;
  const stops: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch(() => {});
  };
  try {
    if (!controlUrl) {
      log('starting PostgreSQL (embedded-postgres) …');
      postgres = await startEmbeddedPostgres({ dataDir: join(o.home, 'postgres'), port: o.postgresPort, ephemeral: o.ephemeral });
      stops.push(() => postgres!.stop());
      const pgServer = postgres;
      controlUrl = pgServer.url('pgmint');
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: pgServer.url('postgres') });
      await admin.connect();
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'pgmint'");
      if (!exists.rowCount) await admin.query('CREATE DATABASE pgmint');
      await admin.end();
    }

    const issuer = await startDevIssuer({ port: o.issuerPort, keyFile: join(o.home, 'dev-issuer-key.json') });
    stops.push(() => issuer.stop());

    const deps = await nodeDeps({
      ...env,
      PGMINT_DATABASE_URL: controlUrl,
      PGMINT_SECRET_KEY: secretKey,
      PGMINT_ADMIN_TOKEN: adminToken,
      PGMINT_ALLOW_INSECURE_ISSUERS: '1',
    });
    stops.push(() => closeDeps(deps));
    const applied = await migrate(deps.sql, await readMigrations());
    if (applied.length) log(`applied migrations: ${applied.join(', ')}`);

    if (postgres) {
      const pgServer = postgres;
      const demo = await prepareDemoTarget((db) => pgServer.url(db), randomBytes(24).toString('base64url'));
      // The demo's own setup is audited as the local stack's doing.
      const seeding = { admin: 'pgmint start' };
      await registerDatabase(
        deps,
        {
          id: 'demo',
          host: pgServer.host,
          port: pgServer.port,
          database: demo.database,
          adminUser: demo.brokerUser,
          adminPassword: demo.brokerPassword,
          sslmode: 'disable',
        },
        seeding,
      );
      await defineRole(deps, 'demo', 'readonly', { memberOf: ['app_readonly'], searchPath: ['app'], allowWrite: false }, seeding);
      await defineRole(deps, 'demo', 'readwrite', { memberOf: ['app_readwrite'], searchPath: ['app'], allowWrite: true }, seeding);
      const trusted = await deps.store.issuers.findByIssuer('demo', 'k8s', issuer.url);
      if (trusted.length === 0) {
        await trustIssuer(
          deps,
          'demo',
          {
            kind: 'k8s',
            issuer: issuer.url,
            audiences: [deps.settings.audience],
            allowedServiceAccounts: ['demo/*'],
            allowedSubjects: [],
            boundClaims: {},
            defaultRole: 'readonly',
            allowedRoles: ['readonly', 'readwrite'],
            pinnedJwks: null,
            pinnedPems: null,
            maxLeasesPerWorkload: 10,
            maxTokenLifetimeSec: DEFAULT_MAX_TOKEN_LIFETIME_SEC,
            requireBoundPod: false,
            caPem: null,
          },
          seeding,
        );
      }
    }

    const app = createApp(deps);
    const brokerPort = o.brokerPort ?? 8787;
    const server = await serveNode(app.fetch, { port: brokerPort, hostname: '127.0.0.1' });
    stops.push(() => new Promise((r) => server.close(() => r(undefined))));
    const address = server.address();
    const brokerUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : brokerPort}`;

    const settingsFile = join(o.home, 'dev.json');
    const settings: DevSettings = {
      brokerUrl,
      issuerUrl: issuer.url,
      keyFile: join(o.home, 'dev-issuer-key.json'),
      adminToken,
      database: 'demo',
      audience: deps.settings.audience,
    };
    await writeFile(settingsFile, JSON.stringify(settings, null, 2), { mode: 0o600 });
    return { brokerUrl, adminToken, issuer, postgres, deps, settingsFile, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
