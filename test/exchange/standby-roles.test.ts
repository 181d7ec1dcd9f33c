import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/leases/sweep.js';
import type { Target } from '../../lib/targets/connections.js';
import { HORIZON_MS } from '../../lib/targets/standby-roles.js';
import { groupsOf, startTestBroker, statementsDuring, type TestBroker } from '../support/broker.js';
import { withSuperuser } from '../support/postgres.js';
import { call, mint, roleExists, workloadToken } from '../lifecycle/helpers.js';

interface StandbyRow {
  oid: number;
  name: string;
  login: boolean;
  valid_until: Date;
  groups: string[];
  config: string[] | null;
}

/** Each file's broker registers its target with a prefix of its own: role names are cluster-wide. */
const PREFIX = 'sbt';

async function standbysOnTarget(b: TestBroker): Promise<StandbyRow[]> {
  const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
    c.query<StandbyRow>(
      `SELECT r.oid::int AS oid, r.rolname::text AS name, r.rolcanlogin AS login, r.rolvaliduntil AS valid_until, r.rolconfig AS config,
              array(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid) AS groups
         FROM pg_roles r WHERE starts_with(r.rolname, $1) ORDER BY 1`,
      [`${PREFIX}_standby_`],
    ),
  );
  return rows;
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.each(['pg18', 'pg15'] as const)('standby roles on %s', (serverName) => {
  let b: TestBroker;
  let target: Target;
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName, env: { PGMINT_STANDBY_ROLES: '2', PGMINT_SWEEP_GRACE: '0' } });
    await b.setupDefault('main', {}, { lease_prefix: PREFIX });
    target = await b.deps.targets.open((await b.deps.store.databases.get('main'))!);
  });
  afterAll(() => b?.close());

  const ready = (n: number) => until(`${n} standbys`, async () => target.standbys.ready === n && (await standbysOnTarget(b)).length === n);

  it('makes standbys after an exchange: NOLOGIN, in the role’s groups and settings, valid for a while only', async () => {
    const before = Date.now();
    await mint(b);
    await ready(2);
    const standbys = await standbysOnTarget(b);
    for (const s of standbys) {
      expect(s.login).toBe(false);
      expect(s.groups).toEqual([groupsOf(b).ro]);
      expect(s.config).toEqual(['default_transaction_read_only=on']);
      expect(s.valid_until.getTime()).toBeGreaterThan(before + HORIZON_MS - 60_000);
      expect(s.valid_until.getTime()).toBeLessThanOrEqual(Date.now() + HORIZON_MS + 1000);
    }
  });

  it('answers an exchange by claiming a standby: renamed, LOGIN, VALID UNTIL the lease’s expiry, and a real client logs in', async () => {
    await ready(2);
    const standbys = await standbysOnTarget(b);
    let creds!: Awaited<ReturnType<typeof mint>>;
    const seen = await statementsDuring(b, async () => {
      creds = await mint(b);
    });
    expect(creds.user.startsWith(`${PREFIX}_prod_api_`)).toBe(true);
    // The login is one of the standbys, renamed: the same role (oid), not a new one.
    const { rows: login } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT oid::int AS oid FROM pg_roles WHERE rolname = $1', [creds.user]),
    );
    expect(standbys.map((s) => s.oid)).toContain(login[0].oid);
    // Its lease recorded in one statement once the role was claimed.
    expect(seen.filter((s) => /pgmint\.insert_\w+\(/.test(s)).map((s) => s.match(/insert_\w+/)![0])).toEqual(['insert_lease_within_cap']);

    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    try {
      expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(creds.user);
      expect((await client.query('SELECT count(*)::int AS n FROM app.orders')).rows[0].n).toBe(2);
      await expect(client.query(`INSERT INTO app.orders (item) VALUES ('x')`)).rejects.toThrow(/read-only transaction/);
    } finally {
      await client.end();
    }
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolcanlogin, rolvaliduntil FROM pg_roles WHERE rolname = $1', [creds.user]),
    );
    expect(rows[0].rolcanlogin).toBe(true);
    expect((rows[0].rolvaliduntil as Date).toISOString()).toBe(new Date(creds.expires_at).toISOString());
    // The one taken is replaced once the target is idle.
    await ready(2);
  });

  it('renews and revokes a claimed login like any other', async () => {
    await ready(2);
    const creds = await mint(b, '?ttl=10m');
    const renewed = await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=30m`, creds.token);
    expect(renewed.status).toBe(200);
    const { expires_at } = (await renewed.json()) as { expires_at: string };
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [creds.user]),
    );
    expect((rows[0].rolvaliduntil as Date).toISOString()).toBe(new Date(expires_at).toISOString());

    expect((await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token)).status).toBe(200);
    expect(await roleExists(b, creds.user)).toBe(false);
    const client = new pg.Client({ connectionString: creds.connection_uri });
    await expect(client.connect()).rejects.toThrow();
  });

  it('creates the login itself when a standby was dropped behind its back, and the login works', async () => {
    await ready(2);
    await withSuperuser(b.pg, b.targetDb, async (c) => {
      for (const s of await standbysOnTarget(b)) await c.query(`DROP ROLE "${s.name}"`);
    });
    const creds = await mint(b);
    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(creds.user);
    await client.end();
  });

  it('makes none while the target has work queued, and makes them once it is idle', async () => {
    await ready(2);
    let release!: () => void;
    const busy = target.limiter.run(() => new Promise<void>((r) => (release = r)));
    // Two exchanges take both standbys while a turn is held (the limiter has slots to spare).
    await mint(b);
    await mint(b);
    expect(target.standbys.ready).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(await standbysOnTarget(b)).toEqual([]);
    release();
    await busy;
    await ready(2);
  });

  it('leaves nothing the orphan sweep cannot find: a standby whose VALID UNTIL passed is dropped and audited', async () => {
    await ready(2);
    // What a crashed or frozen broker leaves: standbys no lease tracks, whose VALID UNTIL then passes.
    const [stale] = await standbysOnTarget(b);
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${stale!.name}" VALID UNTIL '2000-01-01'`));
    await sweep(b.deps);
    expect(await roleExists(b, stale!.name)).toBe(false);
    const { rows } = await b.deps.sql.query(`SELECT outcome FROM pgmint.audit_log WHERE action = 'orphan.drop' AND username = $1`, [
      stale!.name,
    ]);
    expect(rows).toEqual([{ outcome: 'success' }]);
  });

  it('drops the standbys still waiting when the broker closes', async () => {
    const other = await startTestBroker({ server: serverName, env: { PGMINT_STANDBY_ROLES: '1' } });
    try {
      await other.setupDefault('main');
      const token = await workloadToken(other);
      const res = await fetch(`${other.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      const otherTarget = await other.deps.targets.open((await other.deps.store.databases.get('main'))!);
      await until('a standby', async () => otherTarget.standbys.ready === 1);
      const count = () =>
        withSuperuser(
          other.pg,
          other.targetDb,
          async (c) =>
            (
              await c.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid
                WHERE starts_with(r.rolname, 'pgm_standby_') AND m.roleid = $1::regrole`,
                [groupsOf(other).ro],
              )
            ).rows[0]!.n,
        );
      expect(await count()).toBe(1);
      await other.close();
      expect(await count()).toBe(0);
    } catch (err) {
      await other.close().catch(() => {});
      throw err;
    }
  });
  it('leaves none behind when it closes while one is being made', async () => {
    const other = await startTestBroker({ server: serverName, env: { PGMINT_STANDBY_ROLES: '1' } });
    let closed = false;
    try {
      await other.setupDefault('main');
      const token = await workloadToken(other);
      const res = await fetch(`${other.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      // The standby replacing nothing (none was ready) is being made as the answer leaves: close at once.
      await other.close();
      closed = true;
      const { rows } = await withSuperuser(other.pg, other.targetDb, (c) =>
        c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid
            WHERE starts_with(r.rolname, 'pgm_standby_') AND m.roleid = $1::regrole`,
          [groupsOf(other).ro],
        ),
      );
      expect(rows[0]!.n).toBe(0);
    } finally {
      if (!closed) await other.close().catch(() => {});
    }
  });
});
