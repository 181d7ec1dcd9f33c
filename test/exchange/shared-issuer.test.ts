import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';

// Two registrations of one cluster issuer for one database, each allowing
// different service accounts: a token is accepted when either accepts it.
describe('several registrations of the same issuer', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    const res = await b.admin('POST', '/api/v1/databases/main/issuers', {
      issuer: b.issuer.url,
      allowed_service_accounts: ['ops/*'],
      default_role: 'readonly',
    });
    expect(res.status).toBe(201);
  });
  afterAll(() => b?.close());

  const exchange = async (namespace: string, serviceAccount: string) =>
    fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, {
      headers: { authorization: `Bearer ${await b.issuer.mint({ namespace, serviceAccount, podUid: crypto.randomUUID() })}` },
    });

  it('serves the service accounts of the first and of the second registration', async () => {
    for (const [ns, sa] of [
      ['prod', 'api'],
      ['ops', 'backup'],
    ] as const) {
      const res = await exchange(ns, sa);
      expect(res.status).toBe(200);
      const creds = await res.json();
      expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    }
  });

  it('refuses a service account neither allows, as not_allowed', async () => {
    const res = await exchange('billing', 'api');
    expect(res.status).toBe(403);
    expect((await res.json()).code).toBe('not_allowed');
  });
});
