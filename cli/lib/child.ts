/**
 * Runs psql, pg_dump or ssh as a child that inherits the terminal, with the
 * credentials in its environment (never in argv, where `ps` shows them).
 * Ctrl-C reaches the child through the terminal's process group, so the
 * parent ignores it and waits; SIGTERM is passed on.
 *
 * @example
 *   process.exitCode = await runChild('psql', ['-c', 'SELECT 1'], { env: libpqEnv(creds) });
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CliError, redact } from './errors.js';

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** Pipe stderr (and keep its text) instead of inheriting it; it is still shown, redacted. */
  captureStderr?: boolean;
  /** What to install when the program is missing. */
  installHint?: string;
  onSpawn?: (child: ChildProcess) => void;
}

export interface RunResult {
  status: number;
  stderr: string;
}

export function runChild(command: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env,
      stdio: ['inherit', 'inherit', opts.captureStderr ? 'pipe' : 'inherit'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(redact(chunk));
    });
    const ignore = () => {};
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const onTerm = forward('SIGTERM');
    const onHup = forward('SIGHUP');
    process.on('SIGINT', ignore);
    process.on('SIGQUIT', ignore);
    process.on('SIGTERM', onTerm);
    process.on('SIGHUP', onHup);
    const cleanup = () => {
      process.off('SIGINT', ignore);
      process.off('SIGQUIT', ignore);
      process.off('SIGTERM', onTerm);
      process.off('SIGHUP', onHup);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      cleanup();
      if (err.code === 'ENOENT') {
        reject(new CliError('program_not_found', `${command} is not installed or not on PATH`, { hint: opts.installHint }));
      } else reject(new CliError('program_failed', `cannot run ${command} (${err.code ?? err.message})`));
    });
    child.once('spawn', () => opts.onSpawn?.(child));
    child.once('close', (code, signal) => {
      cleanup();
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 1) : 1);
      resolve({ status, stderr });
    });
  });
}

export const POSTGRES_CLIENT_HINT =
  'install the PostgreSQL client tools (Debian/Ubuntu: `apt-get install postgresql-client`; macOS: `brew install libpq`)';
