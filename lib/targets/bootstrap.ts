/**
 * The SQL an owner runs once on a target so pgmint can mint users there:
 * a broker role with CREATEROLE and nothing more, and group roles for
 * read-only and read/write access to one schema. On PostgreSQL 16+ the
 * broker holds the groups WITH ADMIN OPTION but neither INHERIT nor SET, so
 * it can hand them out without being able to read the data.
 *
 * @example
 *   console.log(bootstrapSql({ database: 'orders', schema: 'app', serverVersion: 180000 }));
 */
import { ident, literal } from '../sql/quote.js';

export interface BootstrapOptions {
  database: string;
  schema: string;
  brokerRole?: string;
  /** Omit to print `PASSWORD NULL` and set it separately. */
  brokerPassword?: string;
  readonlyGroup?: string;
  readwriteGroup?: string;
  /** server_version_num of the target; decides the PostgreSQL 16+ grant form. */
  serverVersion: number;
}

export function bootstrapSql(o: BootstrapOptions): string {
  const broker = ident(o.brokerRole ?? 'pgmint_broker');
  const ro = ident(o.readonlyGroup ?? `${o.schema}_readonly`);
  const rw = ident(o.readwriteGroup ?? `${o.schema}_readwrite`);
  const schema = ident(o.schema);
  const db = ident(o.database);
  const password = o.brokerPassword === undefined ? 'NULL' : literal(o.brokerPassword);
  const lines = [
    `-- pgmint bootstrap for database ${o.database}, schema ${o.schema}. Run as the database owner or a superuser.`,
    `CREATE ROLE ${broker} LOGIN CREATEROLE NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD ${password};`,
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    `CREATE ROLE ${ro} NOLOGIN;`,
    `CREATE ROLE ${rw} NOLOGIN;`,
    `GRANT CONNECT ON DATABASE ${db} TO ${ro}, ${rw};`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${ro}, ${rw};`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${ro};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${rw};`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${rw};`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${ro};`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${rw};`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${rw};`,
    `ALTER ROLE ${ro} SET default_transaction_read_only = on;`,
  ];
  if (o.serverVersion >= 160000) {
    lines.push(
      `GRANT ${ro} TO ${broker} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;`,
      `GRANT ${rw} TO ${broker} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;`,
    );
  }
  return `${lines.join('\n')}\n`;
}
