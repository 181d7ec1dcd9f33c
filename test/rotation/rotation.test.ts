/**
 * Root credential rotation on real PostgreSQL 18 and 15, through the HTTP
 * API: the broker's password on the target changes (as a SCRAM verifier), the
 * old one is refused by Postgres, and nothing that was working stops working.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../../lib/admin/index.js';
import { rotateRoot } from '../../lib/rotation/index.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import { exchangeOverHttp, lastAuditId, rootPassword, rotationSteps } from './helpers.js';

async function openClient(b: TestBroker, user: string, password: string): Promise<pg.Client> {
  const client = new pg.Client({ host: b.pg.host, port: b.pg.port, database: b.targetDb, user, password });
  await client.connect();
  return client;
}

describe.each(['pg18', 'pg15'] as const)('root rotation on %s', (serverName) => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  const rotate = () => b.admin('POST', '/api/v1/databases/main/rotate-root');

  it('keeps the root credential sealed: no plaintext anywhere in the control plane', async () => {
    const { rows } = await b.deps.sql.query<{ root_secret: Record<string, string | null> }>(
      "SELECT root_secret FROM pgmint.databases WHERE id = 'main'",
    );
    expect(rows[0]!.root_secret.current).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(await rootPassword(b.deps)).toBe(b.brokerPassword);
    const tables = ['databases', 'roles', 'issuers', 'leases', 'audit_log', 'jwks_cache'];
    for (const table of tables) {
      const dump = JSON.stringify((await b.deps.sql.query(`SELECT * FROM pgmint.${table}`)).rows);
      expect(dump).not.toContain(b.brokerPassword);
    }
  });

  it('rotates on demand: the old password is refused, leases and open sessions keep working, exchanges go on', async () => {
    const before = await lastAuditId(b);
    const oldPassword = await rootPassword(b.deps);
    const lease = await (await exchangeOverHttp(b)).json();
    const leaseSession = await openClient(b, lease.user, lease.password);
    const brokerSession = await openClient(b, b.brokerUser, oldPassword);
    const rotatedBefore = (await b.deps.store.databases.get('main'))!.rootRotatedAt;

    const res = await rotate();
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ database: 'main', outcome: 'rotated', recovered: null });
    expect(Date.parse(body.rotated_at)).toBeGreaterThan(Date.parse(rotatedBefore));

    const newPassword = await rootPassword(b.deps);
    expect(newPassword).not.toBe(oldPassword);
    await expect(loginAs(b.pg, b.targetDb, b.brokerUser, oldPassword)).rejects.toMatchObject({ code: '28P01' });
    expect(await loginAs(b.pg, b.targetDb, b.brokerUser, newPassword)).toBe(b.brokerUser);
    const db = (await b.deps.store.databases.get('main'))!;
    expect(db.rootSecret.pending ?? null).toBeNull();
    expect(await rootPassword(b.deps, 'main', 'previous')).toBe(oldPassword);

    // Postgres holds a SCRAM verifier, never the password.
    const stored = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [b.brokerUser]),
    );
    expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);

    // Sessions opened before the rotation keep working; a lease minted before still logs in.
    try {
      expect((await leaseSession.query('SELECT count(*)::int AS n FROM app.orders')).rows[0].n).toBeGreaterThan(0);
      expect((await brokerSession.query('SELECT current_user AS u')).rows[0].u).toBe(b.brokerUser);
    } finally {
      await leaseSession.end();
      await brokerSession.end();
    }
    expect(await loginAs(b.pg, b.targetDb, lease.user, lease.password)).toBe(lease.user);

    // The broker reconnected with the new credential and still mints.
    await b.deps.targets.close('main');
    const after = await exchangeOverHttp(b);
    expect(after.status).toBe(200);
    const fresh = await after.json();
    expect(await loginAs(b.pg, b.targetDb, fresh.user, fresh.password)).toBe(fresh.user);

    const steps = await rotationSteps(b, before);
    expect(steps.map((s) => s.step)).toEqual(['pending_stored', 'password_set', 'pending_tested', 'promoted']);
    expect(new Set(steps.map((s) => s.rotation_id))).toEqual(new Set([body.rotation_id]));
    expect(steps.every((s) => s.outcome === 'success' && s.trigger === 'api')).toBe(true);
    const audit = JSON.stringify((await b.deps.sql.query('SELECT * FROM pgmint.audit_log')).rows);
    expect(audit).not.toContain(newPassword);
    expect(audit).not.toContain(oldPassword);
  });

  it('a second rotation keeps one previous version and refuses both older passwords', async () => {
    const first = await rootPassword(b.deps);
    const older = await rootPassword(b.deps, 'main', 'previous');
    expect((await rotate()).status).toBe(200);
    expect(await rootPassword(b.deps, 'main', 'previous')).toBe(first);
    for (const old of [first, older]) {
      await expect(loginAs(b.pg, b.targetDb, b.brokerUser, old)).rejects.toMatchObject({ code: '28P01' });
    }
    expect(await loginAs(b.pg, b.targetDb, b.brokerUser, await rootPassword(b.deps))).toBe(b.brokerUser);
  });

  it('exchanges succeed at every step of a rotation, even on fresh target connections', async () => {
    const statuses: number[] = [];
    const currentAccepted: boolean[] = [];
    const current = await rootPassword(b.deps);
    const exchangeNow = async () => {
      currentAccepted.push(
        await loginAs(b.pg, b.targetDb, b.brokerUser, current).then(
          () => true,
          () => false,
        ),
      );
      // A fresh pool must log in while the target and the control plane disagree.
      await b.deps.targets.close('main');
      const res = await exchangeOverHttp(b);
      statuses.push(res.status);
      const creds = await res.json();
      expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    };
    const result = await rotateRoot(b.deps, 'main', {
      trigger: 'api',
      force: true,
      faults: { afterPendingStored: exchangeNow, afterAlterRole: exchangeNow, afterTest: exchangeNow },
    });
    expect(result.outcome).toBe('rotated');
    expect(statuses).toEqual([200, 200, 200]);
    // After the ALTER ROLE the stored current is refused: those exchanges went through the pending version.
    expect(currentAccepted).toEqual([true, false, false]);

    // And with no help: many exchanges racing one rotation over HTTP.
    await b.deps.targets.close('main');
    const [rotation, ...exchanges] = await Promise.all([
      rotate(),
      ...Array.from({ length: 8 }, () => exchangeOverHttp(b, 'batch', 'race')),
    ]);
    expect(rotation.status).toBe(200);
    for (const res of exchanges) {
      expect(res.status).toBe(200);
      const creds = await res.json();
      expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    }
  });

  it('never runs two rotations of one database at once: the second is 409 conflict', async () => {
    const before = await lastAuditId(b);
    let second: Response | undefined;
    await rotateRoot(b.deps, 'main', {
      trigger: 'api',
      force: true,
      faults: {
        afterAlterRole: async () => {
          second = await rotate();
        },
      },
    });
    expect(second?.status).toBe(409);
    expect((await second!.json()).code).toBe('conflict');
    const steps = await rotationSteps(b, before);
    expect(steps.filter((s) => s.outcome !== 'success')).toEqual([
      expect.objectContaining({ step: 'failed', outcome: 'denied', code: 'conflict' }),
    ]);
    expect(steps.filter((s) => s.step === 'promoted')).toHaveLength(1);
  });

  it('is described in /openapi.json', async () => {
    const doc = await (await b.app.request('/openapi.json')).json();
    expect(doc.paths['/api/v1/databases/{db}/rotate-root'].post.responses).toHaveProperty('409');
  });

  it('answers 404 for an unknown database and 403 without the operations:run scope', async () => {
    const res = await b.admin('POST', '/api/v1/databases/nope/rotate-root');
    expect(res.status).toBe(404);
    expect((await res.json()).code).toBe('database_not_found');
    const anonymous = await b.app.request('/api/v1/databases/main/rotate-root', { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const reader = `reader_${crypto.randomUUID()}`;
    await b.deps.sql.query("INSERT INTO pgmint.admin_tokens (name, token_hash, scopes) VALUES ('reader', $1, '{databases:read}')", [
      await tokenHash(reader),
    ]);
    const denied = await b.admin('POST', '/api/v1/databases/main/rotate-root', undefined, reader);
    expect(denied.status).toBe(403);
    expect((await denied.json()).code).toBe('insufficient_scope');
  });
});
