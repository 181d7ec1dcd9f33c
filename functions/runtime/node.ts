/**
 * Node wiring shared by the Lambda handlers, `npm start` and the CLI: picks
 * the driver named by PGMINT_DRIVER and builds Deps once per process.
 */
import WebSocket from 'ws';
import { type Config, readConfig } from '../../lib/config.js';
import type { Deps } from '../../lib/deps.js';
import { configureNeon, connectNeon, isLoopbackProxy } from '../../lib/db/neon.js';
import { connectPg } from '../../lib/db/pg.js';
import type { Connect } from '../../lib/db/port.js';
import { buildDeps } from '../../lib/deps.js';
import { fetchWithCa } from './ca-fetch.js';
import { nodeScramKeys } from './node-scram.js';

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
  return buildDeps(config, nodeConnect(config), { ...options, fetchForCa: fetchWithCa, scramKeys: nodeScramKeys });
}
