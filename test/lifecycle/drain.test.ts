/**
 * Expired is not revoked: sessions opened on a lease keep working after it
 * expires, through any number of sweeps, until they end by themselves, the
 * role's max_session passes, or someone revokes the lease.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/leases/sweep.js';
import { expireLeaseIn, groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import { asBroker, call, mint, roleExists, sessionsOf, untilNoSessions, workloadToken } from './helpers.js';

/** Moves a lease's expiry into the past, on the target and in the control plane: `secondsAgo` of time pass at once. */
async function expiredAgo(b: TestBroker, lease: { lease_id: string; user: string }, secondsAgo: number): Promise<void> {
  await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${lease.user}" VALID UNTIL '2000-01-01T00:00:00Z'`));
  await b.deps.sql.query(`UPDATE pgmint.leases SET expires_at = now() - make_interval(secs => $2) WHERE id = $1`, [
    lease.lease_id,
    secondsAgo,
  ]);
}

async function auditOf(b: TestBroker, leaseId: string) {
  const { rows } = await b.deps.sql.query<{ action: string; detail: Record<string, unknown> }>(
    `SELECT action, detail FROM pgmint.audit_log WHERE lease_id = $1 AND action IN ('lease.drain', 'lease.revoke') ORDER BY id`,
    [leaseId],
  );
  return rows;
}

/**
 * A lease with one open session, expired two minutes ago and swept once: draining.
 * `ended` settles with the error the session gets when it is terminated.
 */
async function drainingWithSession(b: TestBroker, creds: { lease_id: string; user: string; connection_uri: string }) {
  const client = new pg.Client({ connectionString: creds.connection_uri });
  const ended = new Promise<{ code?: string }>((resolve) => client.on('error', (err) => resolve(err as { code?: string })));
  await client.connect();
  await expiredAgo(b, creds, 120);
  await sweep(b.deps);
  expect((await b.deps.store.leases.get(creds.lease_id))!.state).toBe('draining');
  return { client, ended };
}

