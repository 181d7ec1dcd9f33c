import { dirname } from 'node:path';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expireLeaseIn, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, serverUrl, withSuperuser } from '../support/postgres.js';
import { startWsProxy, type WsProxy } from '../support/ws-proxy.js';
import { type Built, buildOnce, expectWorkingCredential, newSecretKey } from './support.js';

interface Creds {
  user: string;
  password: string;
  connection_uri: string;
  lease_id: string;
  expires_at: string;
}

// The built Workers module in workerd (Miniflare), reaching a real Postgres
// through @neondatabase/serverless over a loopback WebSocket-to-TCP proxy.
describe('edge bundle in workerd', () => {
  let built: Built;
  let proxy: WsProxy;
  let b: TestBroker;
  let mf: Miniflare;
  const secretKey = newSecretKey();

  beforeAll(async () => {
    [built, proxy] = await Promise.all([buildOnce(['edge']), startWsProxy()]);
    b = await startTestBroker({ env: { PGMINT_SECRET_KEY: secretKey } });
    await b.setupDefault();
    mf = new Miniflare({
      modules: true,
      scriptPath: built.bundle('edge').file,
      modulesRoot: dirname(built.bundle('edge').file),
      compatibilityDate: '2025-09-01',
      bindings: {
        PGMINT_DATABASE_URL: serverUrl(b.pg, b.controlDb),
        PGMINT_SECRET_KEY: secretKey,
        PGMINT_ADMIN_TOKEN: ADMIN_TOKEN,
        PGMINT_DRIVER: 'neon',
        PGMINT_NEON_WS_PROXY: proxy.wsProxy,
        PGMINT_ALLOW_INSECURE_ISSUERS: '1',
        PGMINT_SWEEP_GRACE: '0',
      },
    });
    await mf.ready;
  });
  afterAll(async () => {
    await mf?.dispose();
    await b?.close();
    await proxy?.stop();
    await built?.remove();
  });

  it('contains the neon driver and neither pg nor any node: module', () => {
    const inputs = built.bundle('edge').inputs;
    expect(inputs.some((f) => f.includes('node_modules/@neondatabase/serverless/'))).toBe(true);
    expect(inputs.filter((f) => /node_modules\/(pg|pg-pool|pg-protocol|ws)\//.test(f))).toEqual([]);
    expect(built.bundle('edge').exports).toEqual(['default']);
  });

  it('exchanges a token in workerd, and the credentials log in with pg', async () => {
    const before = proxy.connections();
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-edge', podUid: crypto.randomUUID() });
    const res = await mf.dispatchFetch('http://pgmint.example/api/v1/databases/main/credentials/k8s?ttl=10m', {
      headers: { authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const creds = JSON.parse(text) as Creds;
    expect(creds.user).toMatch(/^pgm_prod_api_/);
    await expectWorkingCredential(b, creds);
    // Control plane and target were both reached over WebSocket.
    expect(proxy.connections() - before).toBeGreaterThanOrEqual(2);
    expect((await b.deps.store.leases.get(creds.lease_id))?.state).toBe('active');
  });

  it('answers problem+json with a code for a bad token, and serves the OpenAPI document', async () => {
    const res = await mf.dispatchFetch('http://pgmint.example/api/v1/databases/main/credentials/k8s', {
      headers: { authorization: 'Bearer not-a-jwt' },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as { code: string }).code).toBe('invalid_token');
    const doc = await mf.dispatchFetch('http://pgmint.example/openapi.json');
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { openapi: string }).openapi).toBe('3.1.0');
  });

  it('serves admin routes from the same app', async () => {
    const res = await mf.dispatchFetch('http://pgmint.example/api/v1/databases', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain('main');
  });

  // Miniflare's Fetcher type comes from workers-types, which this project does not install.
  const scheduler = async () => (await mf.getWorker()) as unknown as { scheduled(o: { cron: string }): Promise<{ outcome: string }> };

  const roleExists = (name: string) =>
    withSuperuser(b.pg, 'postgres', async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1);

  it('scheduled (every minute) sweeps an expired lease: the role is dropped', async () => {
    const token = await b.issuer.mint({ namespace: 'batch', serviceAccount: 'job', podName: 'job-edge', podUid: crypto.randomUUID() });
    const res = await mf.dispatchFetch('http://pgmint.example/api/v1/databases/main/credentials/k8s?ttl=30', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const creds = (await res.json()) as Creds;
    expect(await roleExists(creds.user)).toBe(true);
    const expiry = await expireLeaseIn(b, creds, 1);
    await new Promise((r) => setTimeout(r, Math.max(0, expiry.getTime() - Date.now()) + 1100));
    const worker = await scheduler();
    expect((await worker.scheduled({ cron: '* * * * *' })).outcome).toBe('ok');
    expect(await roleExists(creds.user)).toBe(false);
    expect((await b.deps.store.leases.get(creds.lease_id))?.state).toBe('revoked');
  });

  it('scheduled (0 3 * * *) rotates a root credential that is due; exchanges keep working', async () => {
    await b.deps.sql.query("UPDATE pgmint.databases SET root_rotated_at = now() - interval '8 days' WHERE id = 'main'");
    const worker = await scheduler();
    expect((await worker.scheduled({ cron: '0 3 * * *' })).outcome).toBe('ok');
    await expect(loginAs(b.pg, b.targetDb, b.brokerUser, b.brokerPassword)).rejects.toMatchObject({ code: '28P01' });
    const { rows } = await b.deps.sql.query<{ fresh: boolean }>(
      "SELECT root_rotated_at > now() - interval '1 minute' AS fresh FROM pgmint.databases WHERE id = 'main'",
    );
    expect(rows[0]!.fresh).toBe(true);
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-after', podUid: crypto.randomUUID() });
    const res = await mf.dispatchFetch('http://pgmint.example/api/v1/databases/main/credentials/k8s', {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const creds = (await res.json()) as Creds;
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
  });
});
