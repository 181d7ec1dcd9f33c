import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireLeaseIn, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import { call, exchange, mint, workloadToken } from './helpers.js';

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

describe('renewing leases and the lease cap on pg18', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault('main', { allowed_roles: ['readonly', 'readwrite'] });
  });
  afterAll(() => b?.close());

  it('a renewed lease still logs in after its original expiry', async () => {
    const minted = await mint(b, '?ttl=30');
    // A lease about to expire: 3 s left, on the target and in the control plane.
    const creds = { ...minted, expires_at: (await expireLeaseIn(b, minted, 3)).toISOString() };
    const res = await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=5m`, creds.token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const renewal = await res.json();
    expect(Date.parse(renewal.expires_at)).toBeGreaterThan(Date.parse(creds.expires_at));
    expect(renewal).toMatchObject({ lease_id: creds.lease_id, user: creds.user, capped: false });
    await sleepUntil(Date.parse(creds.expires_at) + 1500);
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [creds.user]),
    );
    expect(new Date(rows[0].rolvaliduntil).toISOString()).toBe(renewal.expires_at);
    const audit = await b.deps.sql.query(`SELECT outcome FROM pgmint.audit_log WHERE action = 'lease.renew' AND lease_id = $1`, [
      creds.lease_id,
    ]);
    expect(audit.rows).toEqual([{ outcome: 'success' }]);
  });

  it("never renews past the role's max_ttl counted from issue; admins may renew; revoked leases cannot be", async () => {
    const creds = await mint(b, '?role=readwrite&ttl=10m');
    const lease = (await b.deps.store.leases.get(creds.lease_id))!;
    // A second after issue, 2h from now reaches past the 2h max counted from issue.
    await sleepUntil(Date.parse(lease.issuedAt) + 1100);
    const res = await b.admin('POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=2h`);
    expect(res.status).toBe(200);
    const renewal = await res.json();
    expect(renewal).toMatchObject({ capped: true, expires_at: lease.maxExpiresAt, max_expires_at: lease.maxExpiresAt });
    expect(Date.parse(lease.maxExpiresAt) - Date.parse(creds.expires_at)).toBe((2 * 3600 - 600) * 1000);
    const tooLong = await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew?ttl=3h`, creds.token);
    expect(tooLong.status).toBe(400);
    expect(await tooLong.json()).toMatchObject({ code: 'invalid_request', field: 'ttl' });

    expect((await call(b, 'DELETE', `/api/v1/leases/${creds.lease_id}`, creds.token)).status).toBe(200);
    const after = await call(b, 'POST', `/api/v1/leases/${creds.lease_id}/renew`, creds.token);
    expect(after.status).toBe(409);
    expect((await after.json()).code).toBe('conflict');
    const missing = await b.admin('POST', `/api/v1/leases/${randomUUID()}/renew`);
    expect(missing.status).toBe(404);
    expect((await missing.json()).code).toBe('lease_not_found');
  });

  it('caps one pod at 10 live leases with 429 and Retry-After, while its older leases keep working', async () => {
    const podUid = randomUUID();
    const token = await workloadToken(b, { pod: 'crashloop-0', podUid });
    const leases = [];
    for (let i = 0; i < 10; i++) leases.push(await mint(b, '', token));
    const refused = await exchange(b, token);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({ code: 'too_many_leases', limit: 10 });
    const { rows } = await b.deps.sql.query(
      `SELECT outcome, code, pod FROM pgmint.audit_log WHERE action = 'credentials.issue' AND code = 'too_many_leases' ORDER BY id DESC LIMIT 1`,
    );
    expect(rows).toEqual([{ outcome: 'denied', code: 'too_many_leases', pod: 'crashloop-0' }]);
    const { rows: live } = await b.deps.sql.query(`SELECT count(*)::int AS n FROM pgmint.leases WHERE pod_uid = $1 AND state = 'active'`, [
      podUid,
    ]);
    expect(live[0]!.n).toBe(10);
    for (const l of [leases[0]!, leases[9]!]) expect(await loginAs(b.pg, b.targetDb, l.user, l.password)).toBe(l.user);
    // Revoking one frees a slot.
    expect((await call(b, 'DELETE', `/api/v1/leases/${leases[0]!.lease_id}`, token)).status).toBe(200);
    expect((await exchange(b, token)).status).toBe(200);
  });

  it('serves 50 pods of one service account: each pod is its own workload', async () => {
    const tokens = await Promise.all(
      Array.from({ length: 50 }, (_, i) => workloadToken(b, { ns: 'batch', sa: 'fleet', pod: `fleet-${i}` })),
    );
    const statuses: number[] = [];
    for (let i = 0; i < tokens.length; i += 10) {
      statuses.push(...(await Promise.all(tokens.slice(i, i + 10).map(async (t) => (await exchange(b, t)).status))));
    }
    expect(statuses).toEqual(Array(50).fill(200));
  });
});
