/**
 * A real OpenSSH server on a free loopback port, as the bastion of tunnel
 * tests: its own host key, one authorized client key, no PAM. Needs Debian's
 * openssh-server (`apt-get install -y openssh-server`).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect } from '../../cli/lib/ports.js';
import { tempDir, waitFor } from './support.js';

const run = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

export interface TestSshd {
  port: number;
  user: string;
  /** Private key sshd accepts. */
  clientKey: string;
  /** A key sshd does not know. */
  strangerKey: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: apt-get update && apt-get install -y openssh-server`);
  const dir = await tempDir('pgmint-sshd-');
  const key = (name: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
  await Promise.all([key('host_key'), key('client_key'), key('stranger_key')]);
  await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_key.pub')));
  // sshd insists on its privilege-separation directory even when it cannot drop privileges.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 }).catch(() => {});
  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowTcpForwarding yes',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (log += s));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  try {
    await waitFor(async () => child.exitCode === null && (await canConnect(port)), 'sshd to listen', 15_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`sshd did not start: ${log}`, { cause: err });
  }
  return {
    port,
    user: userInfo().username,
    clientKey: join(dir, 'client_key'),
    strangerKey: join(dir, 'stranger_key'),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
