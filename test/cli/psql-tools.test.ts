// pg_dump here is the machine's (Debian, version 15), and pg_dump refuses servers newer than itself,
// so these tests run against the PostgreSQL 15 test server; the PG 18 mismatch is tested in creds.test.ts.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, serverUrl } from '../support/postgres.js';
import { type ProcessInfo, processes, programName, runCli, startCli, tempDir, tokenFile, waitFor } from './support.js';

const run = promisify(execFile);

describe('pgmint shell and dump on PostgreSQL 15', () => {
  let b: TestBroker;
  let dir: string;
  let file: string;
  const tenant = `tenant_${randomBytes(3).toString('hex')}`;
  const env = () => ({ PGMINT_URL: b.url });

  /** Holds an exclusive lock on a table so a client that reads it waits while we look at the process list. */
  async function holdLock(table: string): Promise<() => Promise<void>> {
    const c = new pg.Client({ connectionString: serverUrl(b.pg, b.targetDb) });
    await c.connect();
    await c.query('BEGIN');
    await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return async () => {
      await c.query('COMMIT');
      await c.end();
    };
  }

  /** Finds the child a CLI run started with this login, and checks its password is in its environment only. */
  async function childWithLogin(program: string, user: string): Promise<ProcessInfo> {
    return waitFor(
      async () => (await processes()).find((p) => programName(p) === program && p.env.PGUSER === user),
      `${program} as ${user}`,
    );
  }

  beforeAll(async () => {
    b = await startTestBroker({ server: 'pg15' });
    await b.setupDefault();
    dir = await tempDir();
    const { ro } = groupsOf(b);
    const c = new pg.Client({ connectionString: serverUrl(b.pg, b.targetDb) });
    await c.connect();
    // A tenant schema with its own group; notes is protected by row-level security.
    await c.query(`
      CREATE ROLE ${tenant}_grp NOLOGIN;
      CREATE SCHEMA ${tenant};
      CREATE TABLE ${tenant}.items (id int PRIMARY KEY, name text);
      INSERT INTO ${tenant}.items VALUES (1, 'widget');
      CREATE TABLE ${tenant}.notes (owner text, body text);
      ALTER TABLE ${tenant}.notes ENABLE ROW LEVEL SECURITY;
      CREATE POLICY own_notes ON ${tenant}.notes USING (owner = current_user);
      GRANT USAGE ON SCHEMA ${tenant} TO ${tenant}_grp;
      GRANT SELECT ON ALL TABLES IN SCHEMA ${tenant} TO ${tenant}_grp;
      GRANT SELECT ON ALL SEQUENCES IN SCHEMA app TO ${ro};`);
    await c.end();
    const res = await b.admin('PUT', '/api/v1/databases/main/roles/tenant', {
      member_of: [`${tenant}_grp`],
      search_path: [tenant, 'public'],
    });
    expect(res.status).toBe(200);
    await b.deps.sql.query("UPDATE pgmint.issuers SET allowed_roles = '{readonly,readwrite,tenant}'");
    file = await tokenFile(dir, await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }));
  });
  afterAll(() => b?.close());

  it('shell runs psql as the minted user and exits with its status', async () => {
    const ok = await runCli(['shell', 'main', '--token-file', file, '--command', 'SELECT current_user', '--', '-At'], { env: env() });
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^pgm_prod_api_[a-z0-9]+$/);

    const script = join(dir, 'fail.sql');
    await writeFile(script, 'SELECT 1;\nSELECT 1/0;\nSELECT 2;\n');
    const failed = await runCli(['shell', 'main', '--token-file', file, '--', '-v', 'ON_ERROR_STOP=1', '-f', script], { env: env() });
    // psql's own code for a script stopped by ON_ERROR_STOP.
    expect(failed.status).toBe(3);
    expect(failed.stderr).toMatch(/division by zero/);
  });

  it('shell passes the password to psql in its environment, never on a command line', async () => {
    const release = await holdLock('app.orders');
    const cli = startCli(['shell', 'main', '--token-file', file, '--command', 'SELECT count(*) FROM app.orders', '--', '-At'], {
      env: env(),
    });
    let stdout = '';
    let stderr = '';
    cli.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    cli.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const closed = new Promise<number | null>((r) => cli.once('close', r));
    try {
      const user = await waitFor(async () => /Temporary login (\S+)/.exec(stderr)?.[1], 'the login line');
      const psql = await childWithLogin('psql', user);
      const password = psql.env.PGPASSWORD!;
      expect(password).toMatch(/^pgm-/);
      expect(psql.env).toMatchObject({
        PGUSER: user,
        PGDATABASE: b.targetDb,
        PGHOST: b.pg.host,
        PGPORT: String(b.pg.port),
        PGSSLMODE: 'disable',
      });
      const everyCommandLine = (await processes()).map((p) => p.argv.join(' ')).join('\n');
      expect(everyCommandLine).toContain('SELECT count(*) FROM app.orders');
      expect(everyCommandLine).not.toContain(password);
      await release();
      expect(await closed).toBe(0);
      expect(stdout.trim()).toBe('2');
      expect(stdout + stderr).not.toContain(password);
      // The login ends with the shell.
      expect(stderr).toContain(`Login ${user} revoked.`);
      await expect(loginAs(b.pg, b.targetDb, user, password)).rejects.toMatchObject({ code: '28P01' });
    } finally {
      await release().catch(() => {});
    }
  });

  it('dump writes a file pg_restore can list, scoped to the schema asked for', async () => {
    const out = join(dir, 'app.dump');
    const res = await runCli(['dump', 'main', '--token-file', file, '--output', out, '--schema', 'app'], { env: env() });
    expect(res.stderr).toMatch(/Wrote .*app\.dump/);
    expect(res.status).toBe(0);
    const { stdout } = await run('pg_restore', ['--list', out]);
    expect(stdout).toMatch(/TABLE DATA app orders/);
    expect(stdout).not.toMatch(/secret/);
  });

  it('dump of a tenant-scoped role covers only its schema, without owners and grants', async () => {
    const release = await holdLock(`${tenant}.items`);
    const out = join(dir, 'tenant.dump');
    const cli = startCli(['dump', 'main', '--token-file', file, '--role', 'tenant', '--output', out, '--schema-only'], { env: env() });
    let stderr = '';
    cli.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    cli.stdout?.resume();
    const closed = new Promise<number | null>((r) => cli.once('close', r));
    try {
      const dump = await waitFor(
        async () => (await processes()).find((p) => programName(p) === 'pg_dump' && p.argv.includes(`--file=${out}`)),
        'pg_dump',
      );
      expect(dump.argv).toEqual(expect.arrayContaining([`--schema=${tenant}`, '--no-owner', '--no-acl', '--schema-only']));
      const password = dump.env.PGPASSWORD!;
      expect(password).toMatch(/^pgm-/);
      expect((await processes()).map((p) => p.argv.join(' ')).join('\n')).not.toContain(password);
      await release();
      expect(await closed).toBe(0);
      expect(stderr).toContain(`scoped to schema ${tenant}`);
      expect(stderr).not.toContain(password);
    } finally {
      await release().catch(() => {});
    }
    const { stdout } = await run('pg_restore', ['--list', out]);
    expect(stdout).toMatch(new RegExp(`TABLE ${tenant} items`));
    expect(stdout).not.toMatch(/ app | secret /);
    expect(stdout).not.toMatch(/ACL|OWNER TO/);
  });

  it('explains the row-level-security refusal and leaves no half-written dump', async () => {
    const out = join(dir, 'rls.dump');
    const res = await runCli(['dump', 'main', '--token-file', file, '--role', 'tenant', '--output', out], { env: env() });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: row_level_security: table "notes"/m);
    expect(res.stderr).toMatch(/--schema-only/);
    expect(existsSync(out)).toBe(false);
  });

  it('explains a permission failure when the whole database is asked for', async () => {
    const res = await runCli(
      ['dump', 'main', '--token-file', file, '--output', join(dir, 'all.dump'), '--schema-only', '--format', 'plain'],
      { env: env() },
    );
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: permission_denied: /m);
    expect(res.stderr).toMatch(/--schema/);
  });

  it('admin errors name the code and what to try', async () => {
    const res = await runCli(['db', 'list'], { env: { ...env(), PGMINT_ADMIN_TOKEN: `${ADMIN_TOKEN}x` } });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: unauthorized: /);
    expect(res.stderr).toMatch(/PGMINT_ADMIN_TOKEN/);
    expect(res.stderr).not.toContain(ADMIN_TOKEN);
  });
});
