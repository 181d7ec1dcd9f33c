import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, statementsDuring, type TestBroker } from '../support/broker.js';
import { serverUrl, withSuperuser } from '../support/postgres.js';

describe('the lease cap under concurrent requests from one pod', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault('main', { max_leases_per_workload: 3 });
  });
  afterAll(() => b?.close());

  // A service account no other test file uses: role names are cluster-wide, and other files run alongside.
  const pod = { namespace: 'batch', serviceAccount: 'caprace', podName: 'crashloop', podUid: crypto.randomUUID() };
  const exchange = async () => {
    const token = await b.issuer.mint(pod);
    const res = await fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  };
  const podRoles = async () =>
    (
      await withSuperuser(b.pg, b.targetDb, (c) =>
        c.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'pgm\\_batch\\_caprace\\_%'"),
      )
    ).rows[0]!.n;

  it('serves exactly the cap when many requests arrive at once', async () => {
    const statuses = await Promise.all(Array.from({ length: 12 }, exchange));
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(9);
    const { rows } = await b.deps.sql.query("SELECT count(*)::int AS n FROM pgmint.leases WHERE state = 'active'");
    expect(rows[0]).toEqual({ n: 3 });
    // A role created for a lease the cap then refused is dropped before the 429 is sent.
    expect(await podRoles()).toBe(3);
  });

  it('checks the cap first for a pod it refused a moment ago, before any role is made', async () => {
    const seen = await statementsDuring(b, async () => {
      expect(await exchange()).toBe(429);
    });
    // The pending reservation, refused; never the recording of a lease whose role was created first.
    expect(seen.filter((s) => /pgmint\.insert_(pending_lease|lease_within_cap)\(/.test(s)).map((s) => s.match(/insert_\w+/)![0])).toEqual([
      'insert_pending_lease',
    ]);
    expect(await podRoles()).toBe(3);
  });

  it('makes a second writer wait for the first to commit before counting', async () => {
    const connect = async () => {
      const c = new pg.Client({ connectionString: serverUrl(b.pg, b.controlDb) });
      await c.connect();
      return c;
    };
    const [first, second] = await Promise.all([connect(), connect()]);
    const call = (c: pg.Client) =>
      c.query<{ ok: boolean }>(
        `SELECT pgmint.insert_pending_lease(gen_random_uuid(), 'main', 'readonly', 'pgm_race_' || md5(random()::text), NULL,
           'system:serviceaccount:prod:api', NULL, 'pod:race', NULL, NULL, now() + interval '1 hour', now() + interval '1 hour', 1) AS ok`,
      );
    try {
      await first.query('BEGIN');
      expect((await call(first)).rows[0]!.ok).toBe(true);
      // Without the lock the second call would count 0 (the first is uncommitted) and also insert.
      const pending = call(second);
      await new Promise((r) => setTimeout(r, 300));
      await first.query('COMMIT');
      expect((await pending).rows[0]!.ok).toBe(false);
    } finally {
      await first.end();
      await second.end();
    }
  });
});
