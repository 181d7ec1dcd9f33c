/**
 * The target bootstrap on real PostgreSQL 18 and 15: the broker role can mint
 * users but not read data, minted read-only users cannot write, tenant-scoped
 * users see only their schema, and role definitions keep the write and TTL
 * rules — all checked through the HTTP API and real client logins.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapSql, serverVersionNum } from '../../lib/sql/bootstrap-sql.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { createDatabase, withSuperuser } from '../support/postgres.js';

async function connectAs(b: TestBroker, database: string, user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: b.pg.host, port: b.pg.port, database, user, password });
  await client.connect();
  return client;
}

async function asClient<T>(client: pg.Client, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

describe.each(['pg18', 'pg15'] as const)('target bootstrap on %s', (serverName) => {
  let b: TestBroker;
  let database: string;
  const sfx = randomBytes(3).toString('hex');
  const broker = `boot_broker_${sfx}`;
  const brokerPassword = randomBytes(18).toString('base64url');
  const owner = `boot_owner_${sfx}`;
  const groups = {
    app: { ro: `boot_app_ro_${sfx}`, rw: `boot_app_rw_${sfx}` },
    t_a: { ro: `boot_ta_ro_${sfx}`, rw: `boot_ta_rw_${sfx}` },
    t_b: { ro: `boot_tb_ro_${sfx}`, rw: `boot_tb_rw_${sfx}` },
  };

  beforeAll(async () => {
    b = await startTestBroker({ server: serverName });
    database = await createDatabase(b.pg, 'boot');
    await withSuperuser(b.pg, database, async (c) => {
      await c.query(`CREATE ROLE ${owner} NOLOGIN`);
      for (const [schema, g] of Object.entries(groups)) {
        await c.query(
          bootstrapSql({
            database,
            schema,
            brokerRole: broker,
            brokerPassword,
            readonlyGroup: g.ro,
            readwriteGroup: g.rw,
            schemaOwner: owner,
            createBroker: schema === 'app',
            serverVersion: b.pg.version,
          }),
        );
      }
      // Tables the owner creates after the bootstrap: default privileges must cover them.
      await c.query(`SET ROLE ${owner}`);
      await c.query(`CREATE TABLE app.items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL)`);
      await c.query(`INSERT INTO app.items (name) VALUES ('one'), ('two')`);
      await c.query(`CREATE TABLE t_a.things (v text); INSERT INTO t_a.things VALUES ('a')`);
      await c.query(`CREATE TABLE t_b.things (v text); INSERT INTO t_b.things VALUES ('b')`);
      await c.query('RESET ROLE');
    });
    const steps: Array<[string, string, unknown]> = [
      [
        'POST',
        '/api/v1/databases',
        { id: 'boot', host: b.pg.host, port: b.pg.port, database, admin_user: broker, admin_password: brokerPassword, sslmode: 'disable' },
      ],
      ['PUT', '/api/v1/databases/boot/roles/readonly', { member_of: [groups.app.ro] }],
      ['PUT', '/api/v1/databases/boot/roles/readwrite', { member_of: [groups.app.rw], allow_write: true }],
      ['PUT', '/api/v1/databases/boot/roles/tenant-a', { member_of: [groups.t_a.ro], search_path: ['t_a'] }],
      ['PUT', '/api/v1/databases/boot/roles/tenant-b', { member_of: [groups.t_b.ro], search_path: ['t_b'] }],
      [
        'POST',
        '/api/v1/databases/boot/issuers',
        {
          issuer: b.issuer.url,
          allowed_service_accounts: ['prod/*'],
          default_role: 'readonly',
          allowed_roles: ['readonly', 'readwrite', 'tenant-a', 'tenant-b'],
        },
      ],
    ];
    for (const [method, path, body] of steps) {
      const res = await b.admin(method, path, body);
      expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
    }
  });
  afterAll(() => b?.close());

  const mint = async (query = '') => {
    const token = await b.issuer.mint({
      namespace: 'prod',
      serviceAccount: 'api',
      podName: `api-${randomBytes(3).toString('hex')}`,
      podUid: crypto.randomUUID(),
    });
    return fetch(`${b.url}/api/v1/databases/boot/credentials/k8s${query}`, { headers: { authorization: `Bearer ${token}` } });
  };
  const minted = async (query = '') => {
    const res = await mint(query);
    expect(res.status).toBe(200);
    return (await res.json()) as { user: string; password: string; expires_at: string; role: string };
  };

  it('gives the broker CREATEROLE and nothing more (16+: ADMIN on the groups without INHERIT or SET)', async () => {
    await withSuperuser(b.pg, database, async (c) => {
      const { rows } = await c.query(
        'SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = $1',
        [broker],
      );
      expect(rows[0]).toEqual({
        rolsuper: false,
        rolcreaterole: true,
        rolcreatedb: false,
        rolreplication: false,
        rolbypassrls: false,
        rolinherit: false,
      });
      if (serverVersionNum(b.pg.version) >= 160000) {
        const grants = await c.query(
          `SELECT g.rolname AS grp, m.admin_option, m.inherit_option, m.set_option FROM pg_auth_members m
           JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1 ORDER BY 1`,
          [broker],
        );
        expect(grants.rows).toHaveLength(6);
        for (const row of grants.rows) expect(row).toMatchObject({ admin_option: true, inherit_option: false, set_option: false });
      } else {
        const grants = await c.query(
          'SELECT count(*)::int AS n FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1',
          [broker],
        );
        expect(grants.rows[0].n).toBe(0);
      }
    });
  });

  it('the broker role itself cannot read application tables or become a group', async () => {
    await asClient(await connectAs(b, database, broker, brokerPassword), async (c) => {
      for (const table of ['app.items', 't_a.things', 't_b.things']) {
        await expect(c.query(`SELECT * FROM ${table}`)).rejects.toMatchObject({ code: '42501' });
      }
      await expect(c.query(`INSERT INTO app.items (name) VALUES ('x')`)).rejects.toMatchObject({ code: '42501' });
      await expect(c.query(`SET ROLE ${groups.app.ro}`)).rejects.toMatchObject({ code: '42501' });
    });
  });

  it('minted read-only users read tables created after the bootstrap and cannot write, even in a read-write transaction', async () => {
    const creds = await minted();
    expect(creds.role).toBe('readonly');
    await asClient(await connectAs(b, database, creds.user, creds.password), async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM app.items')).rows[0].n).toBe(2);
      await expect(c.query(`INSERT INTO app.items (name) VALUES ('x')`)).rejects.toMatchObject({ code: '25006' });
      await c.query('BEGIN READ WRITE');
      await expect(c.query(`INSERT INTO app.items (name) VALUES ('x')`)).rejects.toMatchObject({ code: '42501' });
      await c.query('ROLLBACK');
      await c.query('BEGIN READ WRITE');
      await expect(c.query('DELETE FROM app.items')).rejects.toMatchObject({ code: '42501' });
      await c.query('ROLLBACK');
    });
  });

  it('minted read/write users write rows (new tables and sequences included) but cannot create tables', async () => {
    const creds = await minted('?role=readwrite');
    await asClient(await connectAs(b, database, creds.user, creds.password), async (c) => {
      await c.query(`INSERT INTO app.items (name) VALUES ('three')`);
      await c.query(`UPDATE app.items SET name = 'uno' WHERE name = 'one'`);
      await expect(c.query('CREATE TABLE app.mine (x int)')).rejects.toMatchObject({ code: '42501' });
      await c.query(`DELETE FROM app.items WHERE name = 'three'`);
    });
  });

  it('tenant-scoped users see their schema through search_path and cannot read another tenant', async () => {
    const a = await minted('?role=tenant-a');
    await asClient(await connectAs(b, database, a.user, a.password), async (c) => {
      expect((await c.query('SHOW search_path')).rows[0].search_path).toBe('t_a');
      expect((await c.query('SELECT v FROM things')).rows).toEqual([{ v: 'a' }]);
      await expect(c.query('SELECT v FROM t_b.things')).rejects.toMatchObject({ code: '42501' });
      await expect(c.query('SELECT * FROM app.items')).rejects.toMatchObject({ code: '42501' });
    });
    const other = await minted('?role=tenant-b');
    await asClient(await connectAs(b, database, other.user, other.password), async (c) => {
      expect((await c.query('SELECT v FROM things')).rows).toEqual([{ v: 'b' }]);
      await expect(c.query('SELECT v FROM t_a.things')).rejects.toMatchObject({ code: '42501' });
    });
  });

  it('write access needs allow_write; TTLs default to 30 min (read/write) and 1 h (read-only); 8 h is the ceiling', async () => {
    const put = async (name: string, body: unknown) => b.admin('PUT', `/api/v1/databases/boot/roles/${name}`, body);

    const refused = await put('writer', { member_of: [groups.app.rw], read_only: false });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: 'invalid_request', field: 'allow_write' });
    expect((await b.admin('GET', '/api/v1/databases/boot/roles/writer')).status).toBe(404);

    const writer = await put('writer', { member_of: [groups.app.rw], allow_write: true });
    expect(writer.status).toBe(200);
    expect(await writer.json()).toMatchObject({ read_only: false, allow_write: true, default_ttl: 1800, max_ttl: 28800 });
    const reader = await put('reader', { member_of: [groups.app.ro] });
    expect(await reader.json()).toMatchObject({ read_only: true, allow_write: false, default_ttl: 3600, max_ttl: 28800 });

    for (const body of [
      { member_of: [groups.app.ro], max_ttl: '9h' },
      { member_of: [groups.app.ro], default_ttl: '8h1s' },
      { member_of: [groups.app.ro], default_ttl: '2h', max_ttl: '1h' },
    ]) {
      const res = await put('toolong', body);
      expect(res.status).toBe(400);
      expect((await res.json()).code).toBe('invalid_request');
    }

    const rw = await minted('?role=readwrite');
    const rwTtl = (Date.parse(rw.expires_at) - Date.now()) / 1000;
    expect(rwTtl).toBeGreaterThan(1700);
    // VALID UNTIL is rounded up to the whole second.
    expect(rwTtl).toBeLessThanOrEqual(1801);
    const ro = await minted();
    const roTtl = (Date.parse(ro.expires_at) - Date.now()) / 1000;
    expect(roTtl).toBeGreaterThan(3500);
    expect(roTtl).toBeLessThanOrEqual(3601);

    const over = await mint('?ttl=8h1s');
    expect(over.status).toBe(400);
    expect(await over.json()).toMatchObject({ code: 'invalid_request', field: 'ttl' });
    const longest = await minted('?ttl=8h');
    expect(Date.parse(longest.expires_at) - Date.now()).toBeLessThanOrEqual(8 * 3600 * 1000 + 1000);
  });
});
