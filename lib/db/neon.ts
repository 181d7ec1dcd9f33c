/**
 * The `@neondatabase/serverless` driver: Postgres over a WebSocket, for edge
 * runtimes that cannot open TCP sockets. `wsProxy` points at a
 * WebSocket-to-TCP proxy for servers that are not Neon's.
 */
import { neonConfig, Pool } from '@neondatabase/serverless';
import { adaptPool, type PgLikePool } from './pool-adapter.js';
import { CONNECT_TIMEOUT_MS, type ConnectionConfig, type Sql } from './port.js';

export interface NeonOptions {
  /** e.g. `127.0.0.1:6543/v1` → `ws://127.0.0.1:6543/v1?address=host:port` */
  wsProxy?: string;
  /** false for a plain `ws://` proxy on loopback. */
  secureWebSocket?: boolean;
  webSocketConstructor?: unknown;
}

/** A proxy on loopback may be plain ws:// (tests, a sidecar); anything else must use TLS. */
export function isLoopbackProxy(proxy: string): boolean {
  return /^(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d+)?(\/|$)/.test(proxy);
}

export function configureNeon(options: NeonOptions): void {
  if (options.webSocketConstructor) neonConfig.webSocketConstructor = options.webSocketConstructor as never;
  if (options.wsProxy) {
    const proxy = options.wsProxy;
    neonConfig.wsProxy = (host, port) => `${proxy}?address=${host}:${port}`;
  }
  if (options.secureWebSocket === false) {
    neonConfig.useSecureWebSocket = false;
    // Without TLS to the proxy, Postgres's own TLS is off too, and SCRAM needs
    // a round trip per step, so pipelining the startup is not possible.
    neonConfig.forceDisablePgSSL = true;
    neonConfig.pipelineConnect = false;
    neonConfig.pipelineTLS = false;
  }
}

export function connectNeon(config: ConnectionConfig): Sql {
  const pool = new Pool({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl: config.sslmode !== 'disable' && neonConfig.useSecureWebSocket,
    max: config.max ?? 4,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: config.applicationName ?? 'pgmint',
  } as never);
  return adaptPool(pool as unknown as PgLikePool, config.statementTimeoutMs);
}
