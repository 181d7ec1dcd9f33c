/**
 * TokenVerifier against a real issuer on loopback (the dev issuer): the happy
 * path, and a hostile corpus that must each be refused with `invalid_token`.
 */
import { decodeJwt, exportSPKI, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevIssuer, startDevIssuer } from '../../functions/local/dev-issuer.js';
import type { PgmintError } from '../../lib/errors.js';
import { refusal } from './refusal.js';
import { type IssuerKeys, k8sIdentity, TokenVerifier } from '../../lib/identity/index.js';

let issuer: DevIssuer;
let registration: IssuerKeys;
let publicJwk: JWK;

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

const causeCode = (err: PgmintError) => (err.cause as { code?: string } | undefined)?.code;
const causeClaim = (err: PgmintError) => (err.cause as { claim?: string } | undefined)?.claim;

beforeAll(async () => {
  issuer = await startDevIssuer();
  registration = { issuer: issuer.url, audiences: ['pgmint'] };
  const jwks = (await (await fetch(`${issuer.url}/openid/v1/jwks`)).json()) as { keys: JWK[] };
  publicJwk = jwks.keys.find((k) => k.kty === 'RSA') as JWK;
});
afterAll(() => issuer.stop());

const verifier = () => new TokenVerifier({ allowInsecureIssuers: true });

describe('TokenVerifier with the dev issuer', () => {
  it('accepts a valid RS256 token and returns its claims', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-1' });
    const { payload, protectedHeader } = await verifier().verify(token, registration);
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.iss).toBe(issuer.url);
    expect(payload.sub).toBe('system:serviceaccount:prod:api');
    expect(k8sIdentity(payload)).toMatchObject({ namespace: 'prod', serviceAccount: 'api', podName: 'api-1' });
  });

  it('accepts a valid ES256 token', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api' }, { alg: 'ES256' });
    const { protectedHeader } = await verifier().verify(token, registration);
    expect(protectedHeader.alg).toBe('ES256');
  });

  it('accepts a token whose aud holds one of several configured audiences', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', audience: ['vault', 'other'] });
    await expect(verifier().verify(token, { ...registration, audiences: ['pgmint', 'other'] })).resolves.toBeTruthy();
  });

  it('refuses http:// issuers unless allowed, and only on loopback', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api' });
    await expect(new TokenVerifier().verify(token, registration)).rejects.toBeInstanceOf(TypeError);
    await expect(verifier().verify(token, { issuer: 'http://issuer.example.com', audiences: ['pgmint'] })).rejects.toBeInstanceOf(
      TypeError,
    );
  });
});

