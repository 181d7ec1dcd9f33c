/**
 * What an operator can require of a trusted issuer's tokens, through the
 * broker with real tokens from the dev issuer: no `iat` in the future, a
 * longest lifetime (default 48 h, 0 = none), pod-bound k8s tokens when asked;
 * and pinned keys that could never verify refused at registration, naming
 * the key.
 */
import { exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';

describe('token policy', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    // The same cluster trusted by a second database with the policy relaxed and pods required.
    for (const [id, extra] of [
      ['legacy', { max_token_lifetime: 0 }],
      ['bound', { require_bound_pod: true }],
    ] as const) {
      const db = await b.admin('GET', '/api/v1/databases/main');
      const { host, port, database } = await db.json();
      const steps: Array<[string, string, unknown]> = [
        [
          'POST',
          '/api/v1/databases',
          { id, host, port, database, admin_user: b.brokerUser, admin_password: b.brokerPassword, sslmode: 'disable' },
        ],
        ['PUT', `/api/v1/databases/${id}/roles/readonly`, { member_of: [`app_ro_${b.brokerUser.replace('pgmint_broker_', '')}`] }],
        [
          'POST',
          `/api/v1/databases/${id}/issuers`,
          { issuer: b.issuer.url, allowed_service_accounts: ['prod/*'], default_role: 'readonly', ...extra },
        ],
      ];
      for (const [method, path, body] of steps) {
        const res = await b.admin(method, path, body);
        expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
      }
    }
  });
  afterAll(() => b?.close());

  const now = () => Math.floor(Date.now() / 1000);
  const exchange = async (db: string, token: string) => {
    const res = await fetch(`${b.url}/api/v1/databases/${db}/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() };
  };
  const mint = (claims: Record<string, unknown> = {}, ttlSec?: number) =>
    b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', ...claims }, { ttlSec });
  const lastDenial = async (db: string) => {
    const q = new URLSearchParams({ database: db, action: 'credentials.issue', outcome: 'denied', limit: '1' });
    return (await (await b.admin('GET', `/api/v1/audit?${q}`)).json()).entries[0];
  };

  it('a token issued ten years ahead is refused; one a little ahead (clock skew within the leeway) is not', async () => {
    const future = await mint({ iat: now() + 10 * 365 * 86_400, nbf: undefined, exp: now() + 10 * 365 * 86_400 + 3600 });
    expect(await exchange('legacy', future)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
    expect(await lastDenial('legacy')).toMatchObject({ code: 'invalid_token' });
    const skewed = await mint({ iat: now() + 30, nbf: undefined });
    const ok = await exchange('main', skewed);
    expect(ok.status).toBe(200);
    expect(await loginAs(b.pg, b.targetDb, ok.body.user, ok.body.password)).toBe(ok.body.user);
  });

  it('a token living ten years is refused under the default 48 h and accepted where the limit is 0', async () => {
    const tenYears = await mint({}, 10 * 365 * 86_400);
    expect(await exchange('main', tenYears)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
    expect(await lastDenial('main')).toMatchObject({ code: 'invalid_token', detail: { max_token_lifetime: 172_800 } });
    expect((await exchange('legacy', tenYears)).status).toBe(200);
  });

  it('a token living exactly 48 h is accepted, one second more is not', async () => {
    expect((await exchange('main', await mint({}, 48 * 3600))).status).toBe(200);
    expect((await exchange('main', await mint({}, 48 * 3600 + 1))).status).toBe(401);
  });

  it('require_bound_pod refuses a token naming no pod, as kubectl create token mints them', async () => {
    const unbound = await mint({ 'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'api' } } });
    expect(await exchange('bound', unbound)).toMatchObject({ status: 401, body: { code: 'invalid_token' } });
    expect(await lastDenial('bound')).toMatchObject({ code: 'invalid_token', subject: 'system:serviceaccount:prod:api' });
    expect((await exchange('bound', await mint())).status).toBe(200);
    // Off by default: the same unbound token is fine for main.
    expect((await exchange('main', unbound)).status).toBe(200);
  });

  it('the issuer shows its policy', async () => {
    const { issuers } = await (await b.admin('GET', '/api/v1/databases/bound/issuers')).json();
    expect(issuers[0]).toMatchObject({ max_token_lifetime: 172_800, require_bound_pod: true, ca_pem: false });
  });

  it('require_bound_pod is refused for an oidc issuer', async () => {
    const res = await b.admin('POST', '/api/v1/databases/main/issuers', {
      kind: 'oidc',
      issuer: b.issuer.url,
      allowed_subjects: ['x'],
      default_role: 'readonly',
      require_bound_pod: true,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'invalid_request', field: 'require_bound_pod' });
  });
});

describe('pinned JWKS registration', () => {
  let b: TestBroker;
  let good: Record<string, unknown>;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    good = { ...(await exportJWK((await generateKeyPair('ES256')).publicKey)), kid: 'good' };
  });
  afterAll(() => b?.close());

  const register = (keys: unknown[]) =>
    b.admin('POST', '/api/v1/databases/main/issuers', {
      issuer: 'kubernetes/serviceaccount',
      allowed_service_accounts: ['prod/*'],
      default_role: 'readonly',
      jwks: { keys },
    });

  // jose will not generate one; WebCrypto will.
  const rsa1024 = async () => {
    const pair = await crypto.subtle.generateKey(
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    );
    return exportJWK(pair.publicKey);
  };

  const cases: Array<[string, () => Promise<unknown[]>, number]> = [
    ['an empty object', async () => [{}], 0],
    ['a symmetric key', async () => [good, { kty: 'oct', k: 'c2VjcmV0', alg: 'HS256' }], 1],
    ['a private key', async () => [{ ...good, kid: 'p', d: 'AAAA' }], 0],
    ['an allowed type with a disallowed alg', async () => [good, { ...good, kid: 'x', alg: 'HS256' }], 1],
    ['an encryption key', async () => [{ ...good, use: 'enc' }], 0],
    ['a curve that is not on its coordinates', async () => [good, good, { ...good, kid: 'bad', x: 'AAAA' }], 2],
    ['an unknown key type', async () => [{ kty: 'XYZ', kid: 'q' }], 0],
    ['RSA under 2048 bits', async () => [good, await rsa1024()], 1],
  ];
  for (const [name, keys, index] of cases) {
    it(`refuses ${name}, naming key ${index}`, async () => {
      const res = await register(await keys());
      expect(res.status).toBe(400);
      const problem = await res.json();
      expect(problem).toMatchObject({ code: 'invalid_config', field: `jwks.keys.${index}` });
      expect(problem.detail).toMatch(new RegExp(`key ${index}:`));
    });
  }

  it('accepts keys that import, and registers nothing for the refused ones', async () => {
    const res = await register([good]);
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ pinned_keys: true, discovery: null });
    const { issuers } = await (await b.admin('GET', '/api/v1/databases/main/issuers')).json();
    expect(issuers.filter((i: { pinned_keys: boolean }) => i.pinned_keys)).toHaveLength(1);
  });
});
