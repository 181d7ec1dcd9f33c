import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevIssuer } from '../../functions/local/dev-issuer.js';
import { ADMIN_TOKEN, groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';
import { blockField, runCli, tempDir, tokenFile } from './support.js';

const run = promisify(execFile);
const pgDumpMajor = () => Number(/(\d+)/.exec(execFileSync('pg_dump', ['--version'], { encoding: 'utf8' }))?.[1]);

describe('pgmint creds, connect and gui-config', () => {
  let b: TestBroker;
  let dir: string;
  const env = () => ({ PGMINT_URL: b.url });
  const k8sToken = (ns = 'prod', sa = 'api') => b.issuer.mint({ namespace: ns, serviceAccount: sa });
  const oidcToken = (sub: string, extra: Record<string, unknown> = {}) =>
    b.issuer.mint({ namespace: 'n', serviceAccount: 's', sub, ...extra });

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
    dir = await tempDir();
    // People come through the oidc exchange, trusted here with the operator verb itself.
    const added = await runCli(
      [
        'issuer',
        'add',
        'main',
        '--kind',
        'oidc',
        '--issuer',
        b.issuer.url,
        '--allow-subject',
        'alice@example.com',
        '--allow-subject',
        'team-*',
        '--bound-claim',
        'groups=dba',
        '--default-role',
        'readonly',
        '--max-leases',
        '100',
      ],
      { env: { ...env(), PGMINT_ADMIN_TOKEN: ADMIN_TOKEN } },
    );
    expect(added.stderr).toBe('');
    expect(added.status).toBe(0);
    expect(added.stdout).toMatch(/kind\s+oidc/);
  });
  afterAll(() => b?.close());

  it('creds prints a login Postgres accepts, as a table, JSON or one field', async () => {
    const file = await tokenFile(dir, await k8sToken());
    const table = await runCli(['creds', 'main', '--token-file', file], { env: env() });
    expect(table.status).toBe(0);
    const user = blockField(table.stdout, 'user')!;
    const password = blockField(table.stdout, 'password')!;
    expect(user).toMatch(/^pgm_prod_api_/);
    expect(await loginAs(b.pg, b.targetDb, user, password)).toBe(user);

    const json = await runCli(['creds', 'main', '--token-file', file, '--json', '--ttl', '10m'], { env: env() });
    const creds = JSON.parse(json.stdout);
    expect(creds).toMatchObject({ role: 'readonly', database: b.targetDb });
    // Rounded up to the whole second: never less than asked, at most a second more.
    expect((Date.parse(creds.expires_at) - Date.now()) / 1000).toBeLessThanOrEqual(601);

    const field = await runCli(['creds', 'main', '--token-file', file, '--field', 'password'], { env: env() });
    expect(field.stdout).toMatch(/^pgm-[A-Za-z0-9_-]{32}\n$/);
    // Piped stderr carries no spinner frames.
    expect(field.stderr).toBe('');
  });

  it('connect prints a URI psql logs in with, taking the token from stdin', async () => {
    const res = await runCli(['connect', 'main'], { env: env(), input: `${await k8sToken('batch', 'report')}\n` });
    expect(res.status).toBe(0);
    const uri = res.stdout.trim();
    expect(uri).toMatch(/^postgresql:\/\/pgm_batch_report_/);
    const psql = await run('psql', [uri, '-Atc', 'SELECT count(*) FROM app.orders']);
    expect(psql.stdout.trim()).toBe('2');
  });

  it("exchanges a person's OIDC token matched on sub and bound claims", async () => {
    const alice = await tokenFile(dir, await oidcToken('alice@example.com', { groups: ['dev', 'dba'] }));
    const res = await runCli(['creds', 'main', '--token-file', alice, '--json'], { env: env() });
    expect(res.status).toBe(0);
    const creds = JSON.parse(res.stdout);
    expect(creds.user).toMatch(/^pgm_oidc_/);
    expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);

    const team = await tokenFile(dir, await oidcToken('team-payments', { groups: 'dba' }));
    expect((await runCli(['creds', 'main', '--token-file', team, '--field', 'user'], { env: env() })).status).toBe(0);

    const noGroup = await tokenFile(dir, await oidcToken('alice@example.com', { groups: ['dev'] }));
    const refused = await runCli(['creds', 'main', '--token-file', noGroup], { env: env() });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/not_allowed/);
    expect(refused.stdout).toBe('');
  });

  it('refuses --readwrite clearly and says what to do; allows it once policy does', async () => {
    const file = await tokenFile(dir, await oidcToken('alice@example.com', { groups: 'dba' }));
    const res = await runCli(['creds', 'main', '--token-file', file, '--readwrite'], { env: env() });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: not_allowed: read\/write access to "main"/);
    expect(res.stderr).toMatch(/--readonly/);
    expect(res.stderr).toMatch(/--allow-write/);
    expect(res.stderr).toMatch(/request id: [0-9a-f-]{36}/);

    const both = await runCli(['creds', 'main', '--token-file', file, '--readwrite', '--readonly'], { env: env() });
    expect(both.status).not.toBe(0);

    // A second registration of the same target whose oidc issuer may hand out read/write, set up with the operator verbs.
    const admin = { env: { ...env(), PGMINT_ADMIN_TOKEN: ADMIN_TOKEN, PGMINT_TARGET_PASSWORD: b.brokerPassword } };
    const groups = groupsOf(b);
    const steps = [
      [
        'db',
        'add',
        'writable',
        '--host',
        b.pg.host,
        '--port',
        String(b.pg.port),
        '--database',
        b.targetDb,
        '--admin-user',
        b.brokerUser,
        '--sslmode',
        'disable',
      ],
      ['role', 'put', 'writable', 'readonly', '--member-of', groups.ro],
      ['role', 'put', 'writable', 'readwrite', '--member-of', groups.rw, '--allow-write', '--max-ttl', '1h'],
      ['role', 'put', 'writable', 'notwrite', '--member-of', groups.ro],
      [
        'issuer',
        'add',
        'writable',
        '--kind',
        'oidc',
        '--issuer',
        b.issuer.url,
        '--allow-subject',
        'bob@example.com',
        '--default-role',
        'readonly',
        '--allowed-role',
        'readwrite',
        '--allowed-role',
        'notwrite',
      ],
    ];
    for (const step of steps) {
      const r = await runCli(step, admin);
      expect(r.stderr, step.join(' ')).toBe('');
      expect(r.status).toBe(0);
    }
    const bob = await tokenFile(dir, await oidcToken('bob@example.com'));
    const rw = JSON.parse((await runCli(['creds', 'writable', '--token-file', bob, '--readwrite', '--json'], { env: env() })).stdout);
    expect(rw.role).toBe('readwrite');
    const psql = await run('psql', [rw.connection_uri, '-Atc', "INSERT INTO app.orders (item) VALUES ('fig') RETURNING item"]);
    expect(psql.stdout.trim().split('\n')[0]).toBe('fig');

    // A role the issuer hands out but that does not allow writes: refused, and its login revoked at once.
    const readOnlyRole = await runCli(['creds', 'writable', '--token-file', bob, '--readwrite', '--role', 'notwrite'], { env: env() });
    expect(readOnlyRole.status).toBe(1);
    expect(readOnlyRole.stderr).toMatch(/^pgmint: not_allowed: role "notwrite" of "writable" is read-only/m);
    expect(readOnlyRole.stdout).toBe('');
    const { rows } = await b.deps.sql.query<{ state: string }>(
      "SELECT state FROM pgmint.leases WHERE database_id = 'writable' AND role_name = 'notwrite'",
    );
    expect(rows.map((r) => r.state)).toEqual(['revoked']);
  });

  it('gui-config prints every field, the search path and the database-name warning', async () => {
    const file = await tokenFile(dir, await k8sToken());
    const res = await runCli(['gui-config', 'main', '--token-file', file], { env: env() });
    expect(res.status).toBe(0);
    const out = res.stdout;
    expect(out).toContain(`Do not use the temporary user name as the database name. Use database "${b.targetDb}".`);
    for (const app of ['Beekeeper Studio', 'DBeaver', 'TablePlus', 'DataGrip']) expect(out).toContain(app);
    expect(blockField(out, 'Host')).toBe(b.pg.host);
    expect(blockField(out, 'Port')).toBe(String(b.pg.port));
    expect(blockField(out, 'Database')).toBe(b.targetDb);
    expect(blockField(out, 'SSL')).toBe('off');
    expect(out).toMatch(/Schema \/ search path\s+\$user, public/);
    const user = blockField(out, 'User')!;
    expect(await loginAs(b.pg, b.targetDb, user, blockField(out, 'Password')!)).toBe(user);

    const json = JSON.parse((await runCli(['gui-config', 'main', '--token-file', file, '--json'], { env: env() })).stdout);
    expect(json).toMatchObject({ database: b.targetDb, ssh_tunnel_in_gui: false, search_path: ['$user', 'public'] });
    expect(json.warning).toContain('Do not use the temporary user name');
  });

  it('explains a rejected token without ever printing it', async () => {
    const expired = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }, { ttlSec: -600 });
    const file = await tokenFile(dir, expired);
    const res = await runCli(['creds', 'main', '--token-file', file], { env: env() });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: invalid_token: /);
    expect(res.stderr).toMatch(/what to try: /);
    expect(res.stderr + res.stdout).not.toContain(expired);
    expect(res.stderr + res.stdout).not.toContain(expired.split('.')[2]);

    const viaArgv = await runCli(['creds', 'nope', '--token', expired], { env: env() });
    expect(viaArgv.stderr).toMatch(/database_not_found|invalid_token/);
    expect(viaArgv.stderr).not.toContain(expired);

    const garbage = await runCli(['creds', 'main', '--token', 'not-a-jwt-secret-value'], { env: env() });
    expect(garbage.stderr).toMatch(/^pgmint: invalid_token: the token from --token is not a JWT/);
    expect(garbage.stderr).not.toContain('not-a-jwt-secret-value');

    const missing = await runCli(['creds', 'main', '--token-file', `${dir}/missing`], { env: env() });
    expect(missing.stderr).toMatch(/^pgmint: token_unreadable: .*ENOENT/);
  });

  it('token dev signs with the development issuer, and its token exchanges through stdin', async () => {
    const home = await tempDir('pgmint-home-');
    const devIssuer = await startDevIssuer({ keyFile: `${home}/dev-issuer-key.json` });
    try {
      await writeFile(
        `${home}/dev.json`,
        JSON.stringify({
          brokerUrl: b.url,
          issuerUrl: devIssuer.url,
          keyFile: `${home}/dev-issuer-key.json`,
          adminToken: '',
          database: 'main',
          audience: 'pgmint',
        }),
      );
      const trusted = await runCli(
        ['issuer', 'add', 'main', '--issuer', devIssuer.url, '--allow-sa', 'demo/*', '--default-role', 'readonly'],
        {
          env: { ...env(), PGMINT_ADMIN_TOKEN: ADMIN_TOKEN },
        },
      );
      expect(trusted.status).toBe(0);
      const token = await runCli(['token', 'dev', '--home', home, '--namespace', 'demo', '--service-account', 'web'], { env: {} });
      expect(token.status).toBe(0);
      const res = await runCli(['creds', 'main', '--token-file', '-', '--field', 'user'], { env: env(), input: token.stdout });
      expect(res.stderr).toBe('');
      expect(res.stdout).toMatch(/^pgm_demo_web_/);
    } finally {
      await devIssuer.stop();
    }
  });

  // The test server is PostgreSQL 18; the machine's pg_dump is older, which is exactly the failure to explain.
  it.skipIf(pgDumpMajor() >= 18)('dump explains a pg_dump older than the server', async () => {
    const file = await tokenFile(dir, await k8sToken());
    const out = `${dir}/mismatch.dump`;
    const res = await runCli(['dump', 'main', '--token-file', file, '--output', out, '--schema', 'app'], { env: env() });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: pg_dump_version_mismatch: pg_dump 15[.\d]* cannot dump a PostgreSQL 18[.\d]* server/m);
    expect(res.stderr).toMatch(/postgresql-client-18/);
    expect(existsSync(out)).toBe(false);
  });

  it('says when the broker cannot be reached', async () => {
    const file = await tokenFile(dir, await k8sToken());
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const res = await runCli(['creds', 'main', '--token-file', file, '--url', `http://127.0.0.1:${port}`], { env: {} });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      new RegExp(`^pgmint: broker_unreachable: cannot reach the broker at http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
    expect(res.stderr).toMatch(/PGMINT_URL/);
  });
});
