import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';

const run = promisify(execFile);

describe.each(['pg18', 'pg15'] as const)('exchange on %s', (serverName) => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker({ server: serverName });
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  const exchange = async (token: string, query = '', kind = 'credentials') =>
    fetch(`${b.url}/api/v1/databases/main/${kind}/k8s${query}`, { headers: { authorization: `Bearer ${token}` } });

  it('mints a login that pg and psql accept, with exactly the group privileges', async () => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-7d9f', podUid: crypto.randomUUID() });
    const asked = Date.now();
    const res = await exchange(token);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const creds = await res.json();
    expect(Object.keys(creds).sort()).toEqual(
      ['connection_uri', 'database', 'expires_at', 'host', 'lease_id', 'password', 'port', 'refresh_at', 'role', 'sslmode', 'user'].sort(),
    );
    expect(creds.user).toMatch(/^pgm_prod_api_[a-z0-9]+$/);
    expect(creds.password).toMatch(/^pgm-[A-Za-z0-9_-]{32}$/);
    expect(creds.role).toBe('readonly');
    // The role's default hour, counted from the request and rounded up to the second: never less.
    expect(Date.parse(creds.expires_at)).toBeGreaterThanOrEqual(asked + 3600_000);
    expect(Date.parse(creds.expires_at)).toBeLessThanOrEqual(Date.now() + 3601_000);
    expect(Date.parse(creds.refresh_at)).toBeLessThan(Date.parse(creds.expires_at));

    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);

    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    try {
      expect((await client.query('SELECT current_user AS u')).rows[0].u).toBe(creds.user);
      expect((await client.query('SELECT count(*)::int AS n FROM app.orders')).rows[0].n).toBe(2);
      await expect(client.query('SELECT * FROM secret.payroll')).rejects.toMatchObject({ code: '42501' });
      await expect(client.query("INSERT INTO app.orders (item) VALUES ('x')")).rejects.toMatchObject({
        code: expect.stringMatching(/^(25006|42501)$/),
      });
    } finally {
      await client.end();
    }

    const psql = await run('psql', [creds.connection_uri, '-Atc', 'SELECT current_user'], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
    });
    expect(psql.stdout.trim()).toBe(creds.user);

    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolpassword, rolvaliduntil FROM pg_authid WHERE rolname = $1', [creds.user]),
    );
    expect(rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(creds.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(new Date(rows[0].rolvaliduntil).getTime()).toBe(Date.parse(creds.expires_at));
  });

  it('answers the connection URI alone as text for connect/k8s', async () => {
    const token = await b.issuer.mint({ namespace: 'batch', serviceAccount: 'report', podName: 'report-1', podUid: crypto.randomUUID() });
    const res = await exchange(token, '', 'connect');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const uri = (await res.text()).trim();
    expect(uri).toMatch(/^postgresql:\/\/pgm_batch_report_/);
    const psql = await run('psql', [uri, '-Atc', 'SELECT count(*) FROM app.orders']);
    expect(psql.stdout.trim()).toBe('2');
  });

  it('a lease at the minimum TTL logs in for its whole lifetime, and Postgres itself refuses it once expires_at has passed', async () => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-short', podUid: crypto.randomUUID() });
    const asked = Date.now();
    const res = await exchange(token, '?ttl=30');
    const answered = Date.now();
    expect(res.status).toBe(200);
    const creds = await res.json();
    const expires = Date.parse(creds.expires_at);
    // Never less than asked for: VALID UNTIL is rounded up, not down.
    expect(expires).toBeGreaterThanOrEqual(asked + 30_000);
    expect(expires).toBeLessThanOrEqual(answered + 31_000);
    const { rows } = await withSuperuser(b.pg, b.targetDb, (c) =>
      c.query('SELECT rolvaliduntil FROM pg_roles WHERE rolname = $1', [creds.user]),
    );
    expect(new Date(rows[0].rolvaliduntil).getTime()).toBe(expires);
    // A third of the lifetime left when the client refreshes, at least half of it spent.
    const refresh = Date.parse(creds.refresh_at);
    expect(expires - refresh).toBeGreaterThanOrEqual(9_000);
    expect(expires - refresh).toBeLessThanOrEqual(11_000);
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    // Still good in the last seconds of its life.
    await new Promise((r) => setTimeout(r, Math.max(0, expires - 2500 - Date.now())));
    expect(Date.now()).toBeLessThan(expires);
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    await new Promise((r) => setTimeout(r, Math.max(0, expires - Date.now()) + 1500));
    await expect(loginAs(b.pg, b.targetDb, creds.user, creds.password)).rejects.toMatchObject({ code: '28P01' });
  }, 60_000);

  it('refuses a ttl below the 30-second minimum with invalid_request naming ttl, writing nothing', async () => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-tiny', podUid: crypto.randomUUID() });
    const before = await b.deps.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pgmint.leases');
    for (const ttl of ['1', '29', '29s', '0']) {
      const res = await exchange(token, `?ttl=${ttl}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'invalid_request', field: 'ttl', min_ttl: 30 });
    }
    const after = await b.deps.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pgmint.leases');
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    const audit = await b.deps.sql.query(
      `SELECT outcome, code FROM pgmint.audit_log WHERE action = 'credentials.issue' AND pod = 'api-tiny'`,
    );
    expect(audit.rows).toEqual(Array.from({ length: 4 }, () => ({ outcome: 'denied', code: 'invalid_request' })));
    // The minimum is part of the published API.
    const doc = await (await fetch(`${b.url}/openapi.json`)).json();
    const ttl = doc.paths['/api/v1/databases/{db}/credentials/{kind}'].get.parameters.find((p: { name: string }) => p.name === 'ttl');
    expect(ttl.description).toMatch(/at least 30 s/);
    expect(doc.components.schemas.RoleInput.properties.max_session.description).toMatch(/default 8h, at most 24h/);
  });

  it('honours ?role= when the issuer allows it, and gives write access only there', async () => {
    const issuers = await b.deps.store.issuers.list('main');
    await b.deps.sql.query("UPDATE pgmint.issuers SET allowed_roles = '{readonly,readwrite}' WHERE id = $1", [issuers[0]!.id]);
    // A direct edit otherwise reaches this broker's exchanges within PGMINT_CONTEXT_CACHE_MS.
    b.deps.store.exchangeContext.invalidate();
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-rw', podUid: crypto.randomUUID() });
    const res = await exchange(token, '?role=readwrite&ttl=10m');
    expect(res.status).toBe(200);
    const creds = await res.json();
    expect(creds.role).toBe('readwrite');
    const client = new pg.Client({ connectionString: creds.connection_uri });
    await client.connect();
    try {
      await client.query("INSERT INTO app.orders (item) VALUES ('plum')");
    } finally {
      await client.end();
    }
  });

  it('writes an audit row per exchange with identity and no secret', async () => {
    const podUid = crypto.randomUUID();
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-audit', podUid });
    const creds = await (await exchange(token)).json();
    const { rows } = await b.deps.sql.query<Record<string, unknown>>(
      "SELECT * FROM pgmint.audit_log WHERE action = 'credentials.issue' AND lease_id = $1",
      [creds.lease_id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      outcome: 'success',
      subject: 'system:serviceaccount:prod:api',
      pod: 'api-audit',
      username: creds.user,
      issuer: b.issuer.url,
    });
    const everything = JSON.stringify((await b.deps.sql.query('SELECT * FROM pgmint.audit_log')).rows);
    expect(everything).not.toContain(creds.password);
    const leases = JSON.stringify((await b.deps.sql.query('SELECT * FROM pgmint.leases')).rows);
    expect(leases).not.toContain(creds.password);
    const lease = await b.deps.store.leases.get(creds.lease_id);
    expect(lease).toMatchObject({ state: 'active', podUid, workloadKey: `pod:${podUid}` });
  });
});
