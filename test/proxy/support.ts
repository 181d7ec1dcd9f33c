/**
 * Runs the real `pgmint proxy` (node cli/bin.mjs) as a child process against
 * a test broker, and the real client programs that connect through it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cleanEnv, BIN } from '../cli/support.js';
import { freePort } from '../cli/sshd.js';

export const CLIENTS = resolve('test/proxy/clients');

export interface TestProxy {
  port: number;
  adminPort: number;
  child: ChildProcess;
  stderr(): string;
  /** The JSON log lines so far. */
  events(): Array<Record<string, unknown>>;
  /** A libpq URL for the application: any user, no password. */
  url(database?: string, user?: string): string;
  admin(path: string, method?: string): Promise<{ status: number; body: string }>;
  waitForEvent(event: string, match?: (e: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Peak and current resident memory of the proxy process, in bytes. */
  memory(): Promise<{ rss: number; peak: number }>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ProxyStart {
  brokerUrl: string;
  database: string;
  tokenFile: string;
  args?: string[];
  env?: Record<string, string>;
  /** The program to run (default cli/bin.mjs, the checkout's TypeScript; or the built bundle). */
  bin?: string;
  /** Wait for the first lease (default) or only for the listener. */
  waitFor?: 'lease' | 'listening';
}

export async function startProxy(o: ProxyStart): Promise<TestProxy> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [
      o.bin ?? BIN,
      'proxy',
      o.database,
      '--url',
      o.brokerUrl,
      '--token-file',
      o.tokenFile,
      '--listen',
      `127.0.0.1:${port}`,
      '--admin-listen',
      `127.0.0.1:${adminPort}`,
      ...(o.args ?? []),
    ],
    { env: cleanEnv({ PGMINT_PROXY_BACKOFF_MS: '200', ...o.env }), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    for (const w of waiters.splice(0)) w();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  const events = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let gone = false;
  void exited.then(() => {
    gone = true;
    for (const w of waiters.splice(0)) w();
  });
  const waitForEvent = async (event: string, match: (e: Record<string, unknown>) => boolean = () => true, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events().find((e) => e.event === event && match(e));
      if (found) return found;
      if (gone) throw new Error(`the proxy exited before "${event}"; stderr:\n${stderr}`);
      if (Date.now() > deadline) throw new Error(`no "${event}" from the proxy in time; stderr:\n${stderr}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 200);
      });
    }
  };
  const proxy: TestProxy = {
    port,
    adminPort,
    child,
    stderr: () => stderr,
    events,
    url: (database = 'orders', user = 'app') => `postgresql://${user}@127.0.0.1:${port}/${database}?sslmode=disable`,
    async admin(path, method = 'GET') {
      const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { method });
      return { status: res.status, body: await res.text() };
    },
    waitForEvent,
    async memory() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
      return { rss: kb('VmRSS'), peak: kb('VmHWM') };
    },
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  await waitForEvent('proxy_listening');
  if ((o.waitFor ?? 'lease') === 'lease') await waitForEvent('lease_acquired');
  return proxy;
}

export function needClient(path: string): string {
  const full = resolve(CLIENTS, path);
  if (!existsSync(full)) throw new Error(`${full} is missing: run test/proxy/clients/install.sh (.ci/run does)`);
  return full;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion with piped output. */
export function run(
  command: string,
  args: string[],
  opts: { env?: Record<string, string | undefined>; input?: string | Buffer; timeoutMs?: number } = {},
): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not finish in time; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr });
    });
  });
}
