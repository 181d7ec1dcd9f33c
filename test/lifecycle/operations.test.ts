import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { call, mint, roleExists, workloadToken } from './helpers.js';

describe('operations API on pg18', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  const newToken = async (scopes: string[]) => {
    const res = await b.admin('POST', '/api/v1/admin-tokens', { name: `t-${scopes.join('-')}`, scopes });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; token: string; scopes: string[] };
  };

  it('lists leases with filters and paging', async () => {
    const a = await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'lister' }));
    const c = await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'lister' }));
    const other = await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'another' }));
    const bySubject = await (
      await b.admin('GET', '/api/v1/databases/main/leases?subject=system:serviceaccount:batch:lister&state=active')
    ).json();
    expect(bySubject.leases.map((l: { id: string }) => l.id).sort()).toEqual([a.lease_id, c.lease_id].sort());
    expect(bySubject.leases[0]).not.toHaveProperty('password');
    const byPrefix = await (await b.admin('GET', '/api/v1/databases/main/leases?prefix=pgm_batch_another_&role=readonly')).json();
    expect(byPrefix.leases.map((l: { user: string }) => l.user)).toEqual([other.user]);
    const page1 = await (await b.admin('GET', '/api/v1/databases/main/leases?prefix=pgm_batch_&limit=2')).json();
    expect(page1.leases).toHaveLength(2);
    expect(page1.next_after).toBe(page1.leases[1].id);
    const page2 = await (await b.admin('GET', `/api/v1/databases/main/leases?prefix=pgm_batch_&limit=2&after=${page1.next_after}`)).json();
    expect(page2.leases).toHaveLength(1);
    expect(page2.next_after).toBeNull();
    expect(new Set([...page1.leases, ...page2.leases].map((l: { id: string }) => l.id)).size).toBe(3);
  });

  it('revokes in bulk by subject or by prefix', async () => {
    const s1 = await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'bulk' }));
    const s2 = await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'bulk' }));
    const keep = await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'bulkkeep' }));
    const res = await b.admin('DELETE', '/api/v1/databases/main/leases?subject=system:serviceaccount:batch:bulk');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ matched: 2, revoked: 2, failed: 0, remaining: 0 });
    for (const l of [s1, s2]) expect(await roleExists(b, l.user)).toBe(false);
    expect(await roleExists(b, keep.user)).toBe(true);
    const byPrefix = await b.admin('DELETE', '/api/v1/databases/main/leases?prefix=pgm_batch_bulkkeep_');
    expect(await byPrefix.json()).toMatchObject({ matched: 1, revoked: 1 });
    expect(await roleExists(b, keep.user)).toBe(false);
    const neither = await b.admin('DELETE', '/api/v1/databases/main/leases');
    expect(neither.status).toBe(400);
    expect(await neither.json()).toMatchObject({ code: 'invalid_request', field: 'subject' });
  });

  it('reads the audit log with filters and cursor paging', async () => {
    await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'audited' }));
    await mint(b, '', await workloadToken(b, { ns: 'batch', sa: 'audited' }));
    const since = new Date(Date.now() - 3600_000).toISOString();
    const q = `/api/v1/audit?database=main&action=credentials.issue&outcome=success&subject=system:serviceaccount:batch:audited&since=${since}`;
    const first = await (await b.admin('GET', `${q}&limit=1`)).json();
    expect(first.entries).toHaveLength(1);
    expect(first.entries[0]).toMatchObject({
      action: 'credentials.issue',
      outcome: 'success',
      database: 'main',
      subject: 'system:serviceaccount:batch:audited',
    });
    expect(first.next_cursor).toBe(first.entries[0].id);
    const second = await (await b.admin('GET', `${q}&limit=1&cursor=${first.next_cursor}`)).json();
    expect(second.entries).toHaveLength(1);
    expect(Number(second.entries[0].id)).toBeLessThan(Number(first.entries[0].id));
    const third = await (await b.admin('GET', `${q}&limit=1&cursor=${second.next_cursor}`)).json();
    expect(third).toEqual({ entries: [], next_cursor: null });
    const none = await (await b.admin('GET', `${q}&until=${since}`)).json();
    expect(none.entries).toEqual([]);
  });

  it('reports health: reachable, CREATEROLE, lease counts, root credential age', async () => {
    const res = await b.admin('GET', '/api/v1/databases/main/health');
    expect(res.status).toBe(200);
    const h = await res.json();
    expect(h).toMatchObject({ database: 'main', reachable: true, createrole: true, superuser: false, error: null });
    expect(h.leases.active).toBeGreaterThan(0);
    expect(h.root_credential.age_seconds).toBeGreaterThanOrEqual(0);
    expect(h.root_credential.rotation_period).toBe(7 * 86400);
    expect((await b.admin('GET', '/api/v1/databases/nope/health')).status).toBe(404);
  });

  it('admin tokens: created once, stored hashed, scoped, listed without secrets, revoked', async () => {
    const reader = await newToken(['leases:read']);
    expect(reader.token).toMatch(/^pgmat_[A-Za-z0-9_-]{43}$/);
    const stored = await b.deps.sql.query('SELECT token_hash FROM pgmint.admin_tokens WHERE id = $1', [reader.id]);
    expect(stored.rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify((await b.deps.sql.query('SELECT * FROM pgmint.admin_tokens')).rows)).not.toContain(reader.token);

    expect((await b.admin('GET', '/api/v1/databases/main/leases', undefined, reader.token)).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/api/v1/audit'],
      ['POST', '/api/v1/sweep'],
      ['DELETE', '/api/v1/databases/main/leases?subject=x'],
      ['GET', '/api/v1/databases/main/health'],
      ['GET', '/api/v1/admin-tokens'],
      ['DELETE', `/api/v1/leases/${randomUUID()}`],
    ]) {
      const res = await b.admin(method!, path!, undefined, reader.token);
      // A lease id is no exception: a token without leases:revoke learns nothing about it.
      expect.soft(res.status, `${method} ${path}`).toBe(403);
    }
    const denied = await b.admin('GET', '/api/v1/audit', undefined, reader.token);
    expect(await denied.json()).toMatchObject({ code: 'insufficient_scope', scope: 'audit:read' });

    // A token cannot mint a token with more than it holds.
    const minter = await newToken(['tokens:write', 'leases:read']);
    const escalate = await b.admin('POST', '/api/v1/admin-tokens', { name: 'x', scopes: ['audit:read'] }, minter.token);
    expect(escalate.status).toBe(403);
    expect((await escalate.json()).code).toBe('insufficient_scope');

    const list = await (await b.admin('GET', '/api/v1/admin-tokens')).json();
    expect(list.tokens.map((t: { id: string }) => t.id)).toContain(reader.id);
    expect(JSON.stringify(list)).not.toContain(reader.token);
    const revoked = await b.admin('DELETE', `/api/v1/admin-tokens/${reader.id}`);
    expect(revoked.status).toBe(200);
    expect((await revoked.json()).revoked_at).not.toBeNull();
    const after = await b.admin('GET', '/api/v1/databases/main/leases', undefined, reader.token);
    expect(after.status).toBe(401);
    expect((await after.json()).code).toBe('unauthorized');
    expect((await b.admin('DELETE', `/api/v1/admin-tokens/${randomUUID()}`)).status).toBe(404);

    // A workload holding a lease cannot use leases:revoke-scoped admin routes, and an admin token with the scope can revoke any lease.
    const lease = await mint(b);
    const revoker = await newToken(['leases:revoke']);
    expect((await call(b, 'DELETE', `/api/v1/leases/${lease.lease_id}`, revoker.token)).status).toBe(200);
    const audit = await b.deps.sql.query(
      `SELECT detail->>'by' AS by FROM pgmint.audit_log WHERE action = 'lease.revoke' AND lease_id = $1`,
      [lease.lease_id],
    );
    expect(audit.rows).toEqual([{ by: 'admin:t-leases:revoke' }]);
  });

  it('deletes issuers, roles and databases; live leases need force=true, which revokes them first', async () => {
    await b.setupDefault('second');
    const lease = await (async () => {
      const token = await workloadToken(b);
      const res = await fetch(`${b.url}/api/v1/databases/second/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      return res.json();
    })();
    const issuers = await (await b.admin('GET', '/api/v1/databases/second/issuers')).json();
    expect((await b.admin('DELETE', `/api/v1/databases/second/issuers/${issuers.issuers[0].id}`)).status).toBe(204);
    expect((await b.admin('DELETE', `/api/v1/databases/second/issuers/${issuers.issuers[0].id}`)).status).toBe(404);
    expect((await b.admin('DELETE', '/api/v1/databases/second/roles/readwrite')).status).toBe(204);
    expect((await b.admin('GET', '/api/v1/databases/second/roles/readwrite')).status).toBe(404);

    const refused = await b.admin('DELETE', '/api/v1/databases/second');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'conflict', live_leases: 1 });
    expect(await roleExists(b, lease.user)).toBe(true);
    const forced = await b.admin('DELETE', '/api/v1/databases/second?force=true');
    expect(forced.status).toBe(204);
    expect(await roleExists(b, lease.user)).toBe(false);
    expect((await b.admin('GET', '/api/v1/databases/second')).status).toBe(404);
    const audit = await b.deps.sql.query(
      `SELECT action FROM pgmint.audit_log WHERE database_id = 'second' AND action LIKE '%.delete' ORDER BY id`,
    );
    expect(audit.rows.map((r) => r.action)).toEqual(['issuer.delete', 'role.delete', 'database.delete']);
  });

  const ROUTES: Array<[string, string]> = [
    ['post', '/api/v1/leases/{id}/renew'],
    ['delete', '/api/v1/leases/{id}'],
    ['get', '/api/v1/databases/{db}/leases'],
    ['delete', '/api/v1/databases/{db}/leases'],
    ['get', '/api/v1/audit'],
    ['get', '/api/v1/databases/{db}/health'],
    ['post', '/api/v1/sweep'],
    ['post', '/api/v1/admin-tokens'],
    ['get', '/api/v1/admin-tokens'],
    ['delete', '/api/v1/admin-tokens/{id}'],
    ['delete', '/api/v1/databases/{db}'],
    ['delete', '/api/v1/databases/{db}/roles/{name}'],
    ['delete', '/api/v1/databases/{db}/issuers/{id}'],
  ];

  it('documents every lifecycle route in /openapi.json and serves /docs', async () => {
    const doc = await (await b.app.request('/openapi.json')).json();
    expect(doc.openapi).toBe('3.1.0');
    for (const [method, path] of ROUTES) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(doc.components.schemas).toHaveProperty('Lease');
    const docs = await b.app.request('/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/text\/html/);
    expect(await docs.text()).toContain('/openapi.json');
  });

  it.each([
    ['POST', '/api/v1/leases/not-a-uuid/renew', undefined, 'id'],
    ['POST', `/api/v1/leases/${randomUUID()}/renew?ttl=${'9'.repeat(20)}`, undefined, 'ttl'],
    ['DELETE', '/api/v1/leases/nope', undefined, 'id'],
    ['GET', '/api/v1/databases/main/leases?state=zombie', undefined, 'state'],
    ['GET', '/api/v1/databases/main/leases?limit=0', undefined, 'limit'],
    ['GET', '/api/v1/databases/main/leases?after=x', undefined, 'after'],
    ['GET', '/api/v1/databases/Bad!/leases', undefined, 'db'],
    ['DELETE', '/api/v1/databases/main/leases?prefix=p', undefined, 'prefix'],
    ['GET', '/api/v1/audit?since=yesterday', undefined, 'since'],
    ['GET', '/api/v1/audit?outcome=maybe', undefined, 'outcome'],
    ['GET', '/api/v1/audit?cursor=abc', undefined, 'cursor'],
    ['GET', '/api/v1/audit?limit=5000', undefined, 'limit'],
    ['GET', '/api/v1/databases/Bad!/health', undefined, 'db'],
    ['POST', '/api/v1/sweep?max_ms=-1', undefined, 'max_ms'],
    ['POST', '/api/v1/admin-tokens', { name: 'x', scopes: ['root'] }, 'scopes.0'],
    ['POST', '/api/v1/admin-tokens', { name: '', scopes: ['audit:read'] }, 'name'],
    ['POST', '/api/v1/admin-tokens', { name: 'x', scopes: [], extra: 1 }, 'scopes'],
    ['DELETE', '/api/v1/admin-tokens/123', undefined, 'id'],
    ['DELETE', '/api/v1/databases/main?force=yes', undefined, 'force'],
    ['DELETE', '/api/v1/databases/main/roles/Bad!', undefined, 'name'],
    ['DELETE', '/api/v1/databases/main/issuers/not-a-uuid', undefined, 'id'],
  ])('%s %s with bad input is 400 invalid_request naming %s', async (method, path, body, field) => {
    const res = await b.admin(method, path, body);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ code: 'invalid_request', field });
  });
});
