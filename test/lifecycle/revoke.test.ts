import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REVOKE_ATTEMPTS } from '../../lib/leases/retry.js';
import { sweep } from '../../lib/leases/sweep.js';
import { groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { createDatabase, loginAs, withSuperuser } from '../support/postgres.js';
import { call, mint, roleExists, workloadToken } from './helpers.js';

describe.each(['pg18', 'pg15'] as const)('revoking leases on %s', (serverName) => {
  let b: TestBroker;
  let groups: { ro: string; rw: string };
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName, env: { PGMINT_SWEEP_GRACE: '0' } });
    await b.setupDefault('main', { allowed_roles: ['readonly', 'readwrite'] });
    groups = groupsOf(b);
    // Lets read/write lease users create tables, as a migration role would.
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`GRANT CREATE ON SCHEMA app TO ${groups.rw}`));
  });
  afterAll(() => b?.close());

  it('drops a user that owns a table and a temp table, ends its open session, and keeps the table for the group', async () => {
    const creds = await mint(b, '?role=readwrite');
    const session = new pg.Client({ connectionString: creds.connection_uri });
    const sessionError = new Promise<{ code?: string }>((resolve) => session.on('error', (err) => resolve(err as { code?: string })));
    await session.connect();
    await session.query(`CREATE TABLE app.made_by_lease (n int); INSERT INTO app.made_by_lease VALUES (42)`);
    await session.query('CREATE TEMP TABLE scratch (n int)');

    const res = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    const body = await res.json();
    expect(body).toMatchObject({ id: creds.lease_id, state: 'revoked', revoke_attempts: 0 });
    expect(res.status).toBe(200);

    expect(await sessionError).toMatchObject({ code: '57P01' });
    await session.end().catch(() => {});
    expect(await roleExists(b, creds.user)).toBe(false);
    await expect(loginAs(b.pg, b.targetDb, creds.user, creds.password)).rejects.toMatchObject({ code: '28P01' });
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(
        `SELECT tableowner, (SELECT n FROM app.made_by_lease) AS n FROM pg_tables WHERE schemaname = 'app' AND tablename = 'made_by_lease'`,
      ),
    );
    expect(rows[0]).toEqual({ tableowner: groups.rw, n: 42 });
    // The broker's temporary grant went with the role: it still cannot use the groups' privileges.
    const reach = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(`SELECT pg_has_role($1, $2, 'USAGE') AS rw, pg_has_role($1, $3, 'USAGE') AS ro`, [b.brokerUser, groups.rw, groups.ro]),
    );
    if (b.pg.version >= 16) expect(reach.rows[0]).toEqual({ rw: false, ro: false });

    const audit = await b.deps.sql.query(
      `SELECT outcome, subject, detail FROM pgmint.audit_log WHERE action = 'lease.revoke' AND lease_id = $1`,
      [creds.lease_id],
    );
    expect(audit.rows).toEqual([
      {
        outcome: 'success',
        subject: 'system:serviceaccount:prod:api',
        detail: expect.objectContaining({ reason: 'request', already_gone: false }),
      },
    ]);
  });

  it("refuses another workload's token with 403 and changes nothing", async () => {
    const creds = await mint(b);
    const other = await workloadToken(b, { ns: 'batch', sa: 'report' });
    for (const [method, path] of [
      ['DELETE', `/api/v1/leases/${creds.lease_id}`],
      ['POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=2h`],
    ] as const) {
      const res = await call(b, method, path, other);
      expect(res.status).toBe(403);
      expect((await res.json()).code).toBe('not_allowed');
    }
    expect(await roleExists(b, creds.user)).toBe(true);
    expect(await b.deps.store.leases.get(creds.lease_id)).toMatchObject({
      state: 'active',
      expiresAt: new Date(creds.expires_at).toISOString(),
      renewedAt: null,
    });
    const denied = await b.deps.sql.query(
      `SELECT action FROM pgmint.audit_log WHERE outcome = 'denied' AND code = 'not_allowed' AND subject = 'system:serviceaccount:batch:report' ORDER BY id`,
    );
    expect(denied.rows.map((r) => r.action)).toEqual(['lease.revoke', 'lease.renew']);
    const garbage = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, 'not-a-token');
    expect(garbage.status).toBe(401);
    expect((await garbage.json()).code).toBe('invalid_token');
  });

  it("reads the lease once and the token's issuers once, and sends nothing outside its transaction while it is open", async () => {
    const creds = await mint(b);
    const sql = b.deps.sql;
    const { query, transaction } = sql;
    const seen: string[] = [];
    let open = 0;
    let outsideWhileOpen = 0;
    sql.query = ((text: string, params?: readonly unknown[]) => {
      if (open > 0) outsideWhileOpen++;
      seen.push(text);
      return query(text, params);
    }) as typeof query;
    sql.transaction = ((fn) =>
      transaction(async (tx) => {
        open++;
        try {
          return await fn({ query: (text, params) => (seen.push(text), tx.query(text, params)) });
        } finally {
          open--;
        }
      })) as typeof transaction;
    try {
      const res = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
      expect(await res.json()).toMatchObject({ id: creds.lease_id, state: 'revoked' });
    } finally {
      sql.query = query;
      sql.transaction = transaction;
    }
    const count = (pattern: RegExp) => seen.filter((text) => pattern.test(text)).length;
    expect(count(/^SELECT \* FROM pgmint\.leases WHERE id/)).toBe(1);
    expect(count(/FROM pgmint\.issuers WHERE database_id = \$1 AND kind = \$2 AND issuer = \$3/)).toBe(1);
    expect(count(/UPDATE pgmint\.leases/)).toBe(2); // asked to end (and locked), then revoked
    expect(outsideWhileOpen).toBe(0);
  });

  it('revokes cleanly a role already dropped by hand, and revoking twice is harmless', async () => {
    const creds = await mint(b);
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`DROP ROLE "${creds.user}"`));
    const first = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ state: 'revoked', revoke_attempts: 0, last_error: null });
    const second = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    expect(second.status).toBe(200);
    expect((await second.json()).state).toBe('revoked');
    const audit = await b.deps.sql.query(`SELECT detail FROM pgmint.audit_log WHERE action = 'lease.revoke' AND lease_id = $1`, [
      creds.lease_id,
    ]);
    expect(audit.rows).toEqual([{ detail: expect.objectContaining({ already_gone: true }) }]);
  });

  it('hands over objects the user created in another database of the cluster', async () => {
    const other = await createDatabase(b.pg, 'other');
    await withSuperuser(b.pg, other, (c) => c.query(`GRANT CREATE ON SCHEMA public TO ${groups.rw}`));
    const creds = await mint(b, '?role=readwrite');
    const client = new pg.Client({ host: b.pg.host, port: b.pg.port, database: other, user: creds.user, password: creds.password });
    await client.connect();
    await client.query('CREATE TABLE public.elsewhere (n int)');
    await client.end();

    const res = await b.admin('DELETE', `/api/v1/leases/${creds.lease_id}`);
    expect(res.status).toBe(200);
    expect(await roleExists(b, creds.user)).toBe(false);
    const { rows } = await withSuperuser(b.pg, other, (c) => c.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'elsewhere'`));
    expect(rows).toEqual([{ tableowner: groups.rw }]);
  });

  it('retries a revocation that keeps failing, then marks it irrevocable and shows it; an operator can finish it later', async () => {
    const locked = await createDatabase(b.pg, 'locked');
    const creds = await mint(b, '?role=readwrite');
    // An object in a database the broker may not connect to: DROP ROLE cannot succeed.
    await withSuperuser(b.pg, locked, async (c) => {
      await c.query(`CREATE TABLE kept (n int); ALTER TABLE kept OWNER TO "${creds.user}"`);
      await c.query(`REVOKE CONNECT ON DATABASE ${locked} FROM PUBLIC`);
    });
    const res = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ code: 'target_unavailable', lease_id: creds.lease_id, revoke_attempts: 1 });
    let lease = (await b.deps.store.leases.get(creds.lease_id))!;
    expect(lease).toMatchObject({ state: 'active', revokeAttempts: 1 });
    expect(lease.lastError).toContain(locked);
    expect(Date.parse(lease.nextAttemptAt!)).toBeGreaterThan(Date.now());

    for (let attempt = 2; attempt <= MAX_REVOKE_ATTEMPTS; attempt++) {
      // Skip the backoff wait rather than sleep through it.
      await b.deps.sql.query('UPDATE pgmint.leases SET next_attempt_at = now() WHERE id = $1', [creds.lease_id]);
      const result = await sweep(b.deps);
      expect(result.failed).toBeGreaterThanOrEqual(1);
    }
    lease = (await b.deps.store.leases.get(creds.lease_id))!;
    expect(lease).toMatchObject({ state: 'irrevocable', revokeAttempts: MAX_REVOKE_ATTEMPTS });
    expect(await roleExists(b, creds.user)).toBe(true);

    const health = await (await b.admin('GET', '/api/v1/databases/main/health')).json();
    expect(health.leases.irrevocable).toBe(1);
    expect(health.status).toBe('degraded');
    const listed = await (await b.admin('GET', '/api/v1/databases/main/leases?state=irrevocable')).json();
    expect(listed.leases.map((l: { id: string }) => l.id)).toEqual([creds.lease_id]);
    expect(listed.leases[0].last_error).toContain(locked);
    // The sweeper leaves it alone; it is tracked, not an orphan.
    await sweep(b.deps);
    expect(await roleExists(b, creds.user)).toBe(true);

    await withSuperuser(b.pg, locked, (c) => c.query(`GRANT CONNECT ON DATABASE ${locked} TO ${b.brokerUser}`));
    const again = await b.admin('DELETE', `/api/v1/leases/${creds.lease_id}`);
    expect(again.status).toBe(200);
    expect((await again.json()).state).toBe('revoked');
    expect(await roleExists(b, creds.user)).toBe(false);
    const errors = await b.deps.sql.query(
      `SELECT code FROM pgmint.audit_log WHERE action = 'lease.revoke' AND lease_id = $1 AND outcome = 'error' ORDER BY id`,
      [creds.lease_id],
    );
    expect(errors.rows.at(-1)).toEqual({ code: 'irrevocable' });
    expect(errors.rows).toHaveLength(MAX_REVOKE_ATTEMPTS + 0);
  });

  it('runs custom revocation and renew statements in place of the defaults', async () => {
    await b.admin('PUT', '/api/v1/databases/main/roles/custom', {
      member_of: [groups.ro],
      revocation_statements: 'ALTER ROLE {{name}} NOLOGIN; DROP ROLE {{name}};',
      renew_statements: `ALTER ROLE {{name}} VALID UNTIL '{{expiration}}' CONNECTION LIMIT 3;`,
    });
    const issuers = await b.deps.store.issuers.list('main');
    await b.deps.sql.query("UPDATE pgmint.issuers SET allowed_roles = '{readonly,readwrite,custom}' WHERE id = $1", [issuers[0]!.id]);
    const creds = await mint(b, '?role=custom&ttl=10m');
    const renewed = await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=20m`, creds.token);
    expect(renewed.status).toBe(200);
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolconnlimit FROM pg_roles WHERE rolname = $1', [creds.user]),
    );
    expect(rows[0].rolconnlimit).toBe(3);
    const res = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    expect(res.status).toBe(200);
    expect(await roleExists(b, creds.user)).toBe(false);
  });
});
