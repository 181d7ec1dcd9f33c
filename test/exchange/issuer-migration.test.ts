/**
 * Upgrading a control plane that already holds leases: after the issuer
 * migration the cap counts per (issuer, workload), and a live lease written
 * without an issuer takes it from its exchange's audit row.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../functions/local/migrations.js';
import { connectPg } from '../../lib/db/pg.js';
import { parseDatabaseUrl, type Sql } from '../../lib/db/port.js';
import { type Migration, migrate } from '../../lib/store/migrate.js';
import { createDatabase, server, serverUrl } from '../support/postgres.js';

const ISSUER_MIGRATION = '0006_issuer_identity';
const A = 'https://cluster-a.example';
const B = 'https://cluster-b.example';

describe('the issuer migration on existing leases', () => {
  let sql: Sql;
  let client: pg.Client;
  let all: Migration[];
  beforeAll(async () => {
    const s = server();
    const db = await createDatabase(s, 'migr');
    sql = connectPg({ ...parseDatabaseUrl(serverUrl(s, db)), max: 2 });
    client = new pg.Client({ connectionString: serverUrl(s, db) });
    await client.connect();
    all = await readMigrations();
    // The schema as it was before: every migration named before this one.
    await migrate(
      sql,
      all.filter((m) => m.version < ISSUER_MIGRATION),
    );
    const lease = (id: string, issuer: string | null, key: string) =>
      client.query(
        `INSERT INTO pgmint.leases (id, database_id, role_name, username, state, subject, issuer, workload_key, expires_at, max_expires_at)
         VALUES ($1::uuid, 'main', 'readonly', 'pgm_' || md5($1::text), 'active', 'system:serviceaccount:batch:worker', $2, $3, now() + interval '1 hour', now() + interval '1 hour')`,
        [id, issuer, key],
      );
    await lease('00000000-0000-4000-8000-000000000001', A, 'sub:system:serviceaccount:batch:worker');
    // Written before leases recorded an issuer; its exchange's audit row has it.
    await lease('00000000-0000-4000-8000-000000000002', null, 'pod:p-1');
    await client.query(
      `INSERT INTO pgmint.audit_log (action, outcome, database_id, issuer, lease_id) VALUES ('credentials.issue', 'success', 'main', $1, $2)`,
      [B, '00000000-0000-4000-8000-000000000002'],
    );
    expect(await migrate(sql, all)).toEqual(all.map((m) => m.version).filter((v) => v >= ISSUER_MIGRATION));
  });
  afterAll(async () => {
    await client?.end();
    await sql?.end();
  });

  const insert = async (issuer: string | null, key: string, cap: number) =>
    (
      await client.query<{ ok: boolean }>(
        `SELECT pgmint.insert_pending_lease(gen_random_uuid(), 'main', 'readonly', 'pgm_' || md5(random()::text), NULL,
           'system:serviceaccount:batch:worker', $1, $2, NULL, NULL, now() + interval '1 hour', now() + interval '1 hour', $3) AS ok`,
        [issuer, key, cap],
      )
    ).rows[0]!.ok;

  it("backfills a live lease's issuer from its audit row", async () => {
    const { rows } = await client.query(`SELECT issuer FROM pgmint.leases WHERE id = '00000000-0000-4000-8000-000000000002'`);
    expect(rows[0]).toEqual({ issuer: B });
  });

  it("counts the cap per issuer: cluster A's lease does not fill cluster B's slot", async () => {
    expect(await insert(A, 'sub:system:serviceaccount:batch:worker', 1)).toBe(false);
    expect(await insert(B, 'sub:system:serviceaccount:batch:worker', 1)).toBe(true);
    expect(await insert(B, 'pod:p-1', 2)).toBe(true); // the backfilled lease plus this one
    expect(await insert(B, 'pod:p-1', 2)).toBe(false);
    expect(await insert(A, 'pod:p-1', 1)).toBe(true);
  });

  it('the cap query is served by the workload index', async () => {
    await client.query('SET enable_seqscan = off');
    const { rows } = await client.query(
      `EXPLAIN SELECT count(*) FROM pgmint.leases WHERE database_id = 'main' AND issuer = $1 AND workload_key = 'pod:p-1'
         AND state IN ('pending', 'active') AND expires_at > now()`,
      [A],
    );
    expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/leases_by_workload/);
  });
});
