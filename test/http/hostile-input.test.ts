import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupsOf, startTestBroker, type TestBroker, ADMIN_TOKEN } from '../support/broker.js';

// Every route and every parameter, with values Postgres cannot store or the
// server cannot parse: the answer is always a 4xx problem document, never 5xx.

const MB = 'a'.repeat(1_000_000);
/** Raw query/path text (already percent-encoded where needed). */
const HOSTILE_URL_VALUES: Record<string, string> = {
  nul: 'a%00b',
  'nul alone': '%00',
  'lone surrogate (CESU-8)': '%ED%A0%80',
  'broken percent-encoding': '%E0%A4%A',
  '1 MB': MB,
  'bad time zone': '2020-01-01T00:00:00%2B17:23',
  'year 0': '0000-01-01T00:00:00Z',
  'past year 9999 in UTC': '9999-12-31T23:59:59-05:00',
  'huge number': '99999999999999999999999',
  'not a number': 'NaN',
  negative: '-1',
  zero: '0',
  'sql quote': "x'%3B DROP TABLE pgmint.leases%3B--",
};
/** JSON values for body properties. */
const HOSTILE_JSON_VALUES: Record<string, unknown> = {
  nul: 'a\u0000b',
  'lone surrogate': '\uD800x',
  'nested nul': { 'k\u0000': ['\u0000'] },
  'lone surrogate in array': ['ok', '\uDC00'],
  'huge number': 1e308,
  'negative number': -1,
  'empty string': '',
  null: null,
  'deep nesting': JSON.parse('['.repeat(200) + ']'.repeat(200)),
};

/** An HTTP request with any method, answered as a Response. */
function rawRequest(url: string, method: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v);
        resolve(new Response(Buffer.concat(chunks).toString(), { status: res.statusCode!, headers }));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

interface Operation {
  method: string;
  path: string;
  parameters: Array<{ name: string; in: 'path' | 'query' }>;
  body: boolean;
}

