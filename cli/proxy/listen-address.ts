/**
 * Where the proxy listens (`--listen host:port`, `--unix-socket DIR`) and
 * whether an address is loopback: beyond loopback, anyone who can reach the
 * port would get the workload's database access, so a local password is
 * required there.
 *
 * @example
 *   parseListen('0.0.0.0:6432'); // { host: '0.0.0.0', port: 6432 }
 *   isLoopbackHost('::1');       // true
 */
import { isIP } from 'node:net';
import { CliError } from '../lib/errors.js';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value.trim()) ?? /^()()(\d+)$/.exec(value.trim());
  const port = Number(m?.[3]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new CliError('invalid_request', `--listen must be host:port (e.g. 127.0.0.1:5432), not "${value}"`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** libpq's socket file name for a port, inside the directory given to --unix-socket. */
export function unixSocketPath(dir: string, port: number): string {
  return `${dir.replace(/\/+$/, '')}/.s.PGSQL.${port}`;
}
