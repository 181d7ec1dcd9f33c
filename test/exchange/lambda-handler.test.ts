import { randomBytes } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';

function httpApiEvent(path: string, headers: Record<string, string>, query = '') {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: query,
    headers: { host: 'abc123.execute-api.eu-west-1.amazonaws.com', 'x-forwarded-proto': 'https', ...headers },
    queryStringParameters: query ? Object.fromEntries(new URLSearchParams(query)) : undefined,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
  };
}

const context = { functionName: 'pgmint-api', awsRequestId: 'aws-req-1' } as Context;

describe('functions/api.ts as a Lambda handler (API Gateway HTTP API v2)', () => {
  let b: TestBroker;
  let handler: (event: unknown, context: Context) => Promise<{ statusCode: number; headers: Record<string, string>; body: string }>;
  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    // The handler builds its own Deps from the environment, as on Lambda.
    Object.assign(process.env, b.env);
    ({ handler } = (await import('../../functions/api.js')) as never);
  });
  afterAll(() => b?.close());

  it('exchanges a token for credentials that log in', async () => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'lambda-pod', podUid: crypto.randomUUID() });
    const res = await handler(
      httpApiEvent('/api/v1/databases/main/credentials/k8s', { authorization: `Bearer ${token}` }, 'ttl=5m'),
      context,
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const creds = JSON.parse(res.body);
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
  });

  it('answers problem+json for a forged token', async () => {
    const res = await handler(
      httpApiEvent('/api/v1/databases/main/credentials/k8s', { authorization: `Bearer ${randomBytes(8).toString('hex')}` }),
      context,
    );
    expect(res.statusCode).toBe(401);
    expect(JSON.parse(res.body).code).toBe('invalid_token');
  });
});
