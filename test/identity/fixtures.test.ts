/**
 * Real Kubernetes tokens and issuer documents (test/fixtures/k8s, copied from the shared fixture set with their sources):
 * verification with pinned keys, refusals, discovery parsing and claim mapping.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactVerify, decodeJwt, type JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { PgmintError } from '../../lib/errors.js';
import { refusal } from './refusal.js';
import { discoveryUrl, k8sIdentity, parseDiscovery, peekIssuer, pinnedKeyResolver, TokenVerifier } from '../../lib/identity/index.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const fixturesDir = resolve(repoRoot, 'test/fixtures/k8s');

interface TokenFixture {
  token: string;
  public_key_pem_or_jwks: string | { keys: JsonWebKey[] } | null;
  decoded_claims: JWTPayload;
  decoded_header: Record<string, unknown>;
  iat?: number | null;
}

const fixture = <T = TokenFixture>(name: string): T => JSON.parse(readFileSync(resolve(fixturesDir, name), 'utf8')) as T;

const eks = fixture('eks-nats-k8s-oidc-callout-token.json');
const projected = fixture('vault-k8s-projected-jwtProjectedData.json');
const projectedExpired = fixture('vault-k8s-projected-jwtProjectedDataExpired.json');
const legacyData = fixture('vault-k8s-legacy-jwtData.json');
const legacyBadSa = fixture('vault-k8s-legacy-jwtBadServiceAccount.json');
const badSigningKey = fixture('vault-k8s-NEGATIVE-jwtWithBadSigningKey.json');
const es384 = fixture('vault-k8s-SYNTHETIC-jwtECDSASigned-ES384.json');
const unverifiable = fixture<{ tokens: TokenFixture[] }>('unverifiable-real-tokens.json').tokens;

const pem = (f: TokenFixture) => f.public_key_pem_or_jwks as string;
// Vault's minikube test tokens were minted to live ten years: accepted only with the lifetime limit off.
const MINIKUBE = { issuer: 'kubernetes/serviceaccount', audiences: ['kubernetes.default.svc'], maxTokenLifetimeSec: 0 };

const cause = (err: PgmintError) => err.cause as { code?: string; claim?: string; reason?: string };

/** A verifier that must never touch the network: pinned keys only. */
function offlineVerifier(now?: Date) {
  return new TokenVerifier({
    now: now ? () => now : undefined,
    fetch: () => Promise.reject(new Error('pinned keys must not fetch')),
  });
}

