/**
 * Drives the real `pgmint` binary (node cli/bin.mjs) as a child process, the
 * way a person's shell would, with piped stdio.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const BIN = resolve('cli/bin.mjs');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** The environment of a person with no pgmint settings of their own. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('PGMINT_') || k.startsWith('PG')) delete env[k];
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export function startCli(args: string[], opts: CliRun = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
  if (opts.input !== undefined) child.stdin?.end(opts.input);
  else child.stdin?.end();
  return child;
}

export function runCli(args: string[], opts: CliRun = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = startCli(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pgmint ${args[0]} did not finish in time; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 45_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ status, stdout, stderr });
    });
  });
}

export async function tempDir(prefix = 'pgmint-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Writes a token to a 0600 file, as a projected volume or `kubectl create token > f` would. */
export async function tokenFile(dir: string, token: string): Promise<string> {
  const path = join(dir, `token-${randomBytes(4).toString('hex')}`);
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return path;
}

export interface ProcessInfo {
  pid: number;
  argv: string[];
  env: Record<string, string>;
}

/** Every process this user can see, with argv (what `ps` shows) and environment. */
export async function processes(): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
      const env: Record<string, string> = {};
      for (const kv of (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0')) {
        const eq = kv.indexOf('=');
        if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      out.push({ pid: Number(pid), argv, env });
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

export const programName = (p: ProcessInfo) => (p.argv[0] ?? '').split('/').pop();

/** Polls until `probe` answers something, or fails after `timeoutMs`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** `Label   value` from a printed block. */
export function blockField(text: string, label: string): string | undefined {
  const m = new RegExp(`^\\s*${label.replace(/[/\\]/g, '\\$&')}\\s{2,}(\\S+)`, 'm').exec(text);
  return m?.[1];
}
