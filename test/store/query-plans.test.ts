/**
 * Every control-plane query an exchange, a renewal, a revocation, a listing,
 * an audit read or a sweep sends is planned over tables with enough history
 * (tens of thousands of finished leases, audit rows over fourteen months) that
 * Postgres reads the whole table only when no index can serve the query; the
 * test fails on any sequential scan of the leases or the audit log.
 *
 * The queries are the store's own: the store runs over a recording connection
 * that sends each call for real and keeps its text and parameters, which are
 * then EXPLAINed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../functions/local/migrations.js';
import { connectPg } from '../../lib/db/pg.js';
import type { Queryable, Sql } from '../../lib/db/port.js';
import { createStore } from '../../lib/store/index.js';
import { migrate } from '../../lib/store/migrate.js';
import type { NewLease } from '../../lib/store/leases.js';
import { createDatabase, type ServerName, server, withSuperuser } from '../support/postgres.js';

interface Recorded {
  label: string;
  text: string;
  params: readonly unknown[];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/**
 * Relations of leases or the audit log (any partition) read by a sequential
 * scan in `plan`, except audit partitions in `small`: a month not begun yet,
 * the catch-all partition ahead, or the tail of the oldest month hold a few
 * pages, which Postgres rightly reads whole.
 */
function sequentialScans(plan: PlanNode, small: ReadonlySet<string> = new Set()): string[] {
  const name = plan['Relation Name'] ?? '';
  const here = plan['Node Type'] === 'Seq Scan' && /^(leases|audit_log.*)$/.test(name) && !small.has(name) ? [name] : [];
  return [...here, ...(plan.Plans ?? []).flatMap((p) => sequentialScans(p, small))];
}

/** Node types in `plan` that sort or merge: an audit read ordered by time needs neither when its partitions are ordered. */
function sorts(plan: PlanNode): string[] {
  const here = ['Sort', 'Merge Append', 'Incremental Sort'].includes(plan['Node Type']) ? [plan['Node Type']] : [];
  return [...here, ...(plan.Plans ?? []).flatMap(sorts)];
}

function recorder(sql: Queryable, log: Recorded[], label: () => string): Queryable {
  return {
    query(text, params = []) {
      log.push({ label: label(), text, params });
      return sql.query(text, params);
    },
  };
}

/** `sql` with every statement recorded, in and out of transactions (BEGIN and COMMIT too, which plan nothing). */
function recording(sql: Sql, log: Recorded[], label: () => string): Sql {
  return { ...recorder(sql, log, label), transaction: (fn) => sql.transaction((tx) => fn(recorder(tx, log, label))), end: async () => {} };
}

const DB = 'orders';

