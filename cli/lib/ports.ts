/**
 * Local ports for tunnels: the first free one from a starting point, or
 * exactly the one asked for.
 *
 * @example
 *   const port = await pickLocalPort(15432, { strict: false }); // 15432, or 15433 if taken …
 */
import { createConnection, createServer } from 'node:net';
import { CliError } from './errors.js';

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function pickLocalPort(start: number, opts: { strict?: boolean; tries?: number } = {}): Promise<number> {
  if (!Number.isInteger(start) || start < 1 || start > 65535) {
    throw new CliError('invalid_request', `--local-port must be a port number, not ${start}`);
  }
  if (opts.strict) {
    if (await isPortFree(start)) return start;
    throw new CliError('port_in_use', `local port ${start} is already in use`, {
      hint: 'omit --strict-port to take the next free port, or pass another --local-port',
    });
  }
  const last = Math.min(65535, start + (opts.tries ?? 100) - 1);
  for (let port = start; port <= last; port++) if (await isPortFree(port)) return port;
  throw new CliError('port_in_use', `no free local port between ${start} and ${last}`, {
    hint: 'pass --local-port with another starting point',
  });
}

/** True once something accepts connections on the port. */
export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
