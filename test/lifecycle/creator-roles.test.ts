/**
 * Creator roles on PostgreSQL 18 (lib/targets/creators.ts, lib/sql/creator-names.ts): lease roles are
 * created, renewed and dropped by NOLOGIN CREATEROLE roles of the broker's,
 * through SECURITY DEFINER functions only the broker may call — and a target
 * without the `pgmint_roles` schema keeps working with the broker as creator.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/leases/sweep.js';
import { CREATOR_SCHEMA, creatorIndex, creatorName } from '../../lib/sql/creator-names.js';
import { expireLeaseIn, groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import { asBroker, call, exchange, mint, roleExists, workloadToken } from './helpers.js';

const CREATORS = 4;

/** Who holds ADMIN OPTION on `role`, and whether the broker holds any SET or INHERIT on a creator. */
async function adminsOf(b: TestBroker, role: string): Promise<string[]> {
  const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
    c.query(
      `SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member WHERE a.roleid = $1::regrole AND a.admin_option ORDER BY 1`,
      [role],
    ),
  );
  return rows.map((r) => r.rolname);
}

describe('creator roles on pg18', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_SWEEP_GRACE: '0', PGMINT_CREATOR_ROLES: String(CREATORS) } });
    await b.setupDefault('main', { allowed_roles: ['readonly', 'readwrite'] });
  });
  afterAll(() => b?.close());

  it('creates each lease role through the creator its name picks, and the login works', async () => {
    const creds = await mint(b);
    expect(await adminsOf(b, creds.user)).toEqual([creatorName(b.brokerUser, creatorIndex(creds.user, CREATORS))]);
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    const health = await b.admin('GET', '/api/v1/databases/main/health');
    expect(await health.json()).toMatchObject({ lease_roles_created_by: 'creators' });
  });

  it('leaves the broker no SET or INHERIT on its creators, and the creators nothing but CREATEROLE and ADMIN on the groups', async () => {
    for (let i = 0; i < 12; i++) await mint(b);
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(
        `SELECT r.rolname, r.rolcanlogin, r.rolcreaterole, r.rolinherit, r.rolsuper, r.rolcreatedb, r.rolbypassrls,
           (SELECT bool_or(a.set_option OR a.inherit_option) FROM pg_auth_members a WHERE a.roleid = r.oid AND a.member = $1::regrole) AS broker_can_use,
           (SELECT array_agg(g.rolname::text ORDER BY g.rolname) FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid
             WHERE a.member = r.oid AND NOT starts_with(g.rolname, 'pgm_')) AS holds,
           (SELECT bool_or(a.set_option OR a.inherit_option) FROM pg_auth_members a WHERE a.member = r.oid) AS uses_anything
         FROM pg_roles r WHERE r.rolname = ANY($2::text[]) ORDER BY 1`,
        [b.brokerUser, Array.from({ length: CREATORS }, (_, i) => creatorName(b.brokerUser, i))],
      ),
    );
    expect(rows.length).toBeGreaterThan(0);
    const { ro } = groupsOf(b);
    for (const row of rows) {
      expect(row).toMatchObject({
        rolcanlogin: false,
        rolcreaterole: true,
        rolinherit: false,
        rolsuper: false,
        rolcreatedb: false,
        rolbypassrls: false,
      });
      expect(row.broker_can_use).toBe(false);
      expect(row.uses_anything).toBe(false);
      expect(row.holds).toEqual([ro]);
    }
  });

  it('lets only the broker call the creator functions: a lease user gets 42501', async () => {
    const creds = await mint(b);
    const creator = (await adminsOf(b, creds.user))[0]!;
    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    try {
      await expect(client.query(`SELECT ${CREATOR_SCHEMA}."${creator}"('CREATE ROLE evil SUPERUSER')`)).rejects.toMatchObject({
        code: '42501',
      });
      await expect(client.query(`SELECT ${CREATOR_SCHEMA}.administer('x', 'DROP ROLE x')`)).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.end();
    }
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(
        `SELECT p.proname, p.prosecdef, p.proowner::regrole::text AS owner,
           has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec, has_function_privilege($1, p.oid, 'EXECUTE') AS broker_exec
         FROM pg_proc p WHERE p.pronamespace = $2::regnamespace ORDER BY 1`,
        [b.brokerUser, CREATOR_SCHEMA],
      ),
    );
    expect(rows.find((r) => r.proname === creator)).toEqual({
      proname: creator,
      prosecdef: true,
      owner: creator,
      public_exec: false,
      broker_exec: true,
    });
    expect(rows.find((r) => r.proname === 'administer')).toMatchObject({
      prosecdef: false,
      owner: b.brokerUser,
      public_exec: false,
      broker_exec: true,
    });
  });

  it('renews and revokes through the creator: VALID UNTIL moves, then Postgres refuses the login', async () => {
    const creds = await mint(b, '?ttl=10m');
    const renewed = await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=50m`, creds.token);
    expect(renewed.status).toBe(200);
    const { expires_at } = (await renewed.json()) as { expires_at: string };
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [creds.user]),
    );
    expect(new Date(rows[0].rolvaliduntil).toISOString()).toBe(expires_at);

    const revoked = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    expect(revoked.status).toBe(200);
    expect(await roleExists(b, creds.user)).toBe(false);
    await expect(loginAs(b.pg, b.targetDb, creds.user, creds.password)).rejects.toMatchObject({ code: '28P01' });
  });

  it('revokes a creator-made user that owns a table, handing the table to its group', async () => {
    const { rw } = groupsOf(b);
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`GRANT CREATE ON SCHEMA app TO ${rw}`));
    const creds = await mint(b, '?role=readwrite');
    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    await client.query('CREATE TABLE app.by_creator_lease (n int)');
    await client.end();
    const res = await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token);
    expect(res.status).toBe(200);
    expect(await roleExists(b, creds.user)).toBe(false);
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'by_creator_lease'`),
    );
    expect(rows).toEqual([{ tableowner: rw }]);
    // The temporary grants were the creator's to make and take back; the broker keeps none.
    const reach = await withSuperuser(b.pg, b.targetDb, (c) => c.query(`SELECT pg_has_role($1, $2, 'USAGE') AS rw`, [b.brokerUser, rw]));
    expect(reach.rows[0]).toEqual({ rw: false });
  });

  it('sweeps expired creator-made users and drops creator-made orphans', async () => {
    const leases = await Promise.all(Array.from({ length: 6 }, () => mint(b, '?ttl=30s')));
    for (const l of leases) await expireLeaseIn(b, l, 1);
    await new Promise((r) => setTimeout(r, 2100));
    const result = await sweep(b.deps);
    expect(result.failed).toBe(0);
    for (const l of leases) expect(await roleExists(b, l.user)).toBe(false);

    // A crash after CREATE ROLE, before the lease was recorded: the role has a creator but no lease.
    const orphan = 'pgm_prod_api_orphan0creator';
    const creator = creatorName(b.brokerUser, creatorIndex(orphan, CREATORS));
    const { ro } = groupsOf(b);
    await asBroker(b, (c) =>
      c.query(`SELECT ${CREATOR_SCHEMA}."${creator}"($1)`, [`CREATE ROLE ${orphan} LOGIN VALID UNTIL '2000-01-01' IN ROLE ${ro}`]),
    );
    expect(await adminsOf(b, orphan)).toEqual([creator]);
    const swept = await sweep(b.deps);
    expect(swept.orphansDropped).toBeGreaterThanOrEqual(1);
    expect(await roleExists(b, orphan)).toBe(false);
  });

  it('gives a creator ADMIN OPTION on a group registered after it was provisioned', async () => {
    const late = `late_${b.brokerUser.slice(-8)}`;
    await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(
        `CREATE ROLE ${late} NOLOGIN; GRANT CONNECT ON DATABASE ${b.targetDb} TO ${late}; GRANT ${late} TO ${b.brokerUser} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`,
      ),
    );
    const put = await b.admin('PUT', '/api/v1/databases/main/roles/late', { member_of: [late] });
    expect(put.status).toBeLessThan(300);
    const issuer = await b.admin('POST', '/api/v1/databases/main/issuers', {
      issuer: b.issuer.url,
      allowed_service_accounts: ['late/*'],
      default_role: 'late',
    });
    expect(issuer.status).toBeLessThan(300);
    // Enough leases that every creator, all provisioned before, hands out the new group.
    const users: string[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await exchange(b, await workloadToken(b, { ns: 'late', sa: 'job' }));
      expect(res.status).toBe(200);
      users.push(((await res.json()) as { user: string }).user);
    }
    expect(new Set(users.map((u) => creatorIndex(u, CREATORS))).size).toBeGreaterThan(1);
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(`SELECT count(*)::int AS n FROM pg_auth_members a WHERE a.member = ANY($1::regrole[]) AND a.roleid = $2::regrole`, [
        users,
        late,
      ]),
    );
    expect(rows[0].n).toBe(users.length);
  });

  it('repairs creators whose function or group grant was removed behind its back', async () => {
    await mint(b);
    const { ro } = groupsOf(b);
    const names = Array.from({ length: CREATORS }, (_, i) => creatorName(b.brokerUser, i));
    await withSuperuser(b.pg, b.targetDb, async (c) => {
      const all = (await c.query('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [names])).rows.map((r) => r.rolname as string);
      expect(all.length).toBeGreaterThan(0);
      for (const creator of all) {
        await c.query(`DROP FUNCTION IF EXISTS ${CREATOR_SCHEMA}."${creator}"(text)`);
        await c.query(`REVOKE "${ro}" FROM "${creator}" GRANTED BY "${b.brokerUser}" CASCADE`);
      }
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM pg_auth_members WHERE roleid = $1::regrole AND member = ANY($2::regrole[])`,
        [ro, all],
      );
      expect(rows[0].n).toBe(0);
    });
    for (let i = 0; i < 8; i++) {
      const creds = await mint(b);
      expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    }
  });

  it('serves a burst on creators nobody has provisioned yet: concurrent provisioning is serialized, not failed', async () => {
    const fresh = await startTestBroker({ env: { PGMINT_CREATOR_ROLES: '3' } });
    try {
      await fresh.setupDefault('main');
      const statuses = await Promise.all(
        Array.from({ length: 24 }, async () => (await exchange(fresh, await workloadToken(fresh))).status),
      );
      expect(statuses).toEqual(Array(24).fill(200));
      const { rows } = await withSuperuser(fresh.pg, fresh.targetDb, (c) =>
        c.query(`SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = $1::regnamespace AND proname <> 'administer'`, [
          CREATOR_SCHEMA,
        ]),
      );
      expect(rows[0].n).toBe(3);
    } finally {
      await fresh.close();
    }
  });
});

describe('a pg18 target without the pgmint_roles schema', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_SWEEP_GRACE: '0' } });
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`DROP SCHEMA ${CREATOR_SCHEMA}`));
    await b.setupDefault('main');
  });
  afterAll(() => b?.close());

  it('has the broker create, renew and drop the lease roles itself', async () => {
    const creds = await mint(b, '?ttl=10m');
    expect(await adminsOf(b, creds.user)).toEqual([b.brokerUser]);
    expect(await (await b.admin('GET', '/api/v1/databases/main/health')).json()).toMatchObject({ lease_roles_created_by: 'broker' });
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    expect((await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=20m`, creds.token)).status).toBe(200);
    expect((await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token)).status).toBe(200);
    expect(await roleExists(b, creds.user)).toBe(false);
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT count(*)::int AS n FROM pg_roles WHERE starts_with(rolname, $1)', [`${b.brokerUser}_c`]),
    );
    expect(rows[0].n).toBe(0);
  });
});
