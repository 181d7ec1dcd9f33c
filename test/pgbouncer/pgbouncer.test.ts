/**
 * PgBouncer in front of a target, set up as the README says: the auth_query
 * function from `pgmint bootstrap-sql --pgbouncer`, the shipped
 * pgbouncer.ini (transaction pooling, SCRAM pass-through, its timeouts).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireLeaseIn, startTestBroker, type TestBroker } from '../support/broker.js';
import { startPgbouncer, type RunningPgbouncer } from '../support/pgbouncer.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import { call, mint, sessionsOf } from '../lifecycle/helpers.js';

const run = promisify(execFile);

describe('PgBouncer in front of a target', () => {
  let b: TestBroker;
  let bouncer: RunningPgbouncer;
  const clients: pg.Client[] = [];
  const authUser = `pgb_auth_${Math.random().toString(36).slice(2, 10)}`;
  const authPassword = `auth-${Math.random().toString(36).slice(2)}`;

  /** A client of PgBouncer logged in with a lease's user and password. */
  async function viaBouncer(creds: { user: string; password: string }): Promise<pg.Client> {
    const client = new pg.Client({ host: '127.0.0.1', port: bouncer.port, database: 'target', user: creds.user, password: creds.password });
    client.on('error', () => {});
    await client.connect();
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    // Exactly what an operator runs: the CLI's SQL, as a superuser, in the database PgBouncer fronts.
    const { stdout } = await run('node', [
      'cli/bin.mjs',
      'bootstrap-sql',
      '--database',
      b.targetDb,
      '--schema',
      'app',
      '--no-broker',
      '--pgbouncer',
      '--pgbouncer-user',
      authUser,
    ]);
    const bouncerSql = stdout.slice(stdout.indexOf('-- PgBouncer auth_query'));
    await withSuperuser(b.pg, b.targetDb, async (c) => {
      await c.query(bouncerSql);
      await c.query(`ALTER ROLE ${authUser} PASSWORD '${authPassword}'`);
    });
    bouncer = await startPgbouncer({
      databases: { target: `host=127.0.0.1 port=${b.pg.port} dbname=${b.targetDb} auth_user=${authUser}` },
      authUser,
      authPassword,
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => {});
    await bouncer?.stop();
    await b?.close();
  });

  it('the lookup function is owned by a superuser, runs as definer, and only the auth user may call it', async () => {
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(
        `SELECT r.rolsuper AS owner_is_superuser, p.prosecdef AS definer,
           has_function_privilege($1, p.oid, 'EXECUTE') AS auth_user_may,
           has_function_privilege($2, p.oid, 'EXECUTE') AS broker_may
         FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'pgmint_pgbouncer' AND p.proname = 'lookup'`,
        [authUser, b.brokerUser],
      ),
    );
    expect(rows).toEqual([{ owner_is_superuser: true, definer: true, auth_user_may: true, broker_may: false }]);
  });

  it('a lease logs in through PgBouncer (SCRAM, pass-through to Postgres as the same user)', async () => {
    const creds = await mint(b, '?ttl=10m');
    const client = await viaBouncer(creds);
    expect((await client.query('SELECT current_user AS u, count(*)::int AS n FROM app.orders')).rows[0]).toEqual({ u: creds.user, n: 2 });
    await expect(viaBouncer({ user: creds.user, password: 'pgm-wrong' })).rejects.toBeTruthy();
  });

  it('after expiry a new login is refused, even while a pooled server connection of that user is open; the open client keeps working', async () => {
    const creds = await mint(b, '?ttl=30');
    const client = await viaBouncer(creds);
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(creds.user);
    const expiry = await expireLeaseIn(b, creds, 1);
    await new Promise((r) => setTimeout(r, Math.max(0, expiry.getTime() - Date.now()) + 1200));

    // PgBouncer still holds a server connection logged in as the lease user (idle in its pool).
    expect(await sessionsOf(b, creds.user)).toBeGreaterThanOrEqual(1);
    await expect(viaBouncer(creds)).rejects.toBeTruthy();
    await expect(loginAs(b.pg, b.targetDb, creds.user, creds.password)).rejects.toMatchObject({ code: '28P01' });
    expect(await sessionsOf(b, creds.user)).toBeGreaterThanOrEqual(1);
    // Expired is not revoked: the client that was in keeps working.
    expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('after a revoke a new login is refused and a connected client gets an error within seconds', async () => {
    const creds = await mint(b, '?ttl=10m');
    const client = await viaBouncer(creds);
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(creds.user);

    expect((await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token)).status).toBe(200);
    await expect(viaBouncer(creds)).rejects.toBeTruthy();
    const started = Date.now();
    await expect(client.query('SELECT 1')).rejects.toBeTruthy();
    // PgBouncer's defaults would keep it waiting 120 s (query_wait_timeout); the shipped ini says 10 s.
    expect(Date.now() - started).toBeLessThan(60_000);
  }, 150_000);
});
