/**
 * An OpenBao server for the comparison benchmark, started as a child process
 * the way it would run in production rather than `bao server -dev`: its
 * storage is a database of its own on the bench's PostgreSQL (the
 * `postgresql` backend, table created per OpenBao's docs), it listens on a
 * free loopback port without TLS, and it is initialised with one key share
 * and unsealed over the HTTP API. The binary comes from BENCH_BAO or PATH.
 *
 * @example
 *   const bao = await startBao(pg, { bin: findBao() });
 *   await bao.api('POST', '/v1/sys/mounts/database', { type: 'database' });
 *   await bao.stop();
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../functions/local/embedded-postgres.js';
import type { BenchPostgres } from './stack.js';

export const BAO_MISSING =
  'scenario openbao needs an OpenBao server binary: set BENCH_BAO=/path/to/bao or put `bao` on PATH ' +
  '(release builds: https://github.com/openbao/openbao/releases; from source: `go build -o bao .` in a checkout of a release tag)';

/** BENCH_BAO if set (it must be executable), else the first `bao` on PATH, else null. */
export function findBao(env: NodeJS.ProcessEnv = process.env): string | null {
  const executable = (p: string) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (env.BENCH_BAO) {
    if (!executable(env.BENCH_BAO)) throw new Error(`BENCH_BAO=${env.BENCH_BAO} is not an executable file; ${BAO_MISSING}`);
    return env.BENCH_BAO;
  }
  for (const dir of (env.PATH ?? '').split(delimiter)) if (dir && executable(join(dir, 'bao'))) return join(dir, 'bao');
  return null;
}

/** `bao version`'s line, e.g. `OpenBao v2.5.5 (0289…), built 2026-06-17T13:03:31Z`. */
export function baoVersion(bin: string): string {
  return execFileSync(bin, ['version'], { encoding: 'utf8' }).trim();
}

export interface BaoAnswer<T> {
  status: number;
  body: T;
}

export interface RunningBao {
  url: string;
  pid: number;
  version: string;
  /** The storage database on the bench's PostgreSQL. */
  storageDb: string;
  rootToken: string;
  /** One API call with the root token (or `token`); throws unless the answer is 2xx. `T` is the JSON the caller expects. */
  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token?: string): Promise<BaoAnswer<T>>;
  stop(): Promise<void>;
}

/** The table and index from OpenBao's PostgreSQL storage docs, created by the storage role (it owns the database). */
const STORAGE_DDL = `CREATE TABLE openbao_kv_store (
  parent_path TEXT COLLATE "C" NOT NULL,
  path        TEXT COLLATE "C",
  key         TEXT COLLATE "C",
  value       BYTEA,
  CONSTRAINT openbao_kv_store_pkey PRIMARY KEY (path, key)
);
CREATE INDEX openbao_kv_store_idx ON openbao_kv_store (parent_path);`;

export async function startBao(server: BenchPostgres, o: { bin: string; log: (line: string) => void }): Promise<RunningBao> {
  const version = baoVersion(o.bin);
  const suffix = randomBytes(3).toString('hex');
  const storageDb = `openbao_${suffix}`;
  const storageUser = `openbao_storage_${suffix}`;
  const storagePassword = randomBytes(18).toString('base64url');
  // A role of its own owning the database, as a deployment would give it: no superuser in OpenBao's config.
  await server.su('postgres', async (c) => {
    await c.query(`CREATE ROLE ${storageUser} LOGIN PASSWORD '${storagePassword}'`);
    await c.query(`CREATE DATABASE ${storageDb} OWNER ${storageUser}`);
  });
  await server.su(storageDb, async (c) => {
    await c.query(`SET ROLE ${storageUser}`);
    await c.query(STORAGE_DDL);
  });

  const dir = await mkdtemp(join(tmpdir(), 'pgmint-bench-bao-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const storageUrl = `postgres://${storageUser}:${storagePassword}@${server.host}:${server.port}/${storageDb}?sslmode=disable`;
  await writeFile(
    join(dir, 'bao.hcl'),
    [
      'storage "postgresql" {',
      `  connection_url    = "${storageUrl}"`,
      '  skip_create_table = "true"',
      '}',
      'listener "tcp" {',
      `  address     = "127.0.0.1:${port}"`,
      '  tls_disable = true',
      '}',
      `api_addr      = "${url}"`,
      'disable_mlock = true',
      'ui            = false',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const child = spawn(o.bin, ['server', `-config=${join(dir, 'bao.hcl')}`, '-log-level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kept for the error message when it fails; a healthy server logs almost nothing at warn.
  let output = '';
  const keep = (s: string) => (output = (output + s).slice(-8000));
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) o.log(`openbao exited (${code ?? signal}):\n${output}`);
  });

  const exited = () => (child.exitCode !== null ? `openbao exited with ${child.exitCode}:\n${output}` : null);
  let rootToken = '';
  const api = async <T>(method: string, path: string, body?: unknown, token = rootToken): Promise<BaoAnswer<T>> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token ? { 'x-vault-token': token } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`openbao ${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  };
  const stop = async () => {
    stopping = true;
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
    await server.su('postgres', async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${storageDb} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${storageUser}`);
    });
  };
  try {
    await waitFor(async () => (await fetch(`${url}/v1/sys/seal-status`)).ok, 'openbao to listen', exited);
    const init = await api<{ root_token: string; keys_base64: string[] }>('PUT', '/v1/sys/init', { secret_shares: 1, secret_threshold: 1 });
    rootToken = init.body.root_token;
    const unseal = await api<{ sealed: boolean }>('PUT', '/v1/sys/unseal', { key: init.body.keys_base64[0] });
    if (unseal.body.sealed) throw new Error('openbao still sealed after its one key share');
    // Unsealed is not yet active: mounts answer once the core has finished setting up.
    await waitFor(async () => (await fetch(`${url}/v1/sys/health`)).status === 200, 'openbao to become active', exited);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, version, storageDb, rootToken, api, stop };
}

/** Polls `ok` every 100 ms; `failed` names a reason to stop waiting at once (the process died). */
async function waitFor(
  ok: () => Promise<boolean>,
  what: string,
  failed: () => string | null = () => null,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const why = failed();
    if (why) throw new Error(why);
    try {
      if (await ok()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    // OpenBao steps down and flushes on SIGTERM; a wedged one is killed after 10 s.
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