/** A pool of one connection, as an application holds it: opened once, reused for every query. */
function poolFor(creds: { connection_uri: string }) {
  const pool = new pg.Pool({ connectionString: creds.connection_uri, max: 1, idleTimeoutMillis: 0 });
  const errors: Array<{ code?: string }> = [];
  pool.on('error', (err) => errors.push(err as { code?: string }));
  return { pool, errors, pid: async () => (await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid };
}

describe.each(['pg18', 'pg15'] as const)('draining expired leases on %s', (serverName) => {
  let b: TestBroker;
  beforeAll(async () => {
    // The default grace (60 s): the sweep that once ended sessions at expiry + grace.
    b = await startTestBroker({ server: serverName });
    await b.setupDefault();
    const res = await b.admin('PUT', '/api/v1/databases/main/roles/readonly', { member_of: [groupsOf(b).ro], max_session: '10m' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ max_session: 600 });
  });
  afterAll(() => b?.close());

  it('a pooled connection keeps running queries through expiry, several sweeps and past the old grace, and ends only at max_session', async () => {
    const creds = await mint(b, '?ttl=30');
    const { pool, errors, pid } = poolFor(creds);
    const backend = await pid();

    // Real expiry: Postgres refuses a new login, the open connection answers.
    const expiry = await expireLeaseIn(b, creds, 1);
    await new Promise((r) => setTimeout(r, Math.max(0, expiry.getTime() - Date.now()) + 1200));
    await expect(loginAs(b.pg, b.targetDb, creds.user, creds.password)).rejects.toMatchObject({ code: '28P01' });
    expect(await pid()).toBe(backend);

    // Two minutes later, well past the 60 s grace, and three sweeps on.
    await expiredAgo(b, creds, 120);
    for (let i = 0; i < 3; i++) {
      const result = await sweep(b.deps);
      expect(result).toMatchObject({ failed: 0, errors: [] });
      expect(result.draining).toBeGreaterThanOrEqual(1);
      expect(await roleExists(b, creds.user)).toBe(true);
      expect(await pid()).toBe(backend);
    }
    expect((await b.deps.store.leases.get(creds.lease_id))!.state).toBe('draining');
    const listed = await (await b.admin('GET', '/api/v1/databases/main/leases?state=draining')).json();
    expect(listed.leases.map((l: { id: string }) => l.id)).toContain(creds.lease_id);
    const health = await (await b.admin('GET', '/api/v1/databases/main/health')).json();
    expect(health.leases.draining).toBeGreaterThanOrEqual(1);
    expect(health.leases.overdue).toBe(0);
    // Its role is past VALID UNTIL and on the orphan sweep's list, but tracked: never taken for an orphan.
    const orphaned = await b.deps.sql.query(`SELECT 1 FROM pgmint.audit_log WHERE action = 'orphan.drop' AND username = $1`, [creds.user]);
    expect(orphaned.rows).toEqual([]);
    // Audited once, when it began draining, not on every sweep.
    expect(await auditOf(b, creds.lease_id)).toEqual([{ action: 'lease.drain', detail: expect.objectContaining({ sessions: 1 }) }]);
    await expect(loginAs(b.pg, b.targetDb, creds.user, creds.password)).rejects.toMatchObject({ code: '28P01' });
    // A renewal cannot bring an expired login back.
    expect((await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew`, creds.token)).status).toBe(409);

    // max_session (10 min) after expiry: the sweep ends the session and drops the role.
    await expiredAgo(b, creds, 601);
    const ended = await sweep(b.deps);
    expect(ended).toMatchObject({ failed: 0, errors: [] });
    expect(ended.revoked).toBeGreaterThanOrEqual(1);
    // The pool hears its idle connection end (57P01), and a new one is refused.
    for (const until = Date.now() + 10_000; errors.length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
    expect(errors).toEqual([expect.objectContaining({ code: '57P01' })]);
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    expect(await roleExists(b, creds.user)).toBe(false);
    expect((await b.deps.store.leases.get(creds.lease_id))!.state).toBe('revoked');
    expect((await auditOf(b, creds.lease_id)).at(-1)).toEqual({
      action: 'lease.revoke',
      detail: expect.objectContaining({ reason: 'max_session', terminated_sessions: 1, drained: true }),
    });
    await pool.end().catch(() => {});
  });

  it('overlapping sweeps never drop a draining role with a session; the first sweep after its last session drops it', async () => {
    const creds = await mint(b, '?ttl=30');
    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    await expiredAgo(b, creds, 120);

    const runs = await Promise.all([sweep(b.deps, { batchSize: 1 }), sweep(b.deps, { batchSize: 1 }), sweep(b.deps)]);
    for (const r of runs) expect(r).toMatchObject({ failed: 0, errors: [] });
    expect(await roleExists(b, creds.user)).toBe(true);
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(creds.user);
    expect((await b.deps.store.leases.get(creds.lease_id))!.state).toBe('draining');
    expect((await auditOf(b, creds.lease_id)).map((a) => a.action)).toEqual(['lease.drain']);

    await client.end();
    await untilNoSessions(b, creds.user);
    const result = await sweep(b.deps);
    expect(result).toMatchObject({ failed: 0, errors: [] });
    expect(await roleExists(b, creds.user)).toBe(false);
    expect((await b.deps.store.leases.get(creds.lease_id))!.state).toBe('revoked');
    expect((await auditOf(b, creds.lease_id)).at(-1)).toEqual({
      action: 'lease.revoke',
      detail: expect.objectContaining({ reason: 'sweep', terminated_sessions: 0, drained: true }),
    });
  });

  it('a revoke still ends a draining lease at once, sessions included', async () => {
    const creds = await mint(b, '?ttl=30');
    const { client, ended } = await drainingWithSession(b, creds);

    const res = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ state: 'revoked' });
    expect(await ended).toMatchObject({ code: '57P01' });
    await client.end().catch(() => {});
    expect(await roleExists(b, creds.user)).toBe(false);
    expect(await sessionsOf(b, creds.user)).toBe(0);
    expect((await auditOf(b, creds.lease_id)).at(-1)).toEqual({
      action: 'lease.revoke',
      detail: expect.objectContaining({ reason: 'request', terminated_sessions: 1, drained: true }),
    });
  });

  it('an expired lease without sessions is dropped by the first sweep; max_session over 24h is refused', async () => {
    const creds = await mint(b, '?ttl=30');
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    await untilNoSessions(b, creds.user);
    await expiredAgo(b, creds, 120);
    await sweep(b.deps);
    expect(await roleExists(b, creds.user)).toBe(false);
    expect((await auditOf(b, creds.lease_id)).map((a) => [a.action, a.detail.reason, a.detail.terminated_sessions])).toEqual([
      ['lease.revoke', 'sweep', 0],
    ]);

    const tooLong = await b.admin('PUT', '/api/v1/databases/main/roles/readonly', { member_of: [groupsOf(b).ro], max_session: '25h' });
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ code: 'invalid_request', field: 'max_session' });
    const role = await (await b.admin('GET', '/api/v1/databases/main/roles/readonly')).json();
    expect(role.max_session).toBe(600);
  });

  it('the orphan sweep leaves an untracked expired role alone while it has a session, and drops it after', async () => {
    const name = `pgm_prod_api_orphan${Math.random().toString(36).slice(2, 8)}`;
    await asBroker(b, (c) =>
      c.query(`CREATE ROLE "${name}" LOGIN PASSWORD 'orphan-pw' VALID UNTIL '2999-01-01' IN ROLE "${groupsOf(b).ro}"`),
    );
    const client = new pg.Client({ host: b.pg.host, port: b.pg.port, database: b.targetDb, user: name, password: 'orphan-pw' });
    await client.connect();
    // Expired two minutes ago: past the sweep's grace, well within the 24 hours an orphan's sessions are given.
    const expired = new Date(Date.now() - 120_000).toISOString();
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${name}" VALID UNTIL '${expired}'`));
    await sweep(b.deps);
    expect(await roleExists(b, name)).toBe(true);
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(name);
    await client.end();
    await untilNoSessions(b, name);
    expect((await sweep(b.deps)).orphansDropped).toBeGreaterThanOrEqual(1);
    expect(await roleExists(b, name)).toBe(false);

    // Expired more than 24 hours ago: its sessions are ended with it.
    const old = `${name}_old`;
    await asBroker(b, (c) =>
      c.query(`CREATE ROLE "${old}" LOGIN PASSWORD 'orphan-pw' VALID UNTIL '2999-01-01' IN ROLE "${groupsOf(b).ro}"`),
    );
    const stale = new pg.Client({ host: b.pg.host, port: b.pg.port, database: b.targetDb, user: old, password: 'orphan-pw' });
    const ended = new Promise<{ code?: string }>((resolve) => stale.on('error', (err) => resolve(err as { code?: string })));
    await stale.connect();
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${old}" VALID UNTIL '2000-01-01T00:00:00Z'`));
    await sweep(b.deps);
    expect(await ended).toMatchObject({ code: '57P01' });
    await stale.end().catch(() => {});
    expect(await roleExists(b, old)).toBe(false);
  });

  it("removing the database with force=true ends a draining lease's sessions at once", async () => {
    await b.setupDefault('second');
    const res = await fetch(`${b.url}/api/v1/databases/second/credentials/k8s?ttl=30`, {
      headers: { authorization: `Bearer ${await workloadToken(b)}` },
    });
    expect(res.status).toBe(200);
    const creds = await res.json();
    const { client, ended } = await drainingWithSession(b, creds);

    // A draining lease is live: removal without force is refused, with force it is revoked first.
    expect((await b.admin('DELETE', '/api/v1/databases/second')).status).toBe(409);
    expect((await b.admin('DELETE', '/api/v1/databases/second?force=true')).status).toBe(204);
    expect(await ended).toMatchObject({ code: '57P01' });
    await client.end().catch(() => {});
    expect(await roleExists(b, creds.user)).toBe(false);
    expect((await auditOf(b, creds.lease_id)).at(-1)).toEqual({
      action: 'lease.revoke',
      detail: expect.objectContaining({ reason: 'database.delete', terminated_sessions: 1, drained: true }),
    });
  });
});
