/**
 * The demo target of `npm start`: a `demo` database with a little data, a
 * broker role that holds CREATEROLE only, and read-only / read-write groups,
 * set up with the same bootstrap SQL operators run on real targets.
 */
import pg from 'pg';
import { scramSha256Verifier } from '../../lib/crypto/scram.js';
import { ident, literal } from '../../lib/sql/quote.js';
import { bootstrapSql } from '../../lib/sql/bootstrap-sql.js';

export interface DemoTarget {
  database: string;
  brokerUser: string;
  brokerPassword: string;
}

const SAMPLE_DATA = `
CREATE TABLE IF NOT EXISTS app.orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer text NOT NULL, total numeric(10,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO app.orders (customer, total) SELECT 'customer ' || i, (i * 7.5)::numeric(10,2) FROM generate_series(1, 5) i WHERE NOT EXISTS (SELECT 1 FROM app.orders);
CREATE SCHEMA IF NOT EXISTS private;
CREATE TABLE IF NOT EXISTS private.payroll (employee text, salary numeric);
`;

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates (or refreshes) the demo database; `superuserUrl(db)` gives a superuser URL for a database. */
export async function prepareDemoTarget(
  superuserUrl: (db?: string) => string,
  brokerPassword: string,
  database = 'demo',
): Promise<DemoTarget> {
  const brokerUser = 'pgmint_broker';
  await withClient(superuserUrl('postgres'), async (c) => {
    const { rowCount } = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await c.query(`CREATE DATABASE "${database}"`);
  });
  await withClient(superuserUrl(database), async (c) => {
    const version = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num);
    const { rowCount } = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', ['app_readonly']);
    if (!rowCount) {
      await c.query('BEGIN');
      await c.query(bootstrapSql({ database, schema: 'app', brokerRole: brokerUser, serverVersion: version }));
      await c.query('COMMIT');
    }
    await c.query(SAMPLE_DATA);
    // The broker's password is new on every start; pgmint stores it sealed. Postgres gets only
    // its SCRAM verifier, so the password never reaches a statement log.
    await c.query(`ALTER ROLE ${ident(brokerUser)} PASSWORD ${literal(await scramSha256Verifier(brokerPassword))}`);
  });
  return { database, brokerUser, brokerPassword };
}
