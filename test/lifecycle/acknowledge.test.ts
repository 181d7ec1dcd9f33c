import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_REVOKE_ATTEMPTS } from '../../lib/leases/retry.js';
import { retainHistory } from '../../lib/leases/retention.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { call, mint, roleExists } from './helpers.js';

/** A real lease whose revocation, as the sweep leaves it, used up its attempts. */
async function irrevocableLease(b: TestBroker): Promise<{ lease_id: string; user: string; token: string }> {
  const creds = await mint(b);
  await b.deps.sql.query(
    `UPDATE pgmint.leases SET state = 'irrevocable', revoke_attempts = $2, last_error = 'role owns objects in a database the broker cannot reach'
     WHERE id = $1`,
    [creds.lease_id, MAX_REVOKE_ATTEMPTS],
  );
  return creds;
}

const stateOf = async (b: TestBroker, id: string) => (await b.deps.store.leases.get(id))?.state ?? 'deleted';

describe.each(['pg18', 'pg15'] as const)('acknowledging irrevocable leases on %s', (serverName) => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName, env: { PGMINT_LEASE_RETENTION_DAYS: '30' } });
    await b.setupDefault('main');
  });
  afterAll(() => b?.close());

  it('an admin acknowledges an irrevocable lease: audited, finished, no longer degrading health; again is harmless', async () => {
    const creds = await irrevocableLease(b);
    expect((await (await b.admin('GET', '/api/v1/databases/main/health')).json()).leases.irrevocable).toBe(1);

    const res = await b.admin('POST', `/api/v1/leases/${creds.lease_id}/acknowledge`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ id: creds.lease_id, state: 'acknowledged', revoke_attempts: MAX_REVOKE_ATTEMPTS });
    expect(Date.parse(body.acknowledged_at)).toBeGreaterThan(Date.now() - 60_000);
    expect((await (await b.admin('GET', '/api/v1/databases/main/health')).json()).leases.irrevocable).toBe(0);
    const listed = await (await b.admin('GET', '/api/v1/databases/main/leases?state=acknowledged')).json();
    expect(listed.leases.map((l: { id: string }) => l.id)).toEqual([creds.lease_id]);

    const again = await b.admin('POST', `/api/v1/leases/${creds.lease_id}/acknowledge`);
    expect(again.status).toBe(200);
    expect((await again.json()).acknowledged_at).toBe(body.acknowledged_at);
    const { rows } = await b.deps.sql.query<{ outcome: string; username: string; detail: { by: string } }>(
      `SELECT outcome, username, detail FROM pgmint.audit_log WHERE action = 'lease.acknowledge' AND lease_id = $1`,
      [creds.lease_id],
    );
    expect(rows).toEqual([
      { outcome: 'success', username: creds.user, detail: { by: 'admin:bootstrap', revoke_attempts: MAX_REVOKE_ATTEMPTS } },
    ]);
    // Acknowledging says nothing to the target: the role is where the failed revocations left it.
    expect(await roleExists(b, creds.user)).toBe(true);
  });

  it('refuses to acknowledge a live lease (409, audited), a workload token, and a malformed id after authentication', async () => {
    const creds = await mint(b);
    const res = await b.admin('POST', `/api/v1/leases/${creds.lease_id}/acknowledge`);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ code: 'conflict', state: 'active' });
    expect(await stateOf(b, creds.lease_id)).toBe('active');
    const { rows } = await b.deps.sql.query(
      `SELECT outcome, code FROM pgmint.audit_log WHERE action = 'lease.acknowledge' AND lease_id = $1`,
      [creds.lease_id],
    );
    expect(rows).toEqual([{ outcome: 'denied', code: 'conflict' }]);

    // The workload holding a lease may revoke it, never acknowledge it.
    expect((await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/acknowledge`, creds.token)).status).toBe(401);
    expect((await b.app.request('/api/v1/leases/not-a-uuid/acknowledge', { method: 'POST' })).status).toBe(401);
    const malformed = await b.admin('POST', '/api/v1/leases/not-a-uuid/acknowledge');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 'invalid_request', field: 'id' });
    expect((await b.admin('POST', `/api/v1/leases/${crypto.randomUUID()}/acknowledge`)).status).toBe(404);

    const weak = (await (await b.admin('POST', '/api/v1/admin-tokens', { name: 'reader', scopes: ['leases:read'] })).json()) as {
      token: string;
    };
    const irrevocable = await irrevocableLease(b);
    const denied = await b.admin('POST', `/api/v1/leases/${irrevocable.lease_id}/acknowledge`, undefined, weak.token);
    expect(denied.status).toBe(403);
    expect(await stateOf(b, irrevocable.lease_id)).toBe('irrevocable');
  });

  it('the retention deletes acknowledged leases past it and never an unacknowledged irrevocable one', async () => {
    const old = await irrevocableLease(b);
    const recent = await irrevocableLease(b);
    const kept = await irrevocableLease(b);
    for (const l of [old, recent]) expect((await b.admin('POST', `/api/v1/leases/${l.lease_id}/acknowledge`)).status).toBe(200);
    // Acknowledged 31 days ago, and an unacknowledged one issued 90 days ago.
    await b.deps.sql.query(`UPDATE pgmint.leases SET acknowledged_at = now() - interval '31 days' WHERE id = $1`, [old.lease_id]);
    await b.deps.sql.query(`UPDATE pgmint.leases SET issued_at = now() - interval '90 days', revoked_at = NULL WHERE id = $1`, [
      kept.lease_id,
    ]);

    const result = await retainHistory(b.deps, { deadline: Date.now() + 30_000 });
    expect(result.leasesDeleted).toBeGreaterThanOrEqual(1);
    expect(await stateOf(b, old.lease_id)).toBe('deleted');
    expect(await stateOf(b, recent.lease_id)).toBe('acknowledged');
    expect(await stateOf(b, kept.lease_id)).toBe('irrevocable');
  });
});
