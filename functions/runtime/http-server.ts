/**
 * pgmint over plain HTTP in a long-running Node process (`npm start`, a
 * container), as opposed to the Lambda handlers, which must not carry an
 * HTTP server in their bundle.
 *
 * @example
 *   const server = await serveNode(createApp(deps).fetch, { port: 8787, hostname: '0.0.0.0' });
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';

/**
 * Node's default 16 KiB header limit would answer an oversized token with a
 * bare 431; a larger limit lets pgmint refuse it as `invalid_token` and audit it.
 */
export const NODE_SERVER_OPTIONS = { maxHeaderSize: 64 * 1024 };

/**
 * Connections the kernel may hold for pgmint before it accepts them. Node's
 * default, 511, overflows when thousands of pods start at once: the overflow
 * handshakes are dropped and those pods see their connection reset (724 of a
 * 10,000-pod burst). Linux caps it at net.core.somaxconn (4096 by default).
 */
export const LISTEN_BACKLOG = 65_535;

/** Serves `fetch` (a Hono app's) over HTTP the way every Node entry point of pgmint does. */
export function serveNode(fetch: (request: Request) => Response | Promise<Response>, o: { port: number; hostname: string }): Promise<Server> {
  const server = createAdaptorServer({ fetch, serverOptions: NODE_SERVER_OPTIONS }) as Server;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: o.port, host: o.hostname, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
