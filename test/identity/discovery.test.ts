/**
 * OIDC discovery over real HTTP on loopback: the dev issuer, and issuers laid
 * out like EKS (`/keys`) and Azure (issuer ending with '/'), plus broken ones.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../functions/local/dev-issuer.js';
import { PgmintError } from '../../lib/errors.js';
import { discover, TokenVerifier, validateIssuerUrl } from '../../lib/identity/index.js';

let dev: DevIssuer;
let server: Server;
let base: string;
let signingKey: CryptoKey;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PgmintError) return err.code;
    if (err instanceof TypeError) return 'TypeError';
    throw err;
  }
  return 'accepted';
}

beforeAll(async () => {
  dev = await startDevIssuer();
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  signingKey = privateKey;
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] };

  const app = new Hono();
  // EKS layout: keys at {issuer}/keys.
  app.get('/id/ABC/.well-known/openid-configuration', (c) =>
    c.json({ issuer: `${base}/id/ABC`, jwks_uri: `${base}/id/ABC/keys`, response_types_supported: ['id_token'] }),
  );
  app.get('/id/ABC/keys', (c) => c.json(jwks));
  // Azure self-managed layout: the issuer ends with '/'.
  app.get('/oidc-test/.well-known/openid-configuration', (c) =>
    c.json({ issuer: `${base}/oidc-test/`, jwks_uri: `${base}/oidc-test/openid/v1/jwks` }),
  );
  app.get('/oidc-test/openid/v1/jwks', (c) => c.json(jwks));
  // Broken issuers.
  app.get('/liar/.well-known/openid-configuration', (c) =>
    c.json({ issuer: 'https://other.example.com', jwks_uri: `${base}/id/ABC/keys` }),
  );
  app.get('/no-jwks/.well-known/openid-configuration', (c) => c.json({ issuer: `${base}/no-jwks` }));
  app.get('/remote-jwks/.well-known/openid-configuration', (c) =>
    c.json({ issuer: `${base}/remote-jwks`, jwks_uri: 'http://example.com/keys' }),
  );
  app.get('/error/.well-known/openid-configuration', (c) => c.text('boom', 500));
  app.get('/html/.well-known/openid-configuration', (c) => c.html('<html></html>'));
  app.get('/redirect/.well-known/openid-configuration', (c) => c.redirect(`${base}/id/ABC/.well-known/openid-configuration`));
  app.get('/bad-jwks/.well-known/openid-configuration', (c) => c.json({ issuer: `${base}/bad-jwks`, jwks_uri: `${base}/bad-jwks/keys` }));
  app.get('/bad-jwks/keys', (c) => c.json({ nope: true }));

  server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server)) as Server;
  });
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await dev.stop();
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
});

const opts = { allowInsecureIssuers: true };
const sign = (iss: string) =>
  new SignJWT({ sub: 'system:serviceaccount:prod:api', aud: 'pgmint' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(iss)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(signingKey);

describe('discover', () => {
  it('reads the dev issuer like kube-apiserver', async () => {
    expect(await discover(dev.url, opts)).toEqual({ issuer: dev.url, jwks_uri: `${dev.url}/openid/v1/jwks` });
  });

  it('EKS layout: jwks at /keys, and a token verifies through it', async () => {
    const issuer = `${base}/id/ABC`;
    expect((await discover(issuer, opts)).jwks_uri).toBe(`${issuer}/keys`);
    const v = new TokenVerifier(opts);
    await expect(v.verify(await sign(issuer), { issuer, audiences: ['pgmint'] })).resolves.toBeTruthy();
    expect(v.stats().jwksFetches).toBe(1);
  });

  it("Azure layout: the issuer's trailing slash is kept in iss and dropped once for discovery", async () => {
    const issuer = `${base}/oidc-test/`;
    expect(await discover(issuer, opts)).toEqual({ issuer, jwks_uri: `${base}/oidc-test/openid/v1/jwks` });
    await expect(new TokenVerifier(opts).verify(await sign(issuer), { issuer, audiences: ['pgmint'] })).resolves.toBeTruthy();
    // Registered without the slash: the document names another issuer.
    expect(await codeOf(discover(`${base}/oidc-test`, opts))).toBe('issuer_unavailable');
  });

  it.each([
    ['a document naming another issuer', 'liar'],
    ['a document without jwks_uri', 'no-jwks'],
    ['a jwks_uri over plain http off loopback', 'remote-jwks'],
    ['HTTP 500', 'error'],
    ['HTML instead of JSON', 'html'],
    ['a redirect', 'redirect'],
    ['nothing there (404)', 'missing'],
  ])('%s is issuer_unavailable', async (_name, path) => {
    expect(await codeOf(discover(`${base}/${path}`, opts))).toBe('issuer_unavailable');
  });

  it('a JWKS that is not a key set makes tokens issuer_unavailable', async () => {
    const issuer = `${base}/bad-jwks`;
    expect(await codeOf(new TokenVerifier(opts).verify(await sign(issuer), { issuer, audiences: ['pgmint'] }))).toBe('issuer_unavailable');
  });

  it('nothing listening is issuer_unavailable', async () => {
    const gone = await startDevIssuer();
    await gone.stop();
    expect(await codeOf(discover(gone.url, opts))).toBe('issuer_unavailable');
  });

  it('http:// issuers need allowInsecureIssuers and loopback (TypeError otherwise)', async () => {
    expect(await codeOf(discover(dev.url))).toBe('TypeError');
    expect(await codeOf(discover('http://10.0.0.1:8080', opts))).toBe('TypeError');
  });
});

describe('validateIssuerUrl', () => {
  it.each([
    ['https://oidc.eks.eu-west-1.amazonaws.com/id/ABC', false],
    ['https://x.blob.core.windows.net/oidc-test/', false],
    ['http://127.0.0.1:9000', true],
    ['http://127.1.2.3', true],
    ['http://localhost:8080', true],
    ['http://[::1]:8080', true],
  ])('%s is accepted (insecure allowed: %s)', (url, allowInsecure) => {
    expect(validateIssuerUrl(url, { allowInsecure })).toBeNull();
  });

  it.each([
    ['http://127.0.0.1:9000', false],
    ['http://issuer.example.com', true],
    ['http://127.0.0.1.nip.io', true],
    ['http://localhost.example.com', true],
    ['http://[::2]', true],
    ['ftp://issuer.example.com', true],
    ['kubernetes/serviceaccount', true],
    ['https://user:pw@issuer.example.com', false],
    ['https://issuer.example.com?x=1', false],
    ['https://issuer.example.com#frag', false],
    ['', false],
  ])('%s is refused (insecure allowed: %s)', (url, allowInsecure) => {
    expect(validateIssuerUrl(url, { allowInsecure })).toEqual(expect.any(String));
  });
});
