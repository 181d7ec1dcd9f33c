/**
 * `npm start` with PGMINT_HOME set: the commands it prints work as printed,
 * from another shell that does not have PGMINT_HOME.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../functions/local/embedded-postgres.js';
import { cleanEnv } from './support.js';

const run = promisify(execFile);

describe('npm start with PGMINT_HOME', () => {
  let child: ChildProcess | undefined;
  let home: string | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
    }
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('prints commands that work from a shell without PGMINT_HOME', async () => {
    home = await mkdtemp(join(tmpdir(), 'pgmint-home-'));
    // Postgres runs as the `postgres` OS user when this runs as root; it must reach its data folder.
    await chmod(home, 0o755);
    const [port, issuerPort] = [await freePort(), await freePort()];
    child = spawn(resolve('node_modules/.bin/tsx'), ['functions/dev.ts'], {
      env: cleanEnv({ PGMINT_HOME: join(home, 'stack'), PORT: String(port), PGMINT_DEV_ISSUER_PORT: String(issuerPort) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    await new Promise<void>((resolveStarted, reject) => {
      const timer = setInterval(() => {
        if (out.includes('Ctrl-C stops everything.')) {
          clearInterval(timer);
          resolveStarted();
        } else if (child!.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`npm start exited: ${out}`));
        }
      }, 100);
    });
    const lines = out.split('\n').map((l) => l.trim());
    const tokenLine = lines.find((l) => l.startsWith('TOKEN=$('))!;
    const psqlLine = lines.find((l) => l.startsWith('psql "'))!;
    expect(tokenLine).toContain(`--home ${join(home, 'stack')}`);

    // Another terminal, in this folder, with none of pgmint's settings.
    const shell = await run('bash', ['-c', `set -e\n${tokenLine}\n${psqlLine} -At`], { env: cleanEnv(), cwd: resolve('.') });
    expect(shell.stdout.trim()).toMatch(/^pgm_demo_api_[a-z0-9]+\|\d+$/);
  }, 240_000);
});
