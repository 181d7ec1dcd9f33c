import { execFile } from 'node:child_process';
import { chown, chmod, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPostgres, startEmbeddedPostgres } from '../../functions/local/embedded-postgres.js';
import { bootstrapSql } from '../../lib/sql/bootstrap-sql.js';
import { tempDir, tokenFile } from '../cli/support.js';
import { startTestBroker, TARGET_FIXTURE, type TestBroker } from '../support/broker.js';
import { run, startProxy, type TestProxy } from './support.js';

const exec = promisify(execFile);

/** A test CA, a server certificate it signs for localhost, and an unrelated CA. */
async function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => exec('openssl', args, { cwd: dir });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=pgmint test CA',
  );
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=some other CA',
  );
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'san.ext',
  );
  // Postgres reads its key as the user it runs as (`postgres` when the tests run as root) and wants it private.
  await chmod(dir, 0o755);
  for (const f of ['server.key', 'server.pem']) {
    await chmod(join(dir, f), 0o600);
    if (userInfo().uid === 0) {
      const { stdout } = await exec('id', ['-u', 'postgres']);
      await chown(join(dir, f), Number(stdout.trim()), Number((await exec('id', ['-g', 'postgres'])).stdout.trim()));
    }
  }
  return { ca: join(dir, 'ca.pem'), otherCa: join(dir, 'other-ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

// The proxy's upstream TLS against a server of its own with ssl=on and a
// certificate from a CA the test makes: verify-full passes with that CA and
// fails, clearly, with another.
describe('pgmint proxy: upstream TLS with verify-full', () => {
  let b: TestBroker;
  let tlsPg: RunningPostgres;
  let certs: Awaited<ReturnType<typeof makeCertificates>>;
  let file: string;
  const proxies: TestProxy[] = [];

  beforeAll(async () => {
    const dir = await tempDir('pgmint-tls-');
    certs = await makeCertificates(dir);
    [b, tlsPg] = await Promise.all([
      startTestBroker(),
      startEmbeddedPostgres({
        dataDir: join(dir, 'pg'),
        ephemeral: true,
        settings: { ssl: 'on', ssl_cert_file: certs.cert, ssl_key_file: certs.key },
      }),
    ]);
    const brokerPassword = 'broker-password-for-tls-test';
    const admin = new pg.Client({ connectionString: tlsPg.url() });
    await admin.connect();
    await admin.query('CREATE DATABASE orders');
    await admin.end();
    const target = new pg.Client({ connectionString: tlsPg.url('orders') });
    await target.connect();
    await target.query(
      bootstrapSql({
        database: 'orders',
        schema: 'app',
        brokerRole: 'pgmint_broker',
        brokerPassword,
        readonlyGroup: 'orders_ro',
        readwriteGroup: 'orders_rw',
        serverVersion: Number((await target.query('SHOW server_version_num')).rows[0].server_version_num),
      }),
    );
    await target.query(TARGET_FIXTURE);
    await target.query('GRANT SELECT ON ALL TABLES IN SCHEMA app TO orders_ro');
    await target.end();
    const steps: Array<[string, string, unknown]> = [
      // The broker itself needs no verification here; what workloads get says verify-full, by name.
      [
        'POST',
        '/api/v1/databases',
        {
          id: 'orders',
          host: '127.0.0.1',
          port: tlsPg.port,
          database: 'orders',
          admin_user: 'pgmint_broker',
          admin_password: brokerPassword,
          sslmode: 'require',
          public_host: 'localhost',
          public_sslmode: 'verify-full',
        },
      ],
      ['PUT', '/api/v1/databases/orders/roles/readonly', { member_of: ['orders_ro'] }],
      [
        'POST',
        '/api/v1/databases/orders/issuers',
        { issuer: b.issuer.url, allowed_service_accounts: ['prod/api'], default_role: 'readonly' },
      ],
    ];
    for (const [method, path, body] of steps) {
      const res = await b.admin(method, path, body);
      expect(res.status, await res.clone().text()).toBeLessThan(300);
    }
    file = await tokenFile(dir, await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }));
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.kill('SIGKILL')));
    await b?.close();
    await tlsPg?.stop();
  });

  it('logs in over TLS, verifying the server against --ca-file', async () => {
    const proxy = await startProxy({ brokerUrl: b.url, database: 'orders', tokenFile: file, args: ['--ca-file', certs.ca] });
    proxies.push(proxy);
    const res = await run('psql', [proxy.url(), '-XAt', '-c', 'SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()']);
    expect(res.stderr).toBe('');
    const [user, ssl] = res.stdout.trim().split('|');
    expect(user).toMatch(/^pgm_prod_api_/);
    expect(ssl).toBe('t');
  });

  it('answers an application that asks for TLS when given a certificate', async () => {
    const proxy = await startProxy({
      brokerUrl: b.url,
      database: 'orders',
      tokenFile: file,
      args: ['--ca-file', certs.ca, '--tls-cert', certs.cert, '--tls-key', certs.key],
    });
    proxies.push(proxy);
    const res = await run('psql', [
      `host=localhost port=${proxy.port} user=app dbname=orders sslmode=verify-full sslrootcert=${certs.ca}`,
      '-XAt',
      '-c',
      'SELECT current_user',
    ]);
    expect(res.stdout.trim(), res.stderr).toMatch(/^pgm_prod_api_/);
    // The same proxy still serves an application that does not ask for TLS.
    expect((await run('psql', [proxy.url(), '-XAt', '-c', 'SELECT 1'])).stdout.trim()).toBe('1');
  });

  it('refuses a server whose certificate another CA signed, and says so to the application', async () => {
    const proxy = await startProxy({ brokerUrl: b.url, database: 'orders', tokenFile: file, args: ['--ca-file', certs.otherCa] });
    proxies.push(proxy);
    const res = await run('psql', [proxy.url(), '-XAt', '-c', 'SELECT 1']);
    expect(res.status).not.toBe(0);
    expect(res.stderr).toMatch(
      /TLS verification of localhost:\d+ failed \(sslmode=verify-full\): .*(self-signed|unable to verify|local issuer)/,
    );
    expect(res.stderr).toContain('check --ca-file');
    expect(proxy.events().find((e) => e.event === 'upstream_unavailable')?.message).toMatch(/TLS verification/);
  });
});
