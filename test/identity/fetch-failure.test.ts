/**
 * Failure descriptions from real fetch errors: a refused connection, an
 * untrusted certificate, a timeout, and answers that are not 200; the URL
 * never keeps its query.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchWithCa } from '../../functions/runtime/ca-fetch.js';
import { describeFetchError, fetchFailureHint, statusFailure, urlWithoutQuery } from '../../lib/identity/fetch-failure.js';
import { makeTestCa, type TestCa } from '../support/test-ca.js';

async function failureOf(url: string, f: typeof fetch = fetch, timeoutMs = 5_000) {
  try {
    await f(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return describeFetchError(err, url, 'discovery');
  }
  throw new Error('fetch succeeded');
}

describe('describing fetch failures', () => {
  let ca: TestCa;
  let tls: ReturnType<typeof createHttpsServer>;
  let silent: Server;
  let tlsUrl: string;
  let silentUrl: string;
  const held: Socket[] = [];

  beforeAll(async () => {
    ca = await makeTestCa();
    tls = createHttpsServer({ key: ca.key, cert: ca.cert }, (_req, res) => res.end('{}'));
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    tlsUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
    // Accepts connections and never answers.
    silent = createServer((socket) => {
      held.push(socket);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    tls?.closeAllConnections();
    await new Promise((r) => tls?.close(r));
    for (const socket of held) socket.destroy();
    await new Promise((r) => silent?.close(r));
  });

  it('a refused connection names the network error', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const failure = await failureOf(`http://127.0.0.1:${port}/.well-known/openid-configuration?sig=secret`);
    expect(failure).toMatchObject({
      stage: 'discovery',
      error_code: 'ECONNREFUSED',
      url: `http://127.0.0.1:${port}/.well-known/openid-configuration`,
    });
    expect(JSON.stringify(failure)).not.toContain('secret');
    expect(fetchFailureHint(failure)).toMatch(/cannot reach/);
  });

  it("an untrusted certificate names the TLS code, with Node's fetch and with the CA fetch for another CA", async () => {
    expect(await failureOf(`${tlsUrl}/x`)).toMatchObject({ tls_code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const other = await makeTestCa();
    const failure = await failureOf(`${tlsUrl}/x`, fetchWithCa(other.caPem));
    expect(failure).toMatchObject({ tls_code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(fetchFailureHint(failure)).toMatch(/ca_pem/);
  });

  it('the CA fetch trusts its CA and answers a standard Response', async () => {
    const res = await fetchWithCa(ca.caPem)(`${tlsUrl}/x`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({});
  });

  it('a server that never answers is a timeout', async () => {
    expect(await failureOf(`${silentUrl}/x`, fetch, 300)).toMatchObject({ error_code: 'timeout' });
    expect(
      await failureOf(`${tlsUrl.replace(/:\d+$/, `:${(silent.address() as AddressInfo).port}`)}/x`, fetchWithCa(ca.caPem), 300),
    ).toMatchObject({
      error_code: 'timeout',
    });
  });

  it('a status answer says the status, and 403 points at the RBAC binding', () => {
    const failure = statusFailure('jwks', 'https://kube.internal/openid/v1/jwks?x=1', 403);
    expect(failure).toEqual({ stage: 'jwks', url: 'https://kube.internal/openid/v1/jwks', status: 403, reason: 'jwks answered HTTP 403' });
    expect(fetchFailureHint(failure)).toMatch(/system:service-account-issuer-discovery/);
    expect(urlWithoutQuery('not a url?q=1#f')).toBe('not a url');
  });
});