describe('hostile input on every route', () => {
  let b: TestBroker;
  let leaseId: string;
  let issuerId: string;
  let workloadToken: string;
  let operations: Operation[];
  let validBodies: Record<string, Record<string, unknown>>;

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    workloadToken = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() });
    const creds = await (
      await b.app.request('/api/v1/databases/main/credentials/k8s', { headers: { authorization: `Bearer ${workloadToken}` } })
    ).json();
    leaseId = creds.lease_id;
    issuerId = (await (await b.admin('GET', '/api/v1/databases/main/issuers')).json()).issuers[0].id;
    const doc = await (await b.app.request('/openapi.json')).json();
    operations = [];
    for (const [path, item] of Object.entries(
      doc.paths as Record<string, Record<string, { parameters?: Operation['parameters']; requestBody?: unknown }>>,
    )) {
      for (const [method, op] of Object.entries(item)) {
        operations.push({
          method: method.toUpperCase(),
          path,
          parameters: (op.parameters ?? []).map((p) => ({ name: p.name, in: p.in })),
          body: op.requestBody !== undefined,
        });
      }
    }
    const { ro } = groupsOf(b);
    validBodies = {
      'POST /api/v1/databases': {
        id: 'spare',
        host: b.pg.host,
        port: b.pg.port,
        database: b.targetDb,
        admin_user: b.brokerUser,
        admin_password: b.brokerPassword,
        sslmode: 'disable',
      },
      'PUT /api/v1/databases/{db}/roles/{name}': { member_of: [ro] },
      'POST /api/v1/databases/{db}/issuers': { issuer: b.issuer.url, allowed_service_accounts: ['prod/api'], default_role: 'readonly' },
      'POST /api/v1/admin-tokens': { name: 'ci', scopes: ['leases:read'] },
    };
  });
  afterAll(() => b?.close());

  const validPathValue = (op: Operation, name: string): string => {
    if (name === 'db') return 'main';
    if (name === 'kind') return 'k8s';
    if (name === 'name') return 'readonly';
    if (name === 'id')
      return op.path.startsWith('/api/v1/leases') ? leaseId : op.path.includes('/issuers/') ? issuerId : crypto.randomUUID();
    throw new Error(`no valid value for path parameter ${name} of ${op.path}`);
  };
  const tokenFor = (op: Operation) => (op.path.includes('/credentials/') || op.path.includes('/connect/') ? workloadToken : ADMIN_TOKEN);

  const urlOf = (op: Operation, override?: { name: string; in: string; raw: string }) => {
    let path = op.path;
    for (const p of op.parameters.filter((q) => q.in === 'path')) {
      const value = override?.in === 'path' && override.name === p.name ? override.raw : encodeURIComponent(validPathValue(op, p.name));
      path = path.replace(`{${p.name}}`, value);
    }
    return override?.in === 'query' ? `${path}?${override.name}=${override.raw}` : path;
  };

  const expectProblem = async (res: Response, what: string) => {
    const text = await res.text();
    expect(res.status, `${what}: ${res.status} ${text.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
    expect(res.status, `${what}: ${res.status} ${text.slice(0, 300)}`).toBeLessThan(500);
    expect(res.headers.get('content-type'), what).toBe('application/problem+json');
    const body = JSON.parse(text);
    expect(body.status, what).toBe(res.status);
    expect(typeof body.code, what).toBe('string');
    return body as { code: string; field?: string };
  };

  it('covers the routes it means to', () => {
    expect(operations.length).toBeGreaterThanOrEqual(25);
    expect(
      operations
        .filter((o) => o.body)
        .map((o) => `${o.method} ${o.path}`)
        .sort(),
    ).toEqual(Object.keys(validBodies).sort());
  });

  it('refuses a hostile value in every path and query parameter with 4xx problem+json', async () => {
    let checked = 0;
    for (const op of operations) {
      for (const param of op.parameters) {
        for (const [label, raw] of Object.entries(HOSTILE_URL_VALUES)) {
          // A valid value does not count: only parameters where the hostile value is invalid must refuse.
          const res = await b.app.request(urlOf(op, { ...param, raw }), {
            method: op.method,
            headers: { authorization: `Bearer ${tokenFor(op)}`, ...(op.body ? { 'content-type': 'application/json' } : {}) },
            body: op.body ? '{}' : undefined,
          });
          const what = `${op.method} ${op.path} ${param.in} ${param.name}=${label}`;
          if (res.status < 400) {
            // Only values Postgres can store are ever accepted, and no out-of-range time (an offset such as +17:23 is read and passed on in UTC).
            expect(label.startsWith('nul'), what).toBe(false);
            expect(['since', 'until'].includes(param.name) && ['year 0', 'past year 9999 in UTC'].includes(label), what).toBe(false);
            continue;
          }
          const body = await expectProblem(res, what);
          if (label.startsWith('nul') && res.status === 400 && body.code === 'invalid_request') expect(body.field, what).toBe(param.name);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('refuses a hostile value in every body property with 4xx problem+json naming the field', async () => {
    for (const op of operations.filter((o) => o.body)) {
      const base = validBodies[`${op.method} ${op.path}`]!;
      const properties = [...Object.keys(base), 'extra_field', 'member_of', 'bound_claims', 'jwks', 'audiences', 'pem_keys', 'scopes'];
      for (const property of new Set(properties)) {
        for (const [label, value] of Object.entries(HOSTILE_JSON_VALUES)) {
          const res = await b.app.request(urlOf(op), {
            method: op.method,
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ ...base, [property]: value }),
          });
          const what = `${op.method} ${op.path} body.${property}=${label}`;
          const body = await expectProblem(res, what);
          if (label.includes('nul') || label.includes('surrogate')) expect(body.field?.split('.')[0], what).toBe(property);
        }
      }
    }
  });

  it('refuses malformed JSON, a wrong or missing media type and a 1 MB body on every body route', async () => {
    for (const op of operations.filter((o) => o.body)) {
      const send = (headers: Record<string, string>, body: string) =>
        b.app.request(urlOf(op), { method: op.method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...headers }, body });
      const valid = JSON.stringify(validBodies[`${op.method} ${op.path}`]);
      const cases: Array<[string, Response, number, string]> = [
        ['malformed JSON', await send({ 'content-type': 'application/json' }, '{"name":'), 400, 'invalid_request'],
        ['JSON that is not an object', await send({ 'content-type': 'application/json' }, '"text"'), 400, 'invalid_request'],
        ['text/plain', await send({ 'content-type': 'text/plain' }, valid), 415, 'unsupported_media_type'],
        ['no content-type', await send({}, valid), 415, 'unsupported_media_type'],
        ['form', await send({ 'content-type': 'application/x-www-form-urlencoded' }, 'a=b'), 415, 'unsupported_media_type'],
        ['1 MB', await send({ 'content-type': 'application/json' }, JSON.stringify({ name: MB })), 413, 'payload_too_large'],
      ];
      for (const [label, res, status, code] of cases) {
        const body = await expectProblem(res, `${op.method} ${op.path} ${label}`);
        expect([res.status, body.code], `${op.method} ${op.path} ${label}`).toEqual([status, code]);
      }
    }
  });

  it('answers 405 with Allow for methods a path does not route, and for TRACE', async () => {
    const cases: Array<[string, string, string | null]> = [
      ['TRACE', '/healthz', null],
      ['TRACE', '/nowhere', null],
      ['PATCH', '/api/v1/databases', 'GET, HEAD, POST'],
      ['PUT', `/api/v1/leases/${crypto.randomUUID()}`, 'DELETE'],
      ['PROPFIND', '/healthz', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      // Over real HTTP: a Fetch Request cannot even carry TRACE.
      const res = await rawRequest(`${b.url}${path}`, method);
      const body = await expectProblem(res, `${method} ${path}`);
      expect([res.status, body.code]).toEqual([405, 'method_not_allowed']);
      expect(res.headers.get('allow')).toBe(allow);
    }
    const missing = await b.app.request('/nowhere');
    expect(missing.status).toBe(404);
  });

  it('refuses token claims Postgres cannot store with 401 before any control-plane query', async () => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = (claims: Record<string, unknown>) => `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64(claims)}.c2ln`;
    const tokens: Array<[string, () => Promise<string>]> = [
      ['iss with NUL', async () => unsigned({ iss: `${b.issuer.url}\u0000`, sub: 'x', aud: 'pgmint', exp: 9e9 })],
      ['iss with a lone surrogate', async () => unsigned({ iss: '\uD800', sub: 'x', aud: 'pgmint', exp: 9e9 })],
      [
        'signed, pod name with NUL',
        () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-\u0000', podUid: crypto.randomUUID() }),
      ],
      [
        'signed, sub with a lone surrogate',
        () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', sub: 'system:serviceaccount:prod:api\uDFFF' }),
      ],
      ['signed, extra claim key with NUL', () => b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', 'x\u0000': 1 })],
    ];
    const { rows: before } = await b.deps.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pgmint.leases');
    // The control plane is told to fail every statement: a claim check that queried first would answer 503.
    const query = b.deps.sql.query;
    for (const [label, token] of tokens) {
      const t = await token();
      b.deps.sql.query = () => Promise.reject(new Error('no control-plane query expected'));
      let res: Response;
      try {
        res = await b.app.request('/api/v1/databases/main/credentials/k8s', { headers: { authorization: `Bearer ${t}` } });
      } finally {
        b.deps.sql.query = query;
      }
      const body = await expectProblem(res, label);
      expect([res.status, body.code], label).toEqual([401, 'invalid_token']);
      const renew = await b.app.request(`/api/v1/leases/${leaseId}/renew`, { method: 'POST', headers: { authorization: `Bearer ${t}` } });
      expect((await expectProblem(renew, `renew ${label}`)).code).toBe('invalid_token');
    }
    const { rows: after } = await b.deps.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pgmint.leases');
    expect(after).toEqual(before);
  });
});
