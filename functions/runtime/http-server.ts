/**
 * pgmint over plain HTTP in a long-running Node process (`npm start`, a
 * container), as opposed to the Lambda handlers, which must not carry an
 * HTTP server in their bundle.
 *
 * @example
 *   const server = await serveNode(createApp(deps).fetch, { port: 8787, hostname: '0.0.0.0' });
 */
import { createServer, type Server } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { PgmintError } from '../../lib/errors.js';
import { problemBody } from '../../lib/http/problem.js';

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

/**
 * Methods the Fetch API cannot carry (a `Request` refuses them), so they never
 * reach the app: answered here with the app's 405 problem instead of an error.
 */
const UNFETCHABLE_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** Serves `fetch` (a Hono app's) over HTTP the way every Node entry point of pgmint does. */
export function serveNode(
  fetch: (request: Request) => Response | Promise<Response>,
  o: { port: number; hostname: string },
): Promise<Server> {
  const listener = getRequestListener(fetch);
  const server = createServer(NODE_SERVER_OPTIONS, (req, res) => {
    if (!UNFETCHABLE_METHODS.has(req.method ?? '')) return void listener(req, res);
    const requestId = crypto.randomUUID();
    const error = new PgmintError('method_not_allowed', `${req.method} is not allowed here`);
    res.writeHead(405, { 'content-type': 'application/problem+json', 'cache-control': 'no-store', 'x-request-id': requestId });
    res.end(JSON.stringify(problemBody(error, requestId)));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: o.port, host: o.hostname, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
