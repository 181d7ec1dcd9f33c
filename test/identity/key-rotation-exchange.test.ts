/**
 * A cluster rotates its signing key while workloads exchange tokens: through
 * the broker's HTTP API, a token with the new kid is answered 503 with
 * Retry-After while the refetch cooldown runs, and 200 once it ends — never
 * 401, which clients treat as final.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';

// Long enough that minting and rotating (an RSA key generation) surely fit inside it on a busy machine.
const COOLDOWN_SEC = 8;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('signing-key rotation during exchanges', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ env: { PGMINT_JWKS_COOLDOWN: String(COOLDOWN_SEC) } });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  const exchange = (token: string) =>
    fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
  const mint = () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() });

  it('answers 503 with the cooldown left for the new kid, then 200, never 401', async () => {
    expect((await exchange(await mint())).status).toBe(200); // keys fetched now: the cooldown starts
    await b.issuer.rotateKey();
    const rotated = await mint();

    const first = await exchange(rotated);
    expect(first.status).toBe(503);
    const problem = await first.json();
    expect(problem.code).toBe('issuer_unavailable');
    const retryAfter = Number(first.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(COOLDOWN_SEC);

    // A client that honours Retry-After gets through; every answer on the way is 503 or 200.
    const statuses: number[] = [];
    let res = first;
    for (let attempt = 0; attempt < 20 && res.status !== 200; attempt++) {
      await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
      res = await exchange(rotated);
      statuses.push(res.status);
    }
    expect(
      statuses.every((s) => s === 503 || s === 200),
      statuses.join(','),
    ).toBe(true);
    expect(res.status).toBe(200);
    const creds = await res.json();
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    // The old key is still served by the issuer, so its tokens keep working.
    expect((await exchange(await mint())).status).toBe(200);
  });

  it('the refusals are audited with their reason', async () => {
    const q = new URLSearchParams({ database: 'main', action: 'credentials.issue', outcome: 'error' });
    const { entries } = await (await b.admin('GET', `/api/v1/audit?${q}`)).json();
    expect(entries.length).toBeGreaterThanOrEqual(1);
    for (const e of entries) {
      expect(e.code).toBe('issuer_unavailable');
      expect(e.detail.reason).toMatch(/not fetched yet/);
    }
  });

  it('a kid the issuer never had is 401 once a copy fetched after it was first seen lacks it', async () => {
    const bogus = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }, { kid: 'never-served' });
    const statuses: number[] = [];
    let res = await exchange(bogus);
    statuses.push(res.status);
    for (let attempt = 0; attempt < 20 && res.status === 503; attempt++) {
      await sleep(Number(res.headers.get('retry-after') ?? '1') * 1000);
      res = await exchange(bogus);
      statuses.push(res.status);
    }
    expect(res.status, statuses.join(',')).toBe(401);
    // …and stays 401 inside the next cooldown.
    expect((await exchange(bogus)).status).toBe(401);
  });
});
