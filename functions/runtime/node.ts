/**
 * Node wiring shared by the Lambda handlers, `npm start` and the CLI: picks
 * the driver named by PGMINT_DRIVER and builds Deps once per process.
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import WebSocket from 'ws';
import { type Config, readConfig } from '../../lib/config.js';
import type { Deps } from '../../lib/context.js';
import { configureNeon, connectNeon, isLoopbackProxy } from '../../lib/db/neon.js';
import { connectPg } from '../../lib/db/pg.js';
import type { Connect } from '../../lib/db/port.js';
import { buildDeps } from '../../lib/deps.js';

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

export function nodeConnect(config: Config): Connect {
  if (config.driver === 'pg') return connectPg;
  configureNeon({
    webSocketConstructor: WebSocket,
    wsProxy: config.neonWsProxy,
    secureWebSocket: config.neonWsProxy ? !isLoopbackProxy(config.neonWsProxy) : true,
  });
  return connectNeon;
}

export async function nodeDeps(env: Record<string, string | undefined> = process.env, options: { now?: () => Date } = {}): Promise<Deps> {
  const config = readConfig(env);
  return buildDeps(config, nodeConnect(config), options);
}