describe('real EKS token with its 13-key JWKS pinned', () => {
  const registration = {
    issuer: eks.decoded_claims.iss as string,
    audiences: ['sts.amazonaws.com'],
    pinnedJwks: eks.public_key_pem_or_jwks as { keys: JsonWebKey[] },
  };

  it('has 13 keys and verifies with the clock frozen at its iat', async () => {
    expect(registration.pinnedJwks.keys).toHaveLength(13);
    const v = offlineVerifier(new Date((eks.iat as number) * 1000));
    const { payload, protectedHeader } = await v.verify(eks.token, registration);
    expect(protectedHeader.kid).toBe('e3b1d185e0d794058a6346c32b2575ac0efb622e');
    expect(payload).toEqual(eks.decoded_claims);
    expect(v.stats()).toMatchObject({ jwksFetches: 0, discoveryFetches: 0 });
  });

  it('is refused as expired on the real clock', async () => {
    const err = await refusal(() => offlineVerifier().verify(eks.token, registration));
    expect(err.code).toBe('invalid_token');
    expect(cause(err).code).toBe('ERR_JWT_EXPIRED');
  });

  it('is refused for the pgmint audience', async () => {
    const v = offlineVerifier(new Date((eks.iat as number) * 1000));
    const err = await refusal(() => v.verify(eks.token, { ...registration, audiences: ['pgmint'] }));
    expect(err.code).toBe('invalid_token');
    expect(cause(err).claim).toBe('aud');
  });

  it('is refused when its key is not among the pinned ones', async () => {
    const others = registration.pinnedJwks.keys.filter((k) => (k as { kid?: string }).kid !== eks.decoded_header.kid);
    const v = offlineVerifier(new Date((eks.iat as number) * 1000));
    const err = await refusal(() => v.verify(eks.token, { ...registration, pinnedJwks: { keys: others } }));
    expect(err.code).toBe('invalid_token');
    expect(cause(err).code).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('peekIssuer reads its issuer', () => {
    expect(peekIssuer(eks.token)).toBe('https://oidc.eks.eu-west-1.amazonaws.com/id/B88E7287E54DB073AC9CDC2FD1BE0969');
  });
});

describe('minikube tokens (non-URL issuer kubernetes/serviceaccount) with the PEM pinned', () => {
  it('the bound token verifies', async () => {
    // Frozen a day after iat so the test outlives the token's 2030 expiry.
    const v = offlineVerifier(new Date(((projected.iat as number) + 86_400) * 1000));
    const { payload } = await v.verify(projected.token, { ...MINIKUBE, pinnedPems: [pem(projected)] });
    expect(payload.sub).toBe('system:serviceaccount:default:default');
    expect(peekIssuer(projected.token)).toBe('kubernetes/serviceaccount');
  });

  it('under the default 48 h max_token_lifetime its ten-year lifetime is refused, though its signature is good', async () => {
    const v = offlineVerifier(new Date(((projected.iat as number) + 86_400) * 1000));
    const { maxTokenLifetimeSec: _, ...defaults } = MINIKUBE;
    const err = await v.verify(projected.token, { ...defaults, pinnedPems: [pem(projected)] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgmintError);
    expect((err as PgmintError).code).toBe('invalid_token');
    expect((err as PgmintError).details).toMatchObject({ max_token_lifetime: 172_800 });
  });

  it('the same key pinned as a JWK verifies too', async () => {
    const { pemsToJwks } = await import('../../lib/identity/index.js');
    const keys = await pemsToJwks([pem(projected)]);
    const v = offlineVerifier(new Date(((projected.iat as number) + 60) * 1000));
    await expect(v.verify(projected.token, { ...MINIKUBE, pinnedJwks: { keys: keys as JsonWebKey[] } })).resolves.toBeTruthy();
  });

  it('the expired token is refused as expired', async () => {
    const err = await refusal(() => offlineVerifier().verify(projectedExpired.token, { ...MINIKUBE, pinnedPems: [pem(projectedExpired)] }));
    expect(err.code).toBe('invalid_token');
    expect(cause(err).code).toBe('ERR_JWT_EXPIRED');
  });

  it('the expired token is genuine: it verifies with the clock at its iat', async () => {
    const v = offlineVerifier(new Date((projectedExpired.iat as number) * 1000));
    await expect(v.verify(projectedExpired.token, { ...MINIKUBE, pinnedPems: [pem(projectedExpired)] })).resolves.toBeTruthy();
  });

  it('a non-URL issuer without pinned keys is a configuration error', async () => {
    await expect(offlineVerifier().verify(projected.token, MINIKUBE)).rejects.toBeInstanceOf(TypeError);
  });

  it.each([
    ['jwtData', legacyData],
    ['jwtBadServiceAccount', legacyBadSa],
  ])('legacy %s (no exp, no aud) is refused, though its signature is good', async (_name, f) => {
    const err = await refusal(() => offlineVerifier().verify(f.token, { ...MINIKUBE, pinnedPems: [pem(f)] }));
    expect(err.code).toBe('invalid_token');
    // A claim check, so the signature passed first (signature before claims).
    expect(cause(err).code).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(cause(err).reason).toBe('missing');
    expect(['aud', 'exp']).toContain(cause(err).claim);
    // The fixture pins a CERTIFICATE and its PUBLIC KEY; the certificate alone verifies the signature.
    const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem(f))?.[0] as string;
    expect(cert).toBeTruthy();
    await expect(compactVerify(f.token, await pinnedKeyResolver({ pinnedPems: [cert] }))).resolves.toBeTruthy();
    await expect(offlineVerifier().verify(f.token, { ...MINIKUBE, pinnedPems: [cert] })).rejects.toMatchObject({
      code: 'invalid_token',
      cause: { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' },
    });
  });

  it('the token signed by an unrelated key is refused on its signature', async () => {
    const err = await refusal(() => offlineVerifier().verify(badSigningKey.token, { ...MINIKUBE, pinnedPems: [pem(badSigningKey)] }));
    expect(err.code).toBe('invalid_token');
    expect(cause(err).code).toBe('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  });
});

describe('synthetic ES384 token', () => {
  it('its signature verifies under the pinned P-384 key', async () => {
    const getKey = await pinnedKeyResolver({ pinnedPems: [pem(es384)] });
    const { protectedHeader } = await compactVerify(es384.token, getKey);
    expect(protectedHeader.alg).toBe('ES384');
  });

  it('a flipped signature byte fails', async () => {
    const getKey = await pinnedKeyResolver({ pinnedPems: [pem(es384)] });
    const [h, p, s] = es384.token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] = (sig[10] as number) ^ 1;
    await expect(compactVerify(`${h}.${p}.${sig.toString('base64url')}`, getKey)).rejects.toMatchObject({
      code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
    });
  });

  it('TokenVerifier passes its ES384 signature, then refuses it for lacking exp/aud', async () => {
    const err = await refusal(() => offlineVerifier().verify(es384.token, { ...MINIKUBE, pinnedPems: [pem(es384)] }));
    expect(err.code).toBe('invalid_token');
    expect(cause(err).code).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it('under an RSA key it fails on key selection, not claims', async () => {
    const err = await refusal(() => offlineVerifier().verify(es384.token, { ...MINIKUBE, pinnedPems: [pem(projected)] }));
    expect(err.code).toBe('invalid_token');
    expect(cause(err).code).not.toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });
});

describe('tokens without published keys', () => {
  it.each(unverifiable.map((t) => [t.decoded_claims.iss, t] as const))('%s is refused under unrelated pinned keys', async (_iss, t) => {
    const golden = fixture<{ jwks: { keys: JsonWebKey[] } }>('discovery-kubernetes-apiserver-golden.json');
    const err = await refusal(() =>
      offlineVerifier(new Date(((t.decoded_claims.iat as number | undefined) ?? 0) * 1000)).verify(t.token, {
        issuer: t.decoded_claims.iss as string,
        audiences: ['pgmint', ...((t.decoded_claims.aud as string[] | undefined) ?? [])],
        pinnedJwks: golden.jwks,
      }),
    );
    expect(err.code).toBe('invalid_token');
    expect(cause(err).code).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });
});

describe('k8sIdentity on every fixture token', () => {
  const all: Array<[string, TokenFixture]> = [
    ['eks', eks],
    ['minikube bound', projected],
    ['minikube expired', projectedExpired],
    ['legacy jwtData', legacyData],
    ['legacy bad SA', legacyBadSa],
    ['negative', badSigningKey],
    ['es384', es384],
    ...unverifiable.map((t, i) => [`unverifiable ${i}`, t] as [string, TokenFixture]),
  ];

  it.each(all)('%s: decoded claims match the fixture and map to its subject', (_name, f) => {
    const payload = decodeJwt(f.token);
    expect(payload).toEqual(f.decoded_claims);
    const id = k8sIdentity(payload);
    expect(id.subject).toBe(payload.sub);
    expect(`system:serviceaccount:${id.namespace}:${id.serviceAccount}`).toBe(payload.sub);
  });

  it('EKS: pod, node and service-account uid from kubernetes.io', () => {
    expect(k8sIdentity(decodeJwt(eks.token))).toEqual({
      subject: 'system:serviceaccount:hakawai:hakawai-litellm-proxy',
      namespace: 'hakawai',
      serviceAccount: 'hakawai-litellm-proxy',
      serviceAccountUid: '8180de1d-6687-4024-8c6c-bb5d4700897a',
      podName: 'hakawai-litellm-proxy-57456bb9cb-bwzxh',
      podUid: '989f1a6e-8af7-4740-93d8-206f8daf9a84',
      nodeName: 'ip-10-15-179-190.eu-west-1.compute.internal',
    });
  });

  it('minikube bound: pod without node', () => {
    expect(k8sIdentity(decodeJwt(projected.token))).toEqual({
      subject: 'system:serviceaccount:default:default',
      namespace: 'default',
      serviceAccount: 'default',
      serviceAccountUid: '77c81ad7-1bea-4d94-9ca5-f5d7f3632331',
      podName: 'vault',
      podUid: '086c2f61-dea2-47bb-b5ca-63e63c5c9885',
    });
  });

  it('legacy: flat kubernetes.io/serviceaccount/* claims', () => {
    expect(k8sIdentity(decodeJwt(legacyBadSa.token))).toEqual({
      subject: 'system:serviceaccount:default:vault-invalid',
      namespace: 'default',
      serviceAccount: 'vault-invalid',
      serviceAccountUid: '044fd4f1-974d-11e7-9a15-0800276d99bf',
    });
  });
});

describe('discovery documents', () => {
  const files = readdirSync(fixturesDir).filter((f) => f.startsWith('discovery-'));

  /** Each fixture keeps its document under a different key; the Azure one has `<REDACTED>` for a host name. */
  function documentOf(f: Record<string, unknown>): Record<string, unknown> {
    const doc = f.openid_configuration ?? f.illustrative_document ?? (f.issuer ? { issuer: f.issuer, jwks_uri: f.jwks_uri } : undefined);
    if (!doc) throw new Error('fixture has no discovery document');
    return JSON.parse(JSON.stringify(doc).replaceAll('<REDACTED>', 'redacted')) as Record<string, unknown>;
  }

  it('there are at least five', () => {
    expect(files.length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)('%s parses against its own issuer, and not against a variant', (file) => {
    const doc = documentOf(fixture(file));
    const issuer = doc.issuer as string;
    expect(parseDiscovery(doc, issuer)).toEqual({ issuer, jwks_uri: doc.jwks_uri });
    const variant = issuer.endsWith('/') ? issuer.slice(0, -1) : `${issuer}/`;
    expect(() => parseDiscovery(doc, variant)).toThrow(PgmintError);
  });

  it('the golden raw bytes parse the same', () => {
    const f = fixture<{ openid_configuration_raw: string; openid_configuration: object }>('discovery-kubernetes-apiserver-golden.json');
    const raw = JSON.parse(f.openid_configuration_raw);
    expect(parseDiscovery(raw, 'https://issuer.example.com')).toEqual({
      issuer: 'https://issuer.example.com',
      jwks_uri: 'https://issuer.example.com/openid/v1/jwks',
    });
  });

  it('EKS serves its keys at /keys', () => {
    for (const file of ['discovery-eks-awsdocs.json', 'discovery-eks-eu-west-1-jwks-real.json']) {
      const doc = documentOf(fixture(file));
      expect(parseDiscovery(doc, doc.issuer as string).jwks_uri).toBe(`${doc.issuer}/keys`);
    }
  });

  it("Azure's issuer ends with '/': discovery URL drops exactly one slash", () => {
    const doc = documentOf(fixture('discovery-azure-workload-identity-selfmanaged.json'));
    const issuer = doc.issuer as string;
    expect(issuer.endsWith('/')).toBe(true);
    expect(discoveryUrl(issuer)).toBe('https://redacted.blob.core.windows.net/oidc-test/.well-known/openid-configuration');
    expect(parseDiscovery(doc, issuer).jwks_uri).toBe('https://redacted.blob.core.windows.net/oidc-test/openid/v1/jwks');
    expect(discoveryUrl('https://issuer.example.com')).toBe('https://issuer.example.com/.well-known/openid-configuration');
  });

  it('a document whose jwks_uri is plain http is refused', () => {
    const doc = { issuer: 'https://issuer.example.com', jwks_uri: 'http://issuer.example.com/keys' };
    let err: unknown;
    try {
      parseDiscovery(doc, doc.issuer);
    } catch (e) {
      err = e;
    }
    expect((err as PgmintError).code).toBe('issuer_unavailable');
  });
});