describe('hostile corpus: every token refused with invalid_token', () => {
  const claims = () => {
    const now = Math.floor(Date.now() / 1000);
    return {
      iss: issuer.url,
      sub: 'system:serviceaccount:prod:api',
      aud: ['pgmint'],
      iat: now,
      nbf: now,
      exp: now + 3600,
    };
  };

  it('alg: none', async () => {
    const v = verifier();
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: publicJwk.kid })}.${b64(claims())}.`;
    const err = await refusal(() => v.verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeCode(err)).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    // Refused before any key lookup: a forged header costs no fetch.
    expect(v.stats().jwksFetches).toBe(0);
  });

  it('alg: none with a copied signature', async () => {
    const real = await issuer.mint({ namespace: 'prod', serviceAccount: 'api' });
    const token = `${b64({ alg: 'none' })}.${b64(claims())}.${real.split('.')[2]}`;
    expect((await refusal(() => verifier().verify(token, registration))).code).toBe('invalid_token');
  });

  it.each([
    ['the JWK JSON', () => new TextEncoder().encode(JSON.stringify(publicJwk))],
    ['the PEM', async () => new TextEncoder().encode(await exportSPKI((await importJWK(publicJwk, 'RS256')) as CryptoKey))],
  ])('HS256 signed with the issuer public key as the HMAC secret (%s)', async (_name, secret) => {
    const v = verifier();
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: publicJwk.kid }).sign(await secret());
    const err = await refusal(() => v.verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeCode(err)).toBe('ERR_JOSE_ALG_NOT_ALLOWED');
    expect(v.stats().jwksFetches).toBe(0);
  });

  it.each(['HS384', 'HS512', 'none', 'NONE', 'dir', 'RSA-OAEP'])('alg %s is refused', async (alg) => {
    const token = `${b64({ alg, kid: publicJwk.kid })}.${b64(claims())}.${b64('sig')}`;
    expect((await refusal(() => verifier().verify(token, registration))).code).toBe('invalid_token');
  });

  it('signed by another key under the issuer kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid: publicJwk.kid }).sign(privateKey);
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeCode(err)).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('signed by another key with its own kid', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'ES256', kid: 'attacker' }).sign(privateKey);
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeCode(err)).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('a tampered payload under a genuine signature', async () => {
    const real = await issuer.mint({ namespace: 'dev', serviceAccount: 'api' });
    const [h, , s] = real.split('.');
    const token = `${h}.${b64({ ...decodeJwt(real), sub: 'system:serviceaccount:prod:admin' })}.${s}`;
    const err = await refusal(() => verifier().verify(token, registration));
    expect(causeCode(err)).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });

  it('wrong audience', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', audience: 'sts.amazonaws.com' });
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeClaim(err)).toBe('aud');
  });

  it('no audience', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', aud: undefined });
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeClaim(err)).toBe('aud');
  });

  it('wrong issuer claim under a genuine signature', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', iss: `${issuer.url}/` });
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeClaim(err)).toBe('iss');
  });

  it("another issuer's genuine token presented for this registration", async () => {
    const other = await startDevIssuer();
    try {
      const token = await other.mint({ namespace: 'prod', serviceAccount: 'api' });
      const err = await refusal(() => verifier().verify(token, registration));
      expect(err.code).toBe('invalid_token');
      // And against its own issuer it is fine: the refusal above is about the issuer, not the token.
      await expect(verifier().verify(token, { issuer: other.url, audiences: ['pgmint'] })).resolves.toBeTruthy();
    } finally {
      await other.stop();
    }
  });

  describe('expiry with 60 s leeway (frozen clock)', () => {
    let token: string;
    let exp: number;
    beforeAll(async () => {
      token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api' }, { ttlSec: 600 });
      exp = decodeJwt(token).exp as number;
    });
    const at = (sec: number) => new TokenVerifier({ allowInsecureIssuers: true, now: () => new Date(sec * 1000) });

    it('accepted 59 s after exp', async () => {
      await expect(at(exp + 59).verify(token, registration)).resolves.toBeTruthy();
    });
    it('refused 61 s after exp', async () => {
      const err = await refusal(() => at(exp + 61).verify(token, registration));
      expect(err.code).toBe('invalid_token');
      expect(causeCode(err)).toBe('ERR_JWT_EXPIRED');
    });
    it('refused an hour after exp (real clock)', async () => {
      const expired = await issuer.mint({ namespace: 'prod', serviceAccount: 'api' }, { ttlSec: -3600 });
      const err = await refusal(() => verifier().verify(expired, registration));
      expect(causeCode(err)).toBe('ERR_JWT_EXPIRED');
    });
  });

  it('not yet valid (nbf an hour ahead); accepted within leeway', async () => {
    const now = Math.floor(Date.now() / 1000);
    const future = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', nbf: now + 3600 });
    const err = await refusal(() => verifier().verify(future, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeClaim(err)).toBe('nbf');
    const soon = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', nbf: now + 30 });
    await expect(verifier().verify(soon, registration)).resolves.toBeTruthy();
  });

  it('missing exp', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', exp: undefined });
    expect(decodeJwt(token).exp).toBeUndefined();
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(causeClaim(err)).toBe('exp');
  });

  it('exp that is not a number', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', exp: '9999999999' });
    expect((await refusal(() => verifier().verify(token, registration))).code).toBe('invalid_token');
  });

  it('a 20 KiB token, genuinely signed, refused before any fetch', async () => {
    const v = verifier();
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', pad: 'x'.repeat(20 * 1024) });
    expect(token.length).toBeGreaterThan(20 * 1024);
    const err = await refusal(() => v.verify(token, registration));
    expect(err.code).toBe('invalid_token');
    expect(v.stats()).toMatchObject({ jwksFetches: 0, discoveryFetches: 0 });
    // The same claims under the limit verify: size is the only reason.
    await expect(
      new TokenVerifier({ allowInsecureIssuers: true, maxTokenBytes: 32 * 1024 }).verify(token, registration),
    ).resolves.toBeTruthy();
  });

  it.each([
    ['empty', ''],
    ['garbage', 'not a token at all'],
    ['one segment', 'eyJhbGciOiJSUzI1NiJ9'],
    ['empty segments', '..'],
    ['header not JSON', `${b64('nope')}.${b64({})}.${b64('sig')}`],
    ['payload not JSON', `${b64({ alg: 'RS256' })}.${b64('[1,2')}.${b64('sig')}`],
    ['JWE shape', 'eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'],
    ['non-ASCII', `${b64({ alg: 'RS256' })}.ü.${b64('sig')}`],
  ])('%s', async (_name, token) => {
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.code).toBe('invalid_token');
  });

  it('never puts the token in the error message', async () => {
    const token = await issuer.mint({ namespace: 'prod', serviceAccount: 'api', audience: 'wrong' });
    const err = await refusal(() => verifier().verify(token, registration));
    expect(err.message).not.toContain(token.split('.')[1]);
    expect(err.message).not.toContain(token.split('.')[2]);
  });
});
