import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../infra/build-cli.js';
import { ROOT } from '../../infra/build.js';
import { tempDir, tokenFile } from '../cli/support.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { needClient, run, startProxy, type TestProxy } from './support.js';

// Applications that know nothing of pgmint: each connects to the proxy with a
// user name of its own and no password, and must find itself logged in as a
// lease user with the lease role's grants and no more.
describe('pgmint proxy with unmodified clients', () => {
  let b: TestBroker;
  let proxy: TestProxy;
  const leaseUser = /^pgm_prod_api_/;

  // The proxy runs from the bundle images ship (npm run build), not the checkout's TypeScript.
  const bundleDir = join(ROOT, 'dist', `proxy-test-${process.pid}`);

  beforeAll(async () => {
    const [broker, bin] = await Promise.all([startTestBroker(), buildCli(bundleDir)]);
    b = broker;
    await b.setupDefault();
    const file = await tokenFile(await tempDir(), await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }));
    proxy = await startProxy({ brokerUrl: b.url, database: 'main', tokenFile: file, bin });
  });
  afterAll(async () => {
    await proxy?.kill();
    await b?.close();
    await rm(bundleDir, { recursive: true, force: true });
  });

  it('psql: no credential, a lease user, the role grants and no more', async () => {
    const res = await run('psql', [
      proxy.url(),
      '-XAt',
      '-v',
      'ON_ERROR_STOP=0',
      '-c',
      'SELECT current_user',
      '-c',
      'SELECT count(*) FROM app.orders',
      '-c',
      'SELECT * FROM secret.payroll',
    ]);
    const [user, count] = res.stdout.trim().split('\n');
    expect(user).toMatch(leaseUser);
    expect(count).toBe('2');
    expect(res.stderr).toContain('permission denied for schema secret');
  });

  it('node pg: startup parameters reach the server unchanged; only the user is the proxy’s', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: proxy.port,
      user: 'app',
      database: 'anything',
      application_name: 'orders-api',
      options: '-c search_path=app -c statement_timeout=4321',
    });
    await client.connect();
    try {
      const { rows } = await client.query(
        "SELECT current_user AS u, current_database() AS db, current_setting('application_name') AS app, current_setting('search_path') AS sp, current_setting('statement_timeout') AS st, current_setting('client_encoding') AS enc, (SELECT count(*)::int FROM orders) AS n",
      );
      expect(rows[0]).toMatchObject({ db: b.targetDb, app: 'orders-api', sp: 'app', st: '4321ms', enc: 'UTF8', n: 2 });
      expect(rows[0].u).toMatch(leaseUser);
      await expect(client.query('SELECT * FROM secret.payroll')).rejects.toMatchObject({ code: '42501' });
      // The session survives an error, as on a direct connection.
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await client.end();
    }
  });

  it('psql: TimeZone, DateStyle and extra_float_digits from the environment reach the server', async () => {
    const res = await run(
      'psql',
      [
        proxy.url(),
        '-XAt',
        '-c',
        "SELECT current_setting('TimeZone') || '|' || current_setting('DateStyle') || '|' || current_setting('extra_float_digits')",
      ],
      {
        env: { PGTZ: 'Asia/Tokyo', PGDATESTYLE: 'SQL, DMY', PGOPTIONS: '-c extra_float_digits=1' },
      },
    );
    expect(res.stdout.trim()).toBe('Asia/Tokyo|SQL, DMY|1');
  });

  it('pgbench runs through the proxy with no credential', async () => {
    const script = join(await tempDir(), 'select.sql');
    await writeFile(script, 'SELECT count(*) FROM app.orders;\n');
    const res = await run('pgbench', ['-n', '-c', '2', '-t', '50', '-f', script, proxy.url()]);
    expect(res.stderr + res.stdout).toMatch(/number of transactions actually processed: 100\/100/);
    expect(res.status).toBe(0);
  });

  it('Go pgx', async () => {
    const res = await run(needClient('go/bin/pgx-client'), [], { env: { DATABASE_URL: proxy.url(), PGAPPNAME: 'go-app' } });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ application_name: 'go-app', orders: 2, denied: '42501' });
    expect(out.current_user).toMatch(leaseUser);
  });

  it('Python psycopg', async () => {
    const res = await run(needClient('python/.venv/bin/python'), [needClient('python/client.py')], {
      env: { DATABASE_URL: `${proxy.url()}&application_name=py-app` },
    });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ application_name: 'py-app', orders: 2, denied: '42501' });
    expect(out.current_user).toMatch(leaseUser);
  });

  it('pgJDBC, which sends many startup parameters and checks DateStyle', async () => {
    const jar = needClient('java/lib/postgresql-42.7.14.jar');
    const res = await run('java', ['-cp', jar, needClient('java/ProxyClient.java')], {
      env: { JDBC_URL: `jdbc:postgresql://127.0.0.1:${proxy.port}/anything?user=app&ApplicationName=jdbc-app&sslmode=disable` },
      timeoutMs: 120_000,
    });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ application_name: 'jdbc-app', datestyle: 'ISO, MDY', orders: 2, denied: '42501' });
    expect(out.current_user).toMatch(leaseUser);
  });

  it('the admin port reports health and metrics without a secret', async () => {
    expect((await proxy.admin('/startup')).status).toBe(200);
    expect((await proxy.admin('/liveness')).status).toBe(200);
    expect((await proxy.admin('/readiness')).status).toBe(200);
    const metrics = (await proxy.admin('/metrics')).body;
    expect(metrics).toMatch(/^pgmint_proxy_connections_total \d+$/m);
    expect(Number(/^pgmint_proxy_connections_total (\d+)$/m.exec(metrics)![1])).toBeGreaterThanOrEqual(5);
    expect(metrics).toMatch(/^pgmint_proxy_upstream_connect_seconds_count \d+$/m);
    expect(metrics).toMatch(/^pgmint_proxy_lease_expiry_seconds \d/m);
    const lease = proxy.events().find((e) => e.event === 'lease_acquired')!;
    expect(lease.lease_id).toBeTruthy();
    expect(proxy.stderr()).not.toMatch(/pgm_[A-Za-z0-9_-]{30,}/);
    expect(proxy.stderr()).not.toMatch(/eyJ/);
  });
});
