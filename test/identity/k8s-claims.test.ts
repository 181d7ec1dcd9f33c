/**
 * Mapping Kubernetes claims to a service account, the allowed-account
 * patterns, and reading an untrusted token's issuer.
 */
import fc from 'fast-check';
import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { PgmintError } from '../../lib/errors.js';
import { k8sIdentity, matchServiceAccount, peekIssuer, validateServiceAccountPattern } from '../../lib/identity/index.js';

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PgmintError);
    return (err as PgmintError).code;
  }
  return 'accepted';
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const projected = (over: Record<string, unknown> = {}): JWTPayload => ({
  sub: 'system:serviceaccount:prod:api',
  'kubernetes.io': {
    namespace: 'prod',
    serviceaccount: { name: 'api', uid: 'sa-uid' },
    pod: { name: 'api-7d9f', uid: 'pod-uid' },
    node: { name: 'node-1', uid: 'node-uid' },
  },
  ...over,
});

describe('k8sIdentity', () => {
  it('reads namespace, service account, pod and node from kubernetes.io', () => {
    expect(k8sIdentity(projected())).toEqual({
      subject: 'system:serviceaccount:prod:api',
      namespace: 'prod',
      serviceAccount: 'api',
      serviceAccountUid: 'sa-uid',
      podName: 'api-7d9f',
      podUid: 'pod-uid',
      nodeName: 'node-1',
    });
  });

  it('falls back to parsing sub', () => {
    expect(k8sIdentity({ sub: 'system:serviceaccount:kube-system:coredns' })).toEqual({
      subject: 'system:serviceaccount:kube-system:coredns',
      namespace: 'kube-system',
      serviceAccount: 'coredns',
    });
  });

  it('uses kubernetes.io alone when sub is absent', () => {
    expect(k8sIdentity(projected({ sub: undefined })).subject).toBe('system:serviceaccount:prod:api');
  });

  it.each([
    ['sub names another account', projected({ sub: 'system:serviceaccount:prod:admin' })],
    ['sub names another namespace', projected({ sub: 'system:serviceaccount:kube-system:api' })],
    ['sub is not a service account', projected({ sub: 'alice@example.com' })],
    ['sub has extra segments', { sub: 'system:serviceaccount:prod:api:extra' }],
    ['sub with empty parts', { sub: 'system:serviceaccount::' }],
    ['sub is a number', { sub: 42 as unknown as string }],
    [
      'legacy claims disagree',
      {
        sub: 'system:serviceaccount:prod:api',
        'kubernetes.io/serviceaccount/namespace': 'dev',
        'kubernetes.io/serviceaccount/service-account.name': 'api',
      },
    ],
    ['namespace without account', { 'kubernetes.io': { namespace: 'prod' } }],
    ['nothing at all', {}],
    ['kubernetes.io is a string', { sub: 'system:serviceaccount:prod:api', 'kubernetes.io': 'prod' }],
    ['pod is a string', projected({ 'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'api' }, pod: 'x' } })],
    ['invalid namespace', { sub: 'system:serviceaccount:Prod_1:api' }],
    ['invalid account name', { sub: 'system:serviceaccount:prod:api/../x' }],
    ['namespace too long', { sub: `system:serviceaccount:${'a'.repeat(64)}:api` }],
  ])('refuses when %s', (_name, payload) => {
    expect(codeOf(() => k8sIdentity(payload as JWTPayload))).toBe('invalid_token');
  });
});

describe('validateServiceAccountPattern', () => {
  it.each(['prod/api', 'prod/*', 'kube-system/coredns', 'a/b.c-d'])('%s is valid', (p) => {
    expect(validateServiceAccountPattern(p)).toBeNull();
  });
  it.each(['*/*', '*/api', 'prod', 'prod/', '/api', 'prod/api/x', 'Prod/api', 'prod/api*', 'prod/a*', '', 'prod/**'])(
    '%s is refused',
    (p) => {
      expect(validateServiceAccountPattern(p)).toEqual(expect.any(String));
    },
  );
});

describe('matchServiceAccount', () => {
  it('matches an exact account', () => {
    expect(matchServiceAccount(['prod/api'], 'prod', 'api')).toBe(true);
    expect(matchServiceAccount(['prod/api'], 'prod', 'worker')).toBe(false);
    expect(matchServiceAccount(['prod/api'], 'dev', 'api')).toBe(false);
  });
  it('matches any account in a namespace with ns/*', () => {
    expect(matchServiceAccount(['prod/*'], 'prod', 'anything')).toBe(true);
    expect(matchServiceAccount(['prod/*'], 'production', 'api')).toBe(false);
  });
  it('never matches with */* or other invalid patterns, nor with none', () => {
    expect(matchServiceAccount(['*/*'], 'prod', 'api')).toBe(false);
    expect(matchServiceAccount(['*/api'], 'prod', 'api')).toBe(false);
    expect(matchServiceAccount(['prod/api*'], 'prod', 'api-x')).toBe(false);
    expect(matchServiceAccount([], 'prod', 'api')).toBe(false);
  });
  it('matches when any pattern does', () => {
    expect(matchServiceAccount(['dev/*', 'prod/api'], 'prod', 'api')).toBe(true);
  });
  it('property: ns/* matches exactly the accounts of ns', () => {
    const name = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
    fc.assert(
      fc.property(name, name, name, (patternNs, ns, sa) => {
        expect(matchServiceAccount([`${patternNs}/*`], ns, sa)).toBe(patternNs === ns);
        expect(matchServiceAccount([`${patternNs}/${sa}`], ns, sa)).toBe(patternNs === ns);
      }),
    );
  });
});

describe('peekIssuer', () => {
  const token = (payload: unknown) => `${b64({ alg: 'RS256' })}.${b64(payload)}.c2ln`;

  it('reads iss without verifying', () => {
    expect(peekIssuer(token({ iss: 'https://issuer.example.com' }))).toBe('https://issuer.example.com');
    expect(peekIssuer(token({ iss: 'kubernetes/serviceaccount' }))).toBe('kubernetes/serviceaccount');
  });

  it.each([
    ['empty', ''],
    ['garbage', 'hello world'],
    ['two segments', 'a.b'],
    ['no iss', token({ sub: 'x' })],
    ['empty iss', token({ iss: '' })],
    ['numeric iss', token({ iss: 42 })],
    ['payload an array', token(['x'])],
    ['payload not JSON', `${b64({ alg: 'RS256' })}.bm9wZQ.c2ln`],
    ['20 KiB', token({ iss: 'https://issuer.example.com', pad: 'x'.repeat(20 * 1024) })],
  ])('refuses %s with invalid_token', (_name, t) => {
    expect(codeOf(() => peekIssuer(t))).toBe('invalid_token');
  });

  it('honours a custom size limit', () => {
    const t = token({ iss: 'https://issuer.example.com' });
    expect(codeOf(() => peekIssuer(t, t.length - 1))).toBe('invalid_token');
    expect(peekIssuer(t, t.length)).toBe('https://issuer.example.com');
  });
});
