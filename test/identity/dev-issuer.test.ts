/**
 * The development issuer: what it serves, what its tokens look like, and its
 * key file shared with `pgmint token dev` (mintDevToken).
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, exportSPKI, importJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintDevToken, startDevIssuer } from '../../functions/local/dev-issuer.js';
import { k8sIdentity, TokenVerifier } from '../../lib/identity/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pgmint-dev-issuer-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const verifier = () => new TokenVerifier({ allowInsecureIssuers: true });

describe('dev issuer', () => {
  it('serves discovery and a JWKS like kube-apiserver', async () => {
    const issuer = await startDevIssuer();
    try {
      expect(issuer.url).toBe(`http://127.0.0.1:${issuer.port}`);
      const doc = await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json();
      expect(doc).toMatchObject({ issuer: issuer.url, jwks_uri: `${issuer.url}/openid/v1/jwks` });
      const res = await fetch(`${issuer.url}/openid/v1/jwks`);
      expect(res.headers.get('content-type')).toContain('application/jwk-set+json');
      const { keys } = (await res.json()) as { keys: Array<Record<string, string>> };
      expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
      for (const k of keys) {
        expect(k).not.toHaveProperty('d');
        expect(k.use).toBe('sig');
      }
      expect(issuer.jwksRequests()).toBe(1);
      expect((await fetch(`${issuer.url}/nope`)).status).toBe(404);
    } finally {
      await issuer.stop();
    }
  });

  it('mints tokens shaped like projected service-account tokens', async () => {
    const issuer = await startDevIssuer();
    try {
      const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-0', podUid: 'p-1' });
      const header = decodeProtectedHeader(token);
      const claims = decodeJwt(token);
      expect(header.alg).toBe('RS256');
      expect(claims).toMatchObject({
        iss: issuer.url,
        sub: 'system:serviceaccount:prod:api',
        aud: ['pgmint'],
        'kubernetes.io': { namespace: 'prod', pod: { name: 'api-0', uid: 'p-1' }, serviceaccount: { name: 'api' } },
      });
      expect(claims.jti).toEqual(expect.any(String));
      expect(claims.nbf).toBe(claims.iat);
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      // kid is kube-apiserver's: base64url(sha256(DER SPKI)) of the signing key.
      const jwk = issuer.privateJwk();
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const der = Buffer.from(
        (await exportSPKI((await importJWK(pub, 'RS256')) as CryptoKey)).replace(/-----[^-]+-----|\s/g, ''),
        'base64',
      );
      const expectedKid = Buffer.from(await crypto.subtle.digest('SHA-256', der)).toString('base64url');
      expect(header.kid).toBe(expectedKid);
      // Same account, same uid.
      const again = decodeJwt(await issuer.mint({ namespace: 'prod', serviceAccount: 'api' }));
      expect((again['kubernetes.io'] as { serviceaccount: { uid: string } }).serviceaccount.uid).toBe(
        (claims['kubernetes.io'] as { serviceaccount: { uid: string } }).serviceaccount.uid,
      );
      const { payload } = await verifier().verify(token, { issuer: issuer.url, audiences: ['pgmint'] });
      expect(k8sIdentity(payload)).toMatchObject({ namespace: 'prod', serviceAccount: 'api', podName: 'api-0', podUid: 'p-1' });
    } finally {
      await issuer.stop();
    }
  });

  it('refuses to sign with algorithms it does not hold', async () => {
    const issuer = await startDevIssuer();
    try {
      await expect(issuer.mint({ namespace: 'a', serviceAccount: 'b' }, { alg: 'HS256' })).rejects.toBeInstanceOf(TypeError);
    } finally {
      await issuer.stop();
    }
  });

  it('creates the key file once, reuses it after a restart, and mintDevToken signs with it offline', async () => {
    const keyFile = join(dir, 'nested', 'issuer-key.json');
    const first = await startDevIssuer({ keyFile });
    const port = first.port;
    const kid = decodeProtectedHeader(await first.mint({ namespace: 'a', serviceAccount: 'b' })).kid;
    expect(JSON.parse(await readFile(keyFile, 'utf8'))).toMatchObject({ kty: 'RSA', d: expect.any(String), kid });
    expect((await stat(keyFile)).mode & 0o077).toBe(0);
    await first.stop();

    // A CLI mints while no issuer runs…
    const cliToken = await mintDevToken(keyFile, `http://127.0.0.1:${port}`, { namespace: 'prod', serviceAccount: 'cli' }, 120);
    expect((decodeJwt(cliToken).exp as number) - (decodeJwt(cliToken).iat as number)).toBe(120);
    // …and the issuer restarted on the same port with the same key verifies it.
    const second = await startDevIssuer({ keyFile, port });
    try {
      expect(second.privateJwk()).toMatchObject({ kid });
      const { payload } = await verifier().verify(cliToken, { issuer: second.url, audiences: ['pgmint'] });
      expect(payload.sub).toBe('system:serviceaccount:prod:cli');
    } finally {
      await second.stop();
    }
  });

  it('mintDevToken without a key file explains what to do', async () => {
    await expect(mintDevToken(join(dir, 'missing.json'), 'http://127.0.0.1:1', { namespace: 'a', serviceAccount: 'b' })).rejects.toThrow(
      /key/,
    );
  });

  it('rotateKey changes the kid, keeps the old public key served, and rewrites the key file', async () => {
    const keyFile = join(dir, 'rotating.json');
    const issuer = await startDevIssuer({ keyFile });
    try {
      const before = decodeProtectedHeader(await issuer.mint({ namespace: 'a', serviceAccount: 'b' })).kid;
      await issuer.rotateKey();
      const after = decodeProtectedHeader(await issuer.mint({ namespace: 'a', serviceAccount: 'b' })).kid;
      expect(after).not.toBe(before);
      const { keys } = (await (await fetch(`${issuer.url}/openid/v1/jwks`)).json()) as { keys: Array<{ kid: string }> };
      expect(keys.map((k) => k.kid)).toEqual(expect.arrayContaining([before, after]));
      expect(JSON.parse(await readFile(keyFile, 'utf8')).kid).toBe(after);
    } finally {
      await issuer.stop();
    }
  });
});
