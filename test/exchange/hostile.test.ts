import { createPublicKey } from 'node:crypto';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { withSuperuser } from '../support/postgres.js';

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('hostile exchanges are refused with the right code, audited, and leave nothing behind', () => {
  let b: TestBroker;
  let publicPem: string;
  let publicJwkJson: string;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    // A second database whose issuer is a different (real) one.
    const res = await b.admin('POST', '/api/v1/databases', {
      id: 'other',
      host: b.pg.host,
      port: b.pg.port,
      database: b.targetDb,
      admin_user: b.brokerUser,
      admin_password: b.brokerPassword,
      sslmode: 'disable',
    });
    expect(res.status).toBe(201);
    const jwks = (await (await fetch(`${b.issuer.url}/openid/v1/jwks`)).json()) as { keys: Array<Record<string, string>> };
    const rsa = jwks.keys.find((k) => k.kty === 'RSA')!;
    publicJwkJson = JSON.stringify(rsa);
    publicPem = createPublicKey({ key: rsa, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
  });
  afterAll(() => b?.close());

  const claims = (over: Record<string, unknown> = {}) => ({
    iss: b.issuer.url,
    sub: 'system:serviceaccount:prod:api',
    aud: ['pgmint'],
    iat: now(),
    nbf: now(),
    exp: now() + 600,
    'kubernetes.io': { namespace: 'prod', serviceaccount: { name: 'api', uid: 'u1' }, pod: { name: 'api-x', uid: 'p1' } },
    ...over,
  });

  const cases: Array<{ name: string; token: () => Promise<string>; status: number; code: string; db?: string; query?: string }> = [
    {
      name: 'unsigned (alg: none)',
      token: async () => `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims())}.`,
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'HS256 signed with the issuer public key (PEM) as secret',
      token: () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(publicPem)),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'HS256 signed with the issuer public JWK as secret',
      token: () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(publicJwkJson)),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'signed by another key with a known kid',
      token: async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const kid = JSON.parse(publicJwkJson).kid;
        return new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', kid }).sign(privateKey);
      },
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'wrong audience',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', audience: 'vault' }),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'wrong issuer (iss not registered)',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', iss: 'https://evil.example' }),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'expired',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }, { ttlSec: -300 }),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'not yet valid',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', nbf: now() + 600, exp: now() + 1200 }),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'missing exp',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', exp: undefined }),
      status: 401,
      code: 'invalid_token',
    },
    {
      name: 'service account not allowed',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'billing' }),
      status: 403,
      code: 'not_allowed',
    },
    {
      name: 'role not allowed',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }),
      status: 403,
      code: 'not_allowed',
      query: '?role=readwrite',
    },
    {
      name: 'role that does not exist',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }),
      status: 403,
      code: 'not_allowed',
      query: '?role=superuser',
    },
    {
      name: 'ttl over the cap',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }),
      status: 400,
      code: 'invalid_request',
      query: '?ttl=9h',
    },
    {
      name: 'ttl malformed',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }),
      status: 400,
      code: 'invalid_request',
      query: '?ttl=1d',
    },
    { name: '20 KiB token', token: async () => `eyJ${'A'.repeat(20 * 1024)}`, status: 401, code: 'invalid_token' },
    { name: 'garbage', token: async () => 'not-a-jwt', status: 401, code: 'invalid_token' },
    {
      name: 'token for another database',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }),
      status: 401,
      code: 'invalid_token',
      db: 'other',
    },
    {
      name: 'unknown database (nothing said about it without a verified token)',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }),
      status: 401,
      code: 'invalid_token',
      db: 'nope',
    },
    {
      name: 'injected role name in the query',
      token: () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }),
      status: 400,
      code: 'invalid_request',
      query: `?role=${encodeURIComponent('readonly"; DROP ROLE x; --')}`,
    },
  ];

  // Roles are cluster-wide and other test files mint at the same time: count
  // the lease roles this broker created (its ADMIN OPTION) or that joined its groups.
  // Standby roles (made in the background after a successful exchange) are not leases.
  const leaseRoles = async () =>
    withSuperuser(b.pg, 'postgres', async (c) => {
      const { ro, rw } = groupsOf(b);
      const { rows } = await c.query(
        `SELECT count(*)::int AS n FROM pg_roles r WHERE starts_with(r.rolname, 'pgm_') AND NOT starts_with(r.rolname, 'pgm_standby_') AND (
           EXISTS (SELECT 1 FROM pg_auth_members a WHERE a.roleid = r.oid AND a.member = (SELECT oid FROM pg_roles WHERE rolname = $1))
           OR EXISTS (SELECT 1 FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid WHERE a.member = r.oid AND g.rolname = ANY($2)))`,
        [b.brokerUser, [ro, rw]],
      );
      return rows[0].n as number;
    });

  it.each(cases)('$name → $status $code', async ({ token, status, code, db = 'main', query = '' }) => {
    const rolesBefore = await leaseRoles();
    const auditBefore = Number((await b.deps.sql.query<{ n: string }>('SELECT count(*) AS n FROM pgmint.audit_log')).rows[0]!.n);
    const jwt = await token();
    for (const kind of ['credentials', 'connect']) {
      const res = await fetch(`${b.url}/api/v1/databases/${db}/${kind}/k8s${query}`, { headers: { authorization: `Bearer ${jwt}` } });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = await res.json();
      expect(body.code).toBe(code);
      expect(JSON.stringify(body)).not.toContain(jwt.slice(-20));
    }
    expect(await leaseRoles()).toBe(rolesBefore);
    const { rows: leases } = await b.deps.sql.query("SELECT 1 FROM pgmint.leases WHERE state IN ('pending', 'active')");
    expect(leases).toHaveLength(0);
    if (code !== 'invalid_request' || query.includes('ttl')) {
      // Validation errors in the query are answered before any identity is known;
      // everything else is an audit row per request.
      const { rows } = await b.deps.sql.query<{ outcome: string; code: string }>(
        'SELECT outcome, code FROM pgmint.audit_log ORDER BY id DESC LIMIT 2',
      );
      const auditAfter = Number((await b.deps.sql.query<{ n: string }>('SELECT count(*) AS n FROM pgmint.audit_log')).rows[0]!.n);
      expect(auditAfter - auditBefore).toBe(2);
      expect(rows.every((r) => r.outcome === 'denied' && r.code === code)).toBe(true);
    }
  });

  it('the role count above does see a role this broker mints', async () => {
    const before = await leaseRoles();
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() });
    const res = await fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await leaseRoles()).toBe(before + 1);
    await b.deps.sql.query("UPDATE pgmint.leases SET state = 'revoked' WHERE state = 'active'");
  });

  it('records who was refused when the token itself was valid', async () => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'billing', podName: 'billing-1', podUid: crypto.randomUUID() });
    await fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
    const { rows } = await b.deps.sql.query('SELECT * FROM pgmint.audit_log ORDER BY id DESC LIMIT 1');
    expect(rows[0]).toMatchObject({
      outcome: 'denied',
      code: 'not_allowed',
      subject: 'system:serviceaccount:prod:billing',
      pod: 'billing-1',
      issuer: b.issuer.url,
    });
  });

  it('refuses a request without a bearer token', async () => {
    const res = await fetch(`${b.url}/api/v1/databases/main/credentials/k8s`);
    expect(res.status).toBe(401);
    expect((await res.json()).code).toBe('unauthorized');
  });
});
