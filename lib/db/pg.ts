/**
 * The `pg` driver over TCP, for Node (Lambda, `npm start`, the CLI). The only
 * Node-only file in lib/; edge builds never import it.
 */
import pg from 'pg';
import { adaptPool } from './pool-adapter.js';
import type { ConnectionConfig, Sql } from './port.js';

// Timestamps and bigints come back as text; pgmint parses what it needs.
const types = {
  getTypeParser: (oid: number, format?: string) =>
    oid === 20 || oid === 1184 || oid === 1114 ? (v: string) => v : pg.types.getTypeParser(oid, format as 'text'),
};

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
    connectionTimeoutMillis: 10_000,
    application_name: config.applicationName ?? 'pgmint',
    types,
  });
  return adaptPool(pool);
}
