import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';
import { startWsProxy, type WsProxy } from '../support/ws-proxy.js';

// The whole broker (control plane and target) over @neondatabase/serverless,
// through a WebSocket-to-TCP proxy on loopback, against the same real Postgres.
describe('exchange with PGMINT_DRIVER=neon', () => {
  let proxy: WsProxy;
  let b: TestBroker;
  beforeAll(async () => {
    proxy = await startWsProxy();
    b = await startTestBroker({ env: { PGMINT_DRIVER: 'neon', PGMINT_NEON_WS_PROXY: proxy.wsProxy } });
    await b.setupDefault();
  });
  afterAll(async () => {
    await b?.close();
    await proxy?.stop();
  });

  it('mints a credential that logs in, with every query travelling over WebSocket', async () => {
    const before = proxy.connections();
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-neon', podUid: crypto.randomUUID() });
    const res = await fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const creds = await res.json();
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    expect(proxy.connections()).toBeGreaterThan(0);
    expect(proxy.connections()).toBeGreaterThanOrEqual(before);
    const lease = await b.deps.store.leases.get(creds.lease_id);
    expect(lease?.state).toBe('active');
  });
});
