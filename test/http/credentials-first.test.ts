import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestBroker, type TestBroker } from '../support/broker.js';

// Nothing is learned without a credential: every route authenticates before it
// says whether a database, lease or token exists; and an admin token never acts
// on a token holding scopes it lacks.
describe('credentials first', () => {
  let b: TestBroker;
  let leaseId: string;
  let workloadToken: string;

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    workloadToken = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() });
    const res = await b.app.request('/api/v1/databases/main/credentials/k8s', { headers: { authorization: `Bearer ${workloadToken}` } });
    leaseId = (await res.json()).lease_id;
  });
  afterAll(() => b?.close());

  const call = async (method: string, path: string, token?: string) => {
    const res = await b.app.request(path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    const body = await res.json();
    return `${res.status} ${body.code}`;
  };

  it('answers a lease route the same for an existing and a random id until the caller is known', async () => {
    const garbage = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln';
    for (const [method, suffix] of [
      ['DELETE', ''],
      ['POST', '/renew'],
    ] as const) {
      const existing = `/api/v1/leases/${leaseId}${suffix}`;
      const random = `/api/v1/leases/${crypto.randomUUID()}${suffix}`;
      expect(await call(method, existing)).toBe('401 unauthorized');
      expect(await call(method, random)).toBe('401 unauthorized');
      expect(await call(method, existing, garbage)).toBe('401 invalid_token');
      expect(await call(method, random, garbage)).toBe('401 invalid_token');
      // A valid workload token still cannot learn whether another id exists.
      expect(await call(method, random, workloadToken)).toBe('401 invalid_token');
      // An admin may.
      expect(await call(method, random, ADMIN_TOKEN)).toBe('404 lease_not_found');
    }
  });

  it('checks a lease id is a uuid only after a credential was presented', async () => {
    for (const [method, path] of [
      ['DELETE', '/api/v1/leases/not-a-uuid'],
      ['POST', '/api/v1/leases/123/renew'],
      ['DELETE', '/api/v1/admin-tokens/x'],
    ] as const) {
      expect(await call(method, path)).toBe('401 unauthorized');
      const res = await b.app.request(path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_request', field: 'id' });
    }
    const res = await b.app.request('/api/v1/leases/not-a-uuid', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${workloadToken}` },
    });
    expect(res.status).toBe(400);
  });

  it('refuses an exchange for a database that does not exist exactly as one whose issuer is not trusted', async () => {
    const garbage = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln';
    for (const kind of ['k8s', 'oidc']) {
      for (const db of ['main', 'nope']) {
        expect(await call('GET', `/api/v1/databases/${db}/credentials/${kind}`)).toBe('401 unauthorized');
        expect(await call('GET', `/api/v1/databases/${db}/connect/${kind}`, garbage)).toBe('401 invalid_token');
      }
      expect(await call('GET', `/api/v1/databases/nope/credentials/${kind}`, workloadToken)).toBe('401 invalid_token');
    }
    const { rows } = await b.deps.sql.query("SELECT DISTINCT outcome, code FROM pgmint.audit_log WHERE database_id = 'nope' ORDER BY code");
    expect(rows).toEqual([
      { outcome: 'denied', code: 'invalid_token' },
      { outcome: 'denied', code: 'unauthorized' },
    ]);
  });

  it('answers 401 on every admin route before anything else, for a random id too', async () => {
    const doc = await (await b.app.request('/openapi.json')).json();
    let checked = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { security?: Array<Record<string, unknown>> }>>)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op.security) continue;
        const url = path.replace('{db}', 'nope').replace('{name}', 'nope').replace('{kind}', 'k8s').replace('{id}', crypto.randomUUID());
        const res = await b.app.request(url, {
          method: method.toUpperCase(),
          headers: { 'content-type': 'application/json' },
          body: method === 'get' ? undefined : '{}',
        });
        expect(`${method} ${path} ${res.status}`).toBe(`${method} ${path} 401`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(25);
  });

  it('lets an admin token revoke only tokens whose scopes it holds', async () => {
    const create = async (name: string, scopes: string[]) =>
      (await (await b.admin('POST', '/api/v1/admin-tokens', { name, scopes })).json()) as { id: string; token: string };
    const strong = await create('strong', ['operations:run', 'databases:write', 'tokens:write']);
    const weak = await create('weak', ['tokens:write']);
    const peer = await create('peer', ['tokens:write']);

    const denied = await b.admin('DELETE', `/api/v1/admin-tokens/${strong.id}`, undefined, weak.token);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'insufficient_scope' });
    // The stronger token still works.
    expect((await b.admin('GET', '/api/v1/admin-tokens', undefined, strong.token)).status).toBe(200);
    const { rows } = await b.deps.sql.query("SELECT outcome, code FROM pgmint.audit_log WHERE action = 'admin_token.revoke'");
    expect(rows).toEqual([{ outcome: 'denied', code: 'insufficient_scope' }]);

    expect((await b.admin('DELETE', `/api/v1/admin-tokens/${peer.id}`, undefined, weak.token)).status).toBe(200);
    expect((await b.admin('GET', '/api/v1/admin-tokens', undefined, peer.token)).status).toBe(401);
    expect((await b.admin('DELETE', `/api/v1/admin-tokens/${weak.id}`, undefined, strong.token)).status).toBe(200);
  });
});