describe.each(['pg18', 'pg15'] as const)('control-plane query plans on %s', (serverName: ServerName) => {
  let sql: Sql;

  beforeAll(async () => {
    const s = server(serverName);
    const database = await createDatabase(s, 'plans');
    sql = connectPg({ host: s.host, port: s.port, database, user: s.user, password: s.password, max: 2 });
    await migrate(sql, await readMigrations());
    // History as months of use leave it: mostly finished leases over 40 days, a few live;
    // audit rows over fourteen months, 500 subjects, three databases, several actions.
    // The bulk load runs on a plain client: the broker's driver bounds each query's time.
    await withSuperuser(s, database, async (c) => {
      await c.query(`SELECT pgmint.ensure_audit_partitions(now() - interval '14 months', now() + interval '3 months')`);
      await c.query(
        `INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer, workload_key,
           pod_name, issued_at, expires_at, max_expires_at, revoked_at, revoke_requested_at)
         SELECT gen_random_uuid(), (ARRAY['orders', 'billing', 'search'])[1 + i % 3], 'readonly', 'pgm_prod_api_' || i, 'app_ro',
           CASE WHEN i % 40 = 0 THEN 'active' WHEN i % 997 = 0 THEN 'irrevocable' WHEN i % 101 = 0 THEN 'failed' ELSE 'revoked' END,
           'system:serviceaccount:prod:sa' || (i % 500), 'https://issuer.example', 'pod:p' || i, 'p' || i,
           t, t + interval '1 hour', t + interval '8 hours',
           CASE WHEN i % 40 = 0 OR i % 997 = 0 OR i % 101 = 0 THEN NULL ELSE t + interval '1 hour' END,
           CASE WHEN i % 400 = 0 THEN now() END
         FROM generate_series(1, 60000) AS i, LATERAL (SELECT now() - (i % 57600) * interval '1 minute' AS t) AS x`,
      );
      await c.query(
        `INSERT INTO pgmint.audit_log (at, action, outcome, code, database_id, subject, pod, lease_id, username, detail)
         SELECT now() - (i * 5) * interval '1 minute',
           (ARRAY['credentials.issue', 'lease.renew', 'lease.revoke', 'orphan.drop'])[1 + i % 4],
           CASE WHEN i % 50 = 0 THEN 'denied' ELSE 'success' END, CASE WHEN i % 50 = 0 THEN 'not_allowed' END,
           (ARRAY['orders', 'billing', 'search'])[1 + i % 3], 'system:serviceaccount:prod:sa' || (i % 500), 'p' || i,
           gen_random_uuid(), 'pgm_prod_api_' || i, '{}'
         FROM generate_series(1, 120000) AS i`,
      );
      await c.query('ANALYZE pgmint.leases');
      await c.query('ANALYZE pgmint.audit_log');
    });
  }, 120_000);

  afterAll(async () => {
    await sql?.end();
  });

  it('the plan check itself sees a sequential scan', async () => {
    const { rows } = await sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      'EXPLAIN (FORMAT JSON) SELECT * FROM pgmint.leases WHERE last_error = $1',
      ['x'],
    );
    expect(sequentialScans(rows[0]!['QUERY PLAN'][0].Plan)).toEqual(['leases']);
  });

  it('a lease id that is not a uuid is refused with a code before Postgres sees it', async () => {
    const seen: Recorded[] = [];
    const l = createStore(recording(sql, seen, () => 'malformed')).leases;
    for (const call of [
      () => l.get("1' OR '1'='1"),
      () => l.lock('not-a-uuid'),
      () => l.requestOne('not-a-uuid', new Date()),
      () => l.renew('0000', new Date(), new Date()),
      () => l.list({ databaseId: DB, after: 'x' }),
      () => l.requestRevocation(DB, { id: '' }, new Date()),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'invalid_request', details: { field: 'id' } });
    }
    expect(seen).toEqual([]);
    expect(await l.get(crypto.randomUUID().toUpperCase())).toBeNull();
  });

  it('every request-path and sweep query is served by an index', async () => {
    const log: Recorded[] = [];
    let label = '';
    const at = (name: string) => {
      label = name;
    };
    const now = new Date();
    const newLease = (): NewLease => {
      const id = crypto.randomUUID();
      return {
        id,
        databaseId: DB,
        roleName: 'readonly',
        username: `pgm_prod_api_${id.slice(0, 10)}`,
        reassignTo: 'app_ro',
        subject: 'system:serviceaccount:prod:sa7',
        issuer: 'https://issuer.example',
        workloadKey: 'pod:p7',
        podName: 'p7',
        podUid: null,
        expiresAt: new Date(now.getTime() + 3600_000),
        maxExpiresAt: new Date(now.getTime() + 8 * 3600_000),
      };
    };

    const store = createStore(recording(sql, log, () => label));
    await store
      .transaction(async (s) => {
        const l = s.leases;
        const a = s.audit;
        // The exchange.
        const lease = newLease();
        at('exchange: insert pending within cap');
        await l.insertPendingWithinCap(lease, 10);
        at('exchange: activate with audit row');
        await l.activate(lease.id, { action: 'credentials.issue', outcome: 'success', databaseId: DB, leaseId: lease.id });
        at('exchange: record active within cap with audit row');
        await l.insertActiveWithinCap(newLease(), 10, { action: 'credentials.issue', outcome: 'success', databaseId: DB });
        at('exchange: record unissued (target refused or away)');
        await l.insertUnissued(newLease(), { unansweredAt: now });
        const failed = newLease();
        await l.insertPendingWithinCap(failed, 10);
        at('exchange: mark failed');
        await l.markFailed(failed.id, 'refused');
        // Renew and revoke one lease.
        at('renew/revoke: get');
        await l.get(lease.id);
        at('renew/revoke: lock');
        await l.lock(lease.id);
        at('renew: move expiry');
        await l.renew(lease.id, new Date(now.getTime() + 7200_000), now);
        at('revoke: request one and lock it');
        await l.requestOne(lease.id, now);
        at('exchange: request revocation by id (target away)');
        await l.requestRevocation(DB, { id: lease.id }, now);
        at('revoke: mark revoked');
        await l.markRevoked([lease.id], now);
        at('revoke: record failures');
        await l.recordFailures([{ id: failed.id, error: 'x', nextAttemptAt: now }]);
        at('audit: append');
        await a.append({ action: 'lease.renew', outcome: 'success', databaseId: DB, leaseId: lease.id });
        at('audit: append many');
        await a.appendMany([{ action: 'lease.revoke', outcome: 'success', databaseId: DB, leaseId: lease.id }]);
        // Bulk revocation and health.
        at('bulk revoke: by subject');
        await l.requestRevocation(DB, { subject: 'system:serviceaccount:prod:sa9' }, now);
        at('bulk revoke: by subject of one issuer');
        await l.requestRevocation(DB, { subject: 'system:serviceaccount:prod:sa11', issuer: 'https://issuer.example' }, now);
        at('bulk revoke: by prefix');
        await l.requestRevocation(DB, { prefix: 'pgm_prod_api_12' }, now);
        at('bulk revoke: still requested');
        await l.countRequested(DB);
        at('health: counts by state');
        await l.countByState({ databaseId: DB, now, graceSec: 60 });
        at('database removal: unfinished leases');
        await l.countLiveInDatabase(DB);
        // Listing.
        at('list: first page');
        const page = await l.list({ databaseId: DB, limit: 100 });
        at('list: next page');
        await l.list({ databaseId: DB, after: page.at(-1)!.id, limit: 100 });
        at('list: by state');
        await l.list({ databaseId: DB, state: 'active' });
        at('list: by subject');
        await l.list({ databaseId: DB, subject: 'system:serviceaccount:prod:sa3' });
        at('list: by issuer');
        await l.list({ databaseId: DB, issuer: 'https://issuer.example' });
        at('list: by subject of one issuer');
        await l.list({ databaseId: DB, subject: 'system:serviceaccount:prod:sa3', issuer: 'https://issuer.example' });
        at('list: by prefix');
        await l.list({ databaseId: DB, prefix: 'pgm_prod_api_77' });
        // The audit route.
        at('audit: newest');
        const newest = await a.query({ limit: 100 });
        at('audit: next page');
        await a.query({ before: newest.at(-1)!.id, limit: 100 });
        at('audit: by subject');
        await a.query({ subject: 'system:serviceaccount:prod:sa42' });
        at('audit: by subject of one issuer');
        await a.query({ subject: 'system:serviceaccount:prod:sa42', issuer: 'https://issuer.example' });
        at('audit: by database');
        await a.query({ databaseId: 'billing' });
        at('audit: by action');
        await a.query({ action: 'orphan.drop' });
        at('audit: by time');
        await a.query({
          since: new Date(now.getTime() - 200 * 86400_000).toISOString(),
          until: new Date(now.getTime() - 199 * 86400_000).toISOString(),
        });
        at('audit: by subject and time');
        await a.query({ subject: 'system:serviceaccount:prod:sa42', since: new Date(now.getTime() - 30 * 86400_000).toISOString() });
        // The sweep.
        at('sweep: claim due');
        await l.claimDue({ databaseId: DB, now, graceSec: 60, limit: 200 });
        at('sweep: claim due, next page');
        await l.claimDue({ databaseId: DB, now, graceSec: 60, limit: 200, after: lease.id });
        at('sweep: mark draining');
        await l.markDraining([failed.id]);
        at('sweep: claim requested');
        await l.claimDue({ databaseId: DB, now, graceSec: 60, limit: 200, onlyRequested: true });
        at('sweep: count due');
        await l.countDue({ databaseId: DB, now, graceSec: 60 });
        at('sweep: tracked usernames');
        await l.tracked(['pgm_prod_api_5', 'pgm_prod_api_6', 'pgm_nobody']);
        at('sweep: delete finished leases');
        await l.deleteFinished(new Date(now.getTime() - 39 * 86400_000), 1000);
        throw new RollbackForPlans();
      })
      .catch((err) => {
        if (!(err instanceof RollbackForPlans)) throw err;
      });

    const { rows: partitions } = await sql.query<{ name: string }>(
      `SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'pgmint.audit_log'::regclass AND c.reltuples < 1000`,
    );
    const small = new Set(partitions.map((p) => p.name));
    // Each call with its own parameters: a filter left NULL changes the plan.
    const statements = log.filter((q) => !/^(BEGIN|COMMIT|ROLLBACK)$/.test(q.text));
    const offenders: string[] = [];
    for (const q of statements) {
      const { rows } = await sql.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${q.text}`, q.params);
      const scans = sequentialScans(rows[0]!['QUERY PLAN'][0].Plan, small);
      if (scans.length > 0) offenders.push(`${q.label}: sequential scan of ${scans.join(', ')}`);
      // The newest page reads months newest first and stops: no partition that may hold any month
      // (a DEFAULT partition) forces a merge of them all. (A rare filter's few rows are rightly sorted.)
      if (q.label === 'audit: newest' && sorts(rows[0]!['QUERY PLAN'][0].Plan).length > 0) {
        offenders.push(`${q.label}: ${sorts(rows[0]!['QUERY PLAN'][0].Plan).join(', ')} instead of months in order`);
      }
    }
    expect(offenders).toEqual([]);
    expect(new Set(statements.map((q) => q.label)).size).toBe(42);
  }, 60_000);
});

class RollbackForPlans extends Error {}
