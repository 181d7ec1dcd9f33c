/**
 * Edge wiring (Cloudflare Workers and other workerd hosts): settings come
 * from the Worker's `env` binding and every query travels over WebSocket
 * through `@neondatabase/serverless`, since edge runtimes open no TCP sockets
 * for the `pg` driver. Edge fetch cannot trust a CA per request, so no
 * `fetchForCa` is given and issuers with `ca_pem` are refused at registration.
 *
 * Workers tie a socket to the request that opened it, so pools cannot outlive
 * a request: `withEdgeDeps` builds Deps for one request or scheduled run and
 * closes them once it is done (through `waitUntil`, after the response left).
 *
 * @example
 *   return withEdgeDeps(env, ctx, (deps) => createApp(deps).fetch(request, env, ctx));
 */
import { type Config, ConfigError, readConfig } from '../../lib/config.js';
import type { Deps } from '../../lib/deps.js';
import { configureNeon, connectNeon, isLoopbackProxy } from '../../lib/db/neon.js';
import { buildDeps, closeDeps } from '../../lib/deps.js';

export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** Keeps the string bindings (vars and secrets); KV, D1 and other objects are not settings. */
export function stringBindings(env: object): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** A plain `ws://` proxy is only acceptable on loopback (local development and tests). */
export function edgeConfig(env: object): Config {
  const bindings = stringBindings(env);
  if (bindings.PGMINT_DRIVER !== undefined && bindings.PGMINT_DRIVER !== 'neon') {
    throw new ConfigError('PGMINT_DRIVER: edge runtimes support only the neon driver (Postgres over WebSocket)');
  }
  // Deps live for one request here: passwords derived ahead or a standby role made after it would
  // only be thrown away (and the CPU billed).
  return readConfig({ ...bindings, PGMINT_DRIVER: 'neon', PGMINT_STANDBY_ROLES: '0', PGMINT_VERIFIER_POOL: '0' });
}

export async function edgeDeps(env: object): Promise<Deps> {
  const config = edgeConfig(env);
  configureNeon({
    wsProxy: config.neonWsProxy,
    secureWebSocket: config.neonWsProxy ? !isLoopbackProxy(config.neonWsProxy) : true,
  });
  return buildDeps(config, connectNeon);
}

/** Runs `fn` with Deps that live exactly as long as this request or scheduled run. */
export async function withEdgeDeps<T>(env: object, ctx: WaitUntil, fn: (deps: Deps) => Promise<T>): Promise<T> {
  const deps = await edgeDeps(env);
  try {
    return await fn(deps);
  } finally {
    ctx.waitUntil(closeDeps(deps).catch(() => {}));
  }
}
