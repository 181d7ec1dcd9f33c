/**
 * The system `ssh` as a local port forward (`ssh -N -L …`) to a database
 * only a bastion can reach. Credentials never travel through ssh's argv:
 * ssh only carries bytes; the database login happens through the forward.
 *
 * @example
 *   const args = sshForwardArgs({ via: parseVia('ops@bastion:2222'), localPort: 15432, dbHost: '10.0.0.5', dbPort: 5432 });
 */
import { CliError } from './errors.js';

export interface Via {
  user?: string;
  host: string;
  port?: number;
}

export function parseVia(text: string): Via {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::(\d{1,5}))?$/.exec(text);
  if (!m) throw new CliError('invalid_request', `--via must look like user@host or user@host:port, not "${text}"`);
  return { user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : undefined };
}

export function viaLabel(v: Via): string {
  return `${v.user ? `${v.user}@` : ''}${v.host}${v.port ? `:${v.port}` : ''}`;
}

const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);

export interface ForwardSpec {
  via: Via;
  localPort: number;
  dbHost: string;
  dbPort: number;
  identity?: string;
  sshOptions?: string[];
}

export function sshForwardArgs(s: ForwardSpec): string[] {
  const args = ['-N', '-L', `127.0.0.1:${s.localPort}:${bracket(s.dbHost)}:${s.dbPort}`];
  // Fail fast when the forward cannot be set up, and notice a dead bastion.
  args.push('-o', 'ExitOnForwardFailure=yes', '-o', 'ServerAliveInterval=30', '-o', 'ServerAliveCountMax=3');
  const port = s.via.port;
  if (port) args.push('-p', String(port));
  if (s.identity) args.push('-i', s.identity);
  for (const o of s.sshOptions ?? []) args.push('-o', o);
  args.push(s.via.user ? `${s.via.user}@${s.via.host}` : s.via.host);
  return args;
}

/** Reads ssh's last words into a reason and what to try. */
export function explainSshFailure(stderr: string, status: number | null, via: Via): CliError {
  const last =
    stderr
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('Warning: Permanently added'))
      .pop() ?? '';
  const tail = last ? `: ${last}` : '';
  if (/Permission denied|Too many authentication failures/i.test(stderr)) {
    return new CliError('ssh_auth_failed', `the bastion ${viaLabel(via)} refused the SSH login${tail}`, {
      hint: `check the user in --via, your key (--identity <file> or ssh-agent), and that \`ssh ${viaLabel(via)}\` works on its own`,
    });
  }
  if (/Address already in use|cannot listen to port|bind.*failed/i.test(stderr)) {
    return new CliError('port_in_use', `ssh could not listen on the local port${tail}`, {
      hint: 'omit --strict-port, or pass another --local-port',
    });
  }
  if (/Connection refused|Could not resolve hostname|timed out|No route to host/i.test(stderr)) {
    return new CliError('ssh_unreachable', `cannot reach the bastion ${viaLabel(via)}${tail}`, {
      hint: 'check the bastion host and port in --via',
    });
  }
  return new CliError('ssh_failed', `ssh exited with status ${status ?? 'unknown'}${tail}`, {
    hint: 'run the same ssh command with -v to see why',
  });
}
