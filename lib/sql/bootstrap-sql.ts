/**
 * The SQL an owner runs once on a target so pgmint can mint users there:
 * a broker role with CREATEROLE and nothing more, and group roles for
 * read-only and read/write access to one schema. On PostgreSQL 16+ the
 * broker holds the groups WITH ADMIN OPTION but neither INHERIT nor SET, so
 * it can hand them out without being able to read the data. (On 15 and older
 * CREATEROLE alone lets it grant any non-superuser role; no grant is needed.)
 *
 * Run it once per schema; for the second and later schemas pass
 * `createBroker: false`. infra/bootstrap/ holds the same SQL as a psql
 * template and explains each statement.
 *
 * @example
 *   console.log(bootstrapSql({ database: 'orders', schema: 'app', schemaOwner: 'app_owner', serverVersion: 180000 }));
 */
import { ident, literal } from './quote.js';
import { CREATOR_SCHEMA } from './creator-names.js';

export interface BootstrapOptions {
  database: string;
  schema: string;
  brokerRole?: string;
  /** Omit to print `PASSWORD NULL` and set it separately (psql's `\password` sends only a verifier). */
  brokerPassword?: string;
  readonlyGroup?: string;
  readwriteGroup?: string;
  /**
   * The role that owns the schema and creates its tables (the application's
   * migration role). Default privileges are set FOR this role, so tables it
   * creates later are readable by the groups. Omitted: they apply to tables
   * created by whoever runs this SQL.
   */
  schemaOwner?: string;
  /** false when the broker role exists already (a second schema). Default true. */
  createBroker?: boolean;
  /** Wrap everything in BEGIN … COMMIT. Default false. */
  transaction?: boolean;
  /** server_version_num (e.g. 180000) or a major version (e.g. 18); decides the PostgreSQL 16+ grant form. */
  serverVersion: number;
}

/** `15` → 150000; a server_version_num passes through. */
export function serverVersionNum(v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new TypeError('serverVersion must be a positive integer');
  return v < 1000 ? v * 10000 : v;
}

export function bootstrapSql(o: BootstrapOptions): string {
  const version = serverVersionNum(o.serverVersion);
  const broker = ident(o.brokerRole ?? 'pgmint_broker');
  const ro = ident(o.readonlyGroup ?? `${o.schema}_readonly`);
  const rw = ident(o.readwriteGroup ?? `${o.schema}_readwrite`);
  const schema = ident(o.schema);
  const db = ident(o.database);
  const owner = o.schemaOwner === undefined ? null : ident(o.schemaOwner);
  const forOwner = owner ? `FOR ROLE ${owner} ` : '';
  const password = o.brokerPassword === undefined ? 'NULL' : literal(o.brokerPassword);
  const lines = [
    `-- pgmint bootstrap for database ${o.database}, schema ${o.schema}, PostgreSQL ${Math.floor(version / 10000)}.`,
    '-- Run as a superuser, after reviewing it.',
  ];
  if (o.transaction) lines.push('BEGIN;');
  if (o.createBroker !== false) {
    lines.push(
      '-- The broker: creates, renews and drops login roles; no superuser, no data access of its own.',
      `CREATE ROLE ${broker} LOGIN CREATEROLE NOINHERIT NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD ${password};`,
    );
  }
  lines.push(
    owner ? `CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${owner};` : `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    '-- Groups hold the privileges; each minted login joins one of them.',
    `CREATE ROLE ${ro} NOLOGIN;`,
    `CREATE ROLE ${rw} NOLOGIN;`,
    `GRANT CONNECT ON DATABASE ${db} TO ${ro}, ${rw};`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${ro}, ${rw};`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${ro};`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${rw};`,
    `GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} TO ${rw};`,
    owner
      ? `-- Tables ${o.schemaOwner} creates later get the same grants.`
      : '-- Tables created later by the role running this script get the same grants (pass the schema owner to cover its tables).',
    `ALTER DEFAULT PRIVILEGES ${forOwner}IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${ro};`,
    `ALTER DEFAULT PRIVILEGES ${forOwner}IN SCHEMA ${schema} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${rw};`,
    `ALTER DEFAULT PRIVILEGES ${forOwner}IN SCHEMA ${schema} GRANT USAGE, SELECT ON SEQUENCES TO ${rw};`,
    '-- Applies to sessions of this role itself; pgmint also sets it on each read-only login. Privileges are the boundary.',
    `ALTER ROLE ${ro} SET default_transaction_read_only = on;`,
  );
  if (version >= 160000) {
    lines.push(
      '-- PostgreSQL 16+: the broker may grant the groups, but neither inherits their privileges nor can SET ROLE to them.',
      `GRANT ${ro} TO ${broker} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;`,
      `GRANT ${rw} TO ${broker} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE;`,
      "-- A schema of the broker's own, holding only the functions of its creator roles, which create and drop the logins",
      '-- so that the cost of each CREATE/DROP ROLE does not grow with every login alive.',
      `CREATE SCHEMA IF NOT EXISTS ${ident(CREATOR_SCHEMA)} AUTHORIZATION ${broker};`,
    );
  }
  if (o.transaction) lines.push('COMMIT;');
  return `${lines.join('\n')}\n`;
}
