import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';

// A target whose every slot is taken answers 503 with Retry-After once the
// queue timeout passes, writes nothing, and serves again when a slot frees.
describe('exchange against a saturated target', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_TARGET_CONCURRENCY: '1', PGMINT_QUEUE_TIMEOUT: '0.2' } });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  const exchange = async () => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() });
    return fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
  };

  it('is told to retry, with nothing written, and then served', async () => {
    const target = await b.deps.targets.open((await b.deps.store.databases.get('main'))!);
    let release!: () => void;
    const held = target.limiter.run(() => new Promise<void>((r) => (release = r)));
    try {
      const res = await exchange();
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect((await res.json()).code).toBe('target_unavailable');
      const { rows } = await b.deps.sql.query('SELECT count(*)::int AS n FROM pgmint.leases');
      expect(rows[0]).toEqual({ n: 0 });
      const { rows: audit } = await b.deps.sql.query("SELECT outcome, code FROM pgmint.audit_log WHERE action = 'credentials.issue'");
      expect(audit).toEqual([{ outcome: 'error', code: 'target_unavailable' }]);
    } finally {
      release();
      await held;
    }
    const res = await exchange();
    expect(res.status).toBe(200);
    const creds = await res.json();
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
  });
});
