/**
 * `pgmint tunnel <db> --via user@bastion`: mints a login, forwards a local
 * port to the database through the bastion with the system `ssh`, prints the
 * GUI block for 127.0.0.1, and stays in the foreground until Ctrl-C.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type Command, Option } from 'commander';
import { mintLease, refuseReadOnly } from '../lib/credentials.js';
import { CliError, redact } from '../lib/errors.js';
import { guiBlock, guiConfig, tunnelSslmode } from '../lib/gui-block.js';
import { collect, type IdentityOptions, identityOptions } from '../lib/options.js';
import { canConnect, pickLocalPort } from '../lib/ports.js';
import { probeSession, type SessionFacts, tenantSchemas } from '../lib/probe.js';
import { explainSshFailure, parseVia, sshForwardArgs, type Via, viaLabel } from '../lib/ssh.js';

interface TunnelOptions extends IdentityOptions {
  via: string;
  localPort: string;
  strictPort?: boolean;
  sshPort?: string;
  identity?: string;
  sshOption?: string[];
  dbHost?: string;
  dbPort?: string;
  ssh: string;
  json?: boolean;
  readyTimeout: string;
  keepLease?: boolean;
}

interface RunningSsh {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startSsh(command: string, args: string[]): RunningSsh {
  // stdin stays the terminal so ssh can ask for a key passphrase.
  const child = spawn(command, args, { stdio: ['inherit', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    if (stderr.length > 16_384) stderr = stderr.slice(-8192);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      stderr += `\n${err.code === 'ENOENT' ? `${command}: not found` : err.message}`;
      resolve({ code: 127, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, stderr: () => stderr, exited };
}

async function waitForForward(ssh: RunningSsh, port: number, timeoutMs: number, via: Via): Promise<void> {
  let exited: { code: number | null } | null = null;
  void ssh.exited.then((e) => {
    exited = e;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited) break;
    if (await canConnect(port)) {
      // Another program could own the port: the forward is ours only if ssh is still up.
      if (!exited && ssh.child.exitCode === null) return;
      break;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  if (!exited && ssh.child.exitCode === null) {
    ssh.child.kill('SIGTERM');
    throw new CliError('ssh_timeout', `the SSH forward through ${viaLabel(via)} was not ready after ${Math.round(timeoutMs / 1000)} s`, {
      hint: 'check that the bastion is reachable and does not wait for a prompt; raise --ready-timeout for slow links',
    });
  }
  const e = await ssh.exited;
  if (/not found$/.test(ssh.stderr().trim())) {
    throw new CliError('program_not_found', 'ssh is not installed or not on PATH', {
      hint: 'install an OpenSSH client (Debian/Ubuntu: `apt-get install openssh-client`)',
    });
  }
  throw explainSshFailure(ssh.stderr(), e.code, via);
}

export function registerTunnel(program: Command): void {
  identityOptions(
    program
      .command('tunnel <db>')
      .description('Forward a local port to <db> through an SSH bastion and print the GUI settings for 127.0.0.1')
      .requiredOption('--via <user@host[:port]>', 'SSH bastion that can reach the database')
      .option('--local-port <port>', 'first local port to try', '15432')
      .option('--strict-port', 'fail instead of taking the next free port')
      .option('--ssh-port <port>', 'SSH port of the bastion (or user@host:port in --via)')
      .option('-i, --identity <file>', 'SSH private key')
      .option('--ssh-option <option>', 'extra ssh -o option, e.g. StrictHostKeyChecking=accept-new (repeatable)', collect)
      .option('--db-host <host>', 'database host as the bastion sees it (default: the host the broker reports)')
      .option('--db-port <port>', 'database port as the bastion sees it')
      .addOption(new Option('--ssh <path>', 'ssh client to run').env('PGMINT_SSH').default('ssh'))
      .option('--ready-timeout <seconds>', 'how long to wait for the forward', '30')
      .option('--json', 'print the settings as one JSON line instead of the GUI block')
      .option('--keep-lease', 'leave the login valid until it expires instead of revoking it when the tunnel closes'),
  ).action(async (db: string, o: TunnelOptions) => {
    const via = parseVia(o.via);
    if (o.sshPort) via.port = Number(o.sshPort);
    // The port is checked before a login is minted, so a taken port wastes no lease.
    const localPort = await pickLocalPort(Number(o.localPort), { strict: o.strictPort });
    // The database is behind the bastion: the read/write check runs through the forward instead.
    const lease = await mintLease(db, { ...o, skipWriteCheck: true });
    const creds = lease.creds;
    const dbHost = o.dbHost ?? creds.host;
    const dbPort = o.dbPort ? Number(o.dbPort) : creds.port;

    const args = sshForwardArgs({ via, localPort, dbHost, dbPort, identity: o.identity, sshOptions: o.sshOption });
    const ssh = startSsh(o.ssh, args);
    let stopping = false;
    const stop = () => {
      stopping = true;
      ssh.child.kill('SIGTERM');
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', stop);
    try {
      await waitForForward(ssh, localPort, Number(o.readyTimeout) * 1000, via);
      const local = { ...creds, host: '127.0.0.1', port: localPort, sslmode: tunnelSslmode(creds.sslmode) };
      let facts: SessionFacts | null = null;
      try {
        facts = await probeSession(local);
      } catch {
        process.stderr.write('note: could not log in through the tunnel to read the search path; the forward is up.\n');
      }
      if (o.readwrite) await refuseReadOnly(db, lease, facts);
      const options = {
        searchPath: facts?.searchPath ?? null,
        tenantSchemas: facts ? tenantSchemas(facts) : [],
        tunnel: { via: viaLabel(via) },
      };
      if (o.json) process.stdout.write(`${JSON.stringify(guiConfig(local, options))}\n`);
      else {
        process.stdout.write(guiBlock(local, options));
        process.stdout.write(
          `\npsql: psql "host=127.0.0.1 port=${localPort} dbname=${creds.database} user=${creds.user} sslmode=${local.sslmode}"\n`,
        );
      }
      process.stderr.write(`Tunnel open: 127.0.0.1:${localPort} → ${dbHost}:${dbPort} via ${viaLabel(via)}. Ctrl-C to close.\n`);
      const end = await ssh.exited;
      // Ctrl-C reaches ssh and pgmint together; give the signal a moment to be seen.
      if (!stopping) await new Promise((r) => setTimeout(r, 300));
      if (!stopping) throw explainSshFailure(ssh.stderr(), end.code, via);
      process.stderr.write('Tunnel closed.\n');
    } catch (err) {
      if (ssh.child.exitCode === null && ssh.child.signalCode === null) ssh.child.kill('SIGTERM');
      if (err instanceof CliError) throw err;
      throw new CliError('tunnel_failed', redact(err instanceof Error ? err.message : String(err)));
    } finally {
      if (!o.keepLease) await lease.release();
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', stop);
    }
  });
}
