import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/leases/sweep.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { withSuperuser } from '../support/postgres.js';

/** A lease row in `state`, issued `ageDays` ago and (when finished) ended then. */
async function plantLease(b: TestBroker, state: string, ageDays: number): Promise<string> {
  const id = crypto.randomUUID();
  await b.deps.sql.query(
    `INSERT INTO pgmint.leases (id, database_id, role_name, username, state, subject, workload_key, issued_at, expires_at, max_expires_at, revoked_at)
     VALUES ($1, 'main', 'readonly', $4, $2, 'system:serviceaccount:prod:old', 'pod:old',
       now() - make_interval(days => $3), now() - make_interval(days => $3) + interval '1 hour', now() - make_interval(days => $3) + interval '8 hours',
       CASE WHEN $2 = 'revoked' THEN now() - make_interval(days => $3) + interval '1 hour' END)`,
    [id, state, ageDays, `pgm_old_${id.slice(0, 8)}`],
  );
  return id;
}

const exists = async (b: TestBroker, id: string) =>
  (await b.deps.sql.query('SELECT 1 FROM pgmint.leases WHERE id = $1', [id])).rows.length === 1;

describe.each(['pg18', 'pg15'] as const)('history retention on %s', (serverName) => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName, env: { PGMINT_LEASE_RETENTION_DAYS: '30', PGMINT_AUDIT_RETENTION_DAYS: '400' } });
    await b.setupDefault('main');
  });
  afterAll(() => b?.close());

  it('deletes finished leases past the retention in batches, and keeps live, irrevocable and recent ones', async () => {
    const old = await Promise.all(Array.from({ length: 25 }, (_, i) => plantLease(b, i % 5 === 0 ? 'failed' : 'revoked', 31 + i)));
    const kept = {
      recentRevoked: await plantLease(b, 'revoked', 29),
      oldIrrevocable: await plantLease(b, 'irrevocable', 60),
      oldPending: await plantLease(b, 'pending', 60),
    };
    const { retainHistory } = await import('../../lib/leases/retention.js');
    const result = await retainHistory(b.deps, { deadline: Date.now() + 30_000, batchSize: 10 });
    expect(result.leasesDeleted).toBe(25);
    for (const id of old) expect(await exists(b, id)).toBe(false);
    for (const id of Object.values(kept)) expect(await exists(b, id)).toBe(true);
    const { rows } = await b.deps.sql.query<{ detail: { deleted: number; retention_days: number } }>(
      `SELECT detail FROM pgmint.audit_log WHERE action = 'lease.retire' ORDER BY at DESC, id DESC LIMIT 1`,
    );
    expect(rows[0]!.detail).toMatchObject({ deleted: 25, retention_days: 30 });
  });

  it('keeps audit partitions three months ahead, and the sweep retires months past the audit retention, audited', async () => {
    const { rows: ahead } = await b.deps.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'pgmint.audit_log'::regclass
         AND inhrelid::regclass::text = 'pgmint.audit_log_' || to_char(now() AT TIME ZONE 'UTC' + interval '3 months', '"y"YYYY"m"MM')`,
    );
    expect(ahead[0]!.n).toBe(1);
    // An entry from fifteen months ago, in a partition made for it, as if written then.
    await b.deps.sql.query(`SELECT pgmint.ensure_audit_partitions(now() - interval '15 months', now() - interval '15 months')`);
    await b.deps.sql.query(
      `INSERT INTO pgmint.audit_log (at, action, outcome, subject) VALUES (now() - interval '15 months', 'credentials.issue', 'success', 'ancient')`,
    );
    const month = (
      await b.deps.sql.query<{ p: string }>(
        `SELECT 'audit_log_' || to_char(now() AT TIME ZONE 'UTC' - interval '15 months', '"y"YYYY"m"MM') AS p`,
      )
    ).rows[0]!.p;

    const result = await sweep(b.deps);
    expect(result.errors).toEqual([]);
    expect(result.retention.auditPartitionsRetired).toContain(month);
    expect((await b.deps.sql.query(`SELECT 1 FROM pgmint.audit_log WHERE subject = 'ancient'`)).rows).toEqual([]);
    expect((await b.deps.sql.query('SELECT to_regclass($1) AS r', [`pgmint.${month}`])).rows[0]!.r).toBeNull();
    const { rows } = await b.deps.sql.query<{ detail: { partition: string; retention_days: number } }>(
      `SELECT detail FROM pgmint.audit_log WHERE action = 'audit.retire' AND detail->>'partition' = $1`,
      [month],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.detail.retention_days).toBe(400);
    // A second sweep finds nothing more to retire.
    expect((await sweep(b.deps)).retention.auditPartitionsRetired).toEqual([]);
  });

  it('the audit log stays append-only, and a runtime role can neither rewrite it nor retire recent months', async () => {
    await expect(b.deps.sql.query(`DELETE FROM pgmint.audit_log`)).rejects.toMatchObject({ sqlstate: '42501' });
    await expect(b.deps.sql.query(`UPDATE pgmint.audit_log SET outcome = 'error'`)).rejects.toMatchObject({ sqlstate: '42501' });
    const current = (
      await b.deps.sql.query<{ p: string }>(`SELECT 'pgmint.audit_log_' || to_char(now() AT TIME ZONE 'UTC', '"y"YYYY"m"MM') AS p`)
    ).rows[0]!.p;
    await expect(b.deps.sql.query(`TRUNCATE ${current}`)).rejects.toMatchObject({ sqlstate: '42501' });
    await expect(b.deps.store.audit.retirePartitions(7)).rejects.toMatchObject({ sqlstate: '22023' });

    // A runtime role granted what migration 0001 grants pgmint_runtime, and 0007's functions.
    const runtime = `pgmint_rt_${randomBytes(4).toString('hex')}`;
    const password = randomBytes(12).toString('hex');
    await withSuperuser(b.pg, b.controlDb, async (c) => {
      await c.query(`CREATE ROLE ${runtime} LOGIN PASSWORD '${password}'`);
      await c.query(`GRANT USAGE ON SCHEMA pgmint TO ${runtime}`);
      await c.query(`GRANT SELECT, INSERT ON pgmint.audit_log TO ${runtime}`);
      await c.query(
        `GRANT EXECUTE ON FUNCTION pgmint.ensure_audit_partitions(timestamptz, timestamptz), pgmint.retire_audit_partitions(interval, text) TO ${runtime}`,
      );
    });
    const pg = await import('pg');
    const client = new pg.default.Client({ host: b.pg.host, port: b.pg.port, database: b.controlDb, user: runtime, password });
    await client.connect();
    try {
      await client.query(`INSERT INTO pgmint.audit_log (action, outcome) VALUES ('runtime.write', 'success')`);
      for (const statement of [
        `DELETE FROM pgmint.audit_log`,
        `TRUNCATE ${current}`,
        `ALTER TABLE pgmint.audit_log DETACH PARTITION ${current}`,
        `DROP TABLE ${current}`,
      ]) {
        await expect(client.query(statement), statement).rejects.toMatchObject({ code: '42501' });
      }
      await expect(client.query(`SELECT * FROM pgmint.retire_audit_partitions(interval '1 day')`)).rejects.toMatchObject({ code: '22023' });
      expect((await client.query(`SELECT * FROM pgmint.retire_audit_partitions(interval '30 days')`)).rows).toEqual([]);
    } finally {
      await client.end();
      await withSuperuser(b.pg, b.controlDb, (c) => c.query(`DROP OWNED BY ${runtime}; DROP ROLE ${runtime}`));
    }
  });

  it('an insert never lacks a partition, however long no sweep ran; the next one moves such rows into their months, ids kept', async () => {
    const partitionOf = async (subject: string) =>
      (
        await b.deps.sql.query<{ p: string; id: string }>(
          `SELECT tableoid::regclass::text AS p, id FROM pgmint.audit_log WHERE subject = $1`,
          [subject],
        )
      ).rows[0]!;
    const month = (offset: number) =>
      `pgmint.audit_log_${new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + offset, 1))
        .toISOString()
        .slice(0, 7)
        .replace(/^(\d{4})-(\d{2})$/, 'y$1m$2')}`;
    // Seven months ahead: past the three the sweep keeps, as if it had not run for four months.
    await b.deps.sql.query(
      `INSERT INTO pgmint.audit_log (at, action, outcome, subject) VALUES (now() + interval '7 months', 'credentials.issue', 'success', 'after-a-gap')`,
    );
    const caught = await partitionOf('after-a-gap');
    expect(caught.p).toBe('pgmint.audit_log_ahead');

    const made = await b.deps.store.audit.ensurePartitions(new Date(), new Date(Date.now() + 240 * 86_400_000));
    expect(made).toBeGreaterThanOrEqual(4);
    const moved = await partitionOf('after-a-gap');
    expect(moved).toEqual({ p: month(7), id: caught.id });
    const { rows } = await b.deps.sql.query<{ n: number; bound: string }>(
      `SELECT (SELECT count(*)::int FROM pgmint.audit_log_ahead) AS n,
              pg_get_expr(relpartbound, oid) AS bound FROM pg_class WHERE oid = 'pgmint.audit_log_ahead'::regclass`,
    );
    expect(rows[0]!.n).toBe(0);
    expect(rows[0]!.bound).toMatch(/TO \(MAXVALUE\)$/);
    // Still append-only, and nothing left behind.
    await expect(b.deps.sql.query(`DELETE FROM pgmint.audit_log WHERE subject = 'after-a-gap'`)).rejects.toMatchObject({
      sqlstate: '42501',
    });
    expect((await b.deps.sql.query(`SELECT to_regclass('pgmint.audit_log_ahead_caught') AS r`)).rows[0]!.r).toBeNull();
    expect(await b.deps.store.audit.ensurePartitions(new Date(), new Date(Date.now() + 240 * 86_400_000))).toBe(0);
  });

  it('a long reader of the audit log does not hold up inserts behind a new partition: the sweep gives up and tries again', async () => {
    const pg = await import('pg');
    const reader = new pg.default.Client({
      host: b.pg.host,
      port: b.pg.port,
      database: b.controlDb,
      user: b.pg.user,
      password: b.pg.password,
    });
    await reader.connect();
    const through = new Date(Date.now() + 330 * 86_400_000);
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT count(*) FROM pgmint.audit_log');
      expect(await b.deps.store.audit.ensurePartitions(new Date(), through)).toBe(0);
      // Inserts go on meanwhile.
      await b.deps.store.audit.append({ action: 'credentials.issue', outcome: 'success', subject: 'during-a-long-read' });
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }
    expect(await b.deps.store.audit.ensurePartitions(new Date(), through)).toBeGreaterThanOrEqual(1);
  });
});
