import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/leases/sweep.js';
import { groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { withSuperuser } from '../support/postgres.js';
import { asBroker, countRoles, mint, plantExpired, roleExists, untilNoSessions } from './helpers.js';

const expireNow = (b: TestBroker, leaseId: string) =>
  b.deps.sql.query(`UPDATE pgmint.leases SET expires_at = now() - interval '1 minute' WHERE id = $1`, [leaseId]);

describe.each(['pg18', 'pg15'] as const)('sweeping on %s', (serverName) => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName, env: { PGMINT_SWEEP_GRACE: '0' } });
    await b.setupDefault('main', { allowed_roles: ['readonly', 'readwrite'] });
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`GRANT CREATE ON SCHEMA app TO ${groupsOf(b).rw}`));
  });
  afterAll(() => b?.close());

  it('sweeps an expired lease whose user owns a table, handing the table to the group', async () => {
    const creds = await mint(b, '?role=readwrite');
    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    await client.query(`CREATE TABLE app.swept_${creds.user.slice(-10)} (n int)`);
    await client.end();
    // An expired role with a session would be left draining; this one has none left.
    await untilNoSessions(b, creds.user);
    await expireNow(b, creds.lease_id);

    const result = await sweep(b.deps);
    expect(result).toMatchObject({ revoked: 1, failed: 0, remaining: 0, errors: [] });
    expect(await roleExists(b, creds.user)).toBe(false);
    expect((await b.deps.store.leases.get(creds.lease_id))!.state).toBe('revoked');
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query(`SELECT tableowner FROM pg_tables WHERE tablename = $1`, [`swept_${creds.user.slice(-10)}`]),
    );
    expect(rows).toEqual([{ tableowner: groupsOf(b).rw }]);
    const audit = await b.deps.sql.query(
      `SELECT outcome, detail->>'reason' AS reason FROM pgmint.audit_log WHERE action = 'lease.revoke' AND lease_id = $1`,
      [creds.lease_id],
    );
    expect(audit.rows).toEqual([{ outcome: 'success', reason: 'sweep' }]);
  });
});

describe('sweeping at scale on pg18', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_SWEEP_GRACE: '0' } });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  it('drops an orphan left by a crash, and leaves alone roles that are tracked, unexpired or never expire', async () => {
    const [orphan] = await plantExpired(b, 1, { tag: 'crash', orphans: true });
    const live = await mint(b);
    await asBroker(b, async (c) => {
      await c.query(`CREATE ROLE pgm_future_role LOGIN VALID UNTIL '2999-01-01'`);
      await c.query(`CREATE ROLE pgm_forever_role LOGIN`);
      // Expired on the target but still tracked by an active lease: the lease sweep's business, not the orphan sweep's.
      await c.query(`ALTER ROLE "${live.user}" VALID UNTIL '2000-01-01'`);
    });
    const result = await sweep(b.deps);
    expect(result).toMatchObject({ orphansDropped: 1, failed: 0, errors: [] });
    expect(await roleExists(b, orphan!)).toBe(false);
    for (const kept of [live.user, 'pgm_future_role', 'pgm_forever_role']) expect(await roleExists(b, kept)).toBe(true);
    const audit = await b.deps.sql.query(`SELECT outcome FROM pgmint.audit_log WHERE action = 'orphan.drop' AND username = $1`, [orphan]);
    expect(audit.rows).toEqual([{ outcome: 'success' }]);
    await asBroker(b, (c) => c.query('DROP ROLE pgm_future_role; DROP ROLE pgm_forever_role'));
  });

  it('two overlapping sweeps drop every role exactly once, without errors', async () => {
    const leased = await plantExpired(b, 400, { tag: 'overlap' });
    const orphans = await plantExpired(b, 60, { tag: 'overlaporphan', orphans: true });
    const [first, second] = await Promise.all([sweep(b.deps, { batchSize: 25 }), sweep(b.deps, { batchSize: 25 })]);
    for (const r of [first!, second!]) expect(r).toMatchObject({ failed: 0, errors: [] });
    expect(first!.revoked + second!.revoked).toBe(leased.length);
    expect(first!.orphansDropped + second!.orphansDropped).toBe(orphans.length);
    expect(await countRoles(b, 'pgm_overlap')).toBe(0);
    const { rows } = await b.deps.sql.query<{ n: number; leases: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT lease_id)::int AS leases FROM pgmint.audit_log
       WHERE action = 'lease.revoke' AND starts_with(username, 'pgm_overlap_')`,
    );
    expect(rows[0]!).toEqual({ n: leased.length, leases: leased.length });
    const dropped = await b.deps.sql.query(
      `SELECT count(*)::int AS n FROM pgmint.audit_log WHERE action = 'orphan.drop' AND starts_with(username, 'pgm_overlaporphan_')`,
    );
    expect(dropped.rows[0]!.n).toBe(orphans.length);
  });

  it('sweeps 1,000 expired leases in one run', async () => {
    const names = await plantExpired(b, 1000, { tag: 'thousand' });
    expect(await countRoles(b, 'pgm_thousand_')).toBe(names.length);
    const result = await sweep(b.deps);
    expect(result).toMatchObject({ revoked: 1000, failed: 0, remaining: 0, errors: [] });
    expect(await countRoles(b, 'pgm_thousand_')).toBe(0);
    const { rows } = await b.deps.sql.query(
      `SELECT count(*)::int AS n FROM pgmint.leases WHERE starts_with(username, 'pgm_thousand_') AND state = 'revoked'`,
    );
    expect(rows[0]!.n).toBe(1000);
  });

  it('stops at its time bound and the next run picks up where it stopped; POST /api/v1/sweep runs the same code', async () => {
    await plantExpired(b, 50, { tag: 'resume' });
    const bounded = await sweep(b.deps, { maxMs: 0 });
    expect(bounded).toMatchObject({ revoked: 0, remaining: 50 });
    const res = await b.admin('POST', '/api/v1/sweep');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ revoked: 50, remaining: 0, failed: 0, orphans_dropped: 0, errors: [] });
    expect(await countRoles(b, 'pgm_resume_')).toBe(0);
    const run = await b.deps.sql.query(
      `SELECT detail->>'revoked' AS revoked FROM pgmint.audit_log WHERE action = 'sweep.run' ORDER BY id DESC LIMIT 1`,
    );
    expect(run.rows).toEqual([{ revoked: '50' }]);
  });
});
