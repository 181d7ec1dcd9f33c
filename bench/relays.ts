/**
 * The relays the proxy benchmark compares, each started as its own process
 * on loopback: a bare Node socket pipe (the floor for any relay written in
 * Node), PgBouncer in session mode (Debian's package), and `pgmint proxy`.
 *
 * @example
 *   const pipe = await startBarePipe({ host: '127.0.0.1', port: 5432 });
 *   … pgbench -h 127.0.0.1 -p pipe.port …
 *   await pipe.stop();
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../infra/build-cli.js';
import { freePort } from '../functions/local/embedded-postgres.js';

export interface Relay {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolvePromise, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`${what} exited with ${child.exitCode}`));
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolvePromise();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`${what} did not listen on ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      child.once('exit', () => r());
      child.kill('SIGTERM');
    });
}

/** What any Node relay must at least do: accept, connect, pipe both ways (with Nagle off, as every Postgres client has it). */
const BARE_PIPE = `
const net = require('node:net');
const [port, host, upstreamPort] = process.argv.slice(1);
net.createServer({ noDelay: true }, (c) => {
  const u = net.connect({ host, port: Number(upstreamPort), noDelay: true });
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
}).listen(Number(port), '127.0.0.1');
`;

export async function startBarePipe(upstream: { host: string; port: number }): Promise<Relay> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', BARE_PIPE, String(port), upstream.host, String(upstream.port)], { stdio: 'inherit' });
  await waitForPort(port, child, 'the bare pipe');
  return { port, pid: child.pid!, stop: stopper(child) };
}

export function pgbouncerPath(): string | null {
  for (const p of ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'ignore' });
      return p;
    } catch {}
  }
  return null;
}

/** PgBouncer in session mode in front of `database`, logging in as `user` with SCRAM (its password in the auth file). */
export async function startPgBouncer(
  bin: string,
  upstream: { host: string; port: number; database: string; user: string; password: string },
): Promise<Relay> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'pgmint-bench-pgbouncer-'));
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  await writeFile(join(dir, 'users.txt'), `${quote(upstream.user)} ${quote(upstream.password)}\n`, { mode: 0o600 });
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `bench = host=${upstream.host} port=${upstream.port} dbname=${upstream.database}`,
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = session',
      'max_client_conn = 400',
      'default_pool_size = 250',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      'ignore_startup_parameters = extra_float_digits',
      'log_connections = 0',
      'log_disconnections = 0',
      'stats_period = 3600',
      '',
    ].join('\n'),
  );
  // PgBouncer will not run as root; it switches to `postgres`, which must read its files.
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    await chmod(dir, 0o755);
    for (const f of ['', 'users.txt', 'pgbouncer.ini']) await chown(join(dir, f), uid, gid);
  }
  const child = spawn(bin, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  await waitForPort(port, child, 'pgbouncer');
  return { port, pid: child.pid!, stop: stopper(child) };
}

/** `pgmint proxy` from the bundle images run (dist/cli/pgmint.mjs, built here). BENCH_PROXY_PROFILE=<dir> writes a V8 CPU profile there when it stops. */
export async function startPgmintProxy(o: { brokerUrl: string; database: string; tokenFile: string; role: string }): Promise<Relay> {
  const bin = await buildCli();
  const [port, adminPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_PROXY_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROXY_PROFILE}`] : []),
      bin,
      'proxy',
      o.database,
      '--url',
      o.brokerUrl,
      '--token-file',
      o.tokenFile,
      '--role',
      o.role,
      '--listen',
      `127.0.0.1:${port}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
  await waitForPort(port, child, 'pgmint proxy');
  const deadline = Date.now() + 30_000;
  while (!log.includes('"lease_acquired"')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`pgmint proxy got no lease: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.once('exit', (code, signal) => {
    if (signal !== 'SIGTERM') process.stderr.write(`[bench] pgmint proxy exited (${code ?? signal}):\n${log.slice(-4000)}\n`);
  });
  return { port, pid: child.pid!, stop: stopper(child) };
}
