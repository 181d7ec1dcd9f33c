/**
 * The `pg` driver over TCP, for Node (Lambda, `npm start`, the CLI). The only
 * Node-only file in lib/; edge builds never import it.
 */
import pg from 'pg';
import { adaptPool } from './pool-adapter.js';
import { CONNECT_TIMEOUT_MS, type ConnectionConfig, type Sql } from './port.js';

export function connectPg(config: ConnectionConfig): Sql {
  const ssl =
    config.sslmode === 'require' || config.sslmode === 'prefer'
      ? { rejectUnauthorized: false }
      : config.sslmode === 'verify-full'
        ? { rejectUnauthorized: true }
        : false;
  const pool = new pg.Pool({
    host: config.host,
    port: config.port,
    database: config.database,
    user: config.user,
    password: config.password,
    ssl,
    max: config.max ?? 4,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: config.applicationName ?? 'pgmint',
  });
  return adaptPool(pool, config.statementTimeoutMs);
}
