import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, tokenFile, waitFor } from '../cli/support.js';
import { groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { withSuperuser } from '../support/postgres.js';
import { brokerSwitch } from './broker-switch.js';
import { run, startProxy, type TestProxy } from './support.js';

/** Seconds; leases are at least 30 s long. */
const SHORT_TTL = 30;

describe('pgmint proxy: leases over time, broker outages, shutdown', () => {
  let b: TestBroker;
  let apiToken: string;
  const proxies: TestProxy[] = [];
  const track = (p: TestProxy) => (proxies.push(p), p);

  const connectVia = async (p: TestProxy) => {
    const client = new pg.Client({ connectionString: p.url() });
    await client.connect();
    return client;
  };
  const userOf = async (c: pg.Client) => (await c.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u;
  const roleExists = (name: string) =>
    withSuperuser(b.pg, b.targetDb, async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1);
  const psqlUser = (p: TestProxy) => run('psql', [p.url(), '-XAt', '-c', 'SELECT current_user']);

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault('main');
    // A role whose leases cannot be renewed past their first TTL, so the proxy must roll over.
    expect(
      (
        await b.admin('PUT', '/api/v1/databases/main/roles/short', {
          member_of: [groupsOf(b).ro],
          default_ttl: SHORT_TTL,
          max_ttl: SHORT_TTL,
        })
      ).status,
    ).toBeLessThan(300);
    const { issuers } = (await (await b.admin('GET', '/api/v1/databases/main/issuers')).json()) as { issuers: Array<{ id: string }> };
    expect((await b.admin('DELETE', `/api/v1/databases/main/issuers/${issuers[0]!.id}`)).status).toBeLessThan(300);
    const issuer = {
      issuer: b.issuer.url,
      allowed_service_accounts: ['prod/api', 'batch/*'],
      default_role: 'readonly',
      allowed_roles: ['readonly', 'short'],
    };
    expect((await b.admin('POST', '/api/v1/databases/main/issuers', issuer)).status).toBeLessThan(300);
    apiToken = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' });
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.kill('SIGKILL')));
    await b?.close();
  });

  it.concurrent('rolls over to a new lease, read from the replaced token file; open connections keep working past expiry', async () => {
    const dir = await tempDir();
    const podUid = crypto.randomUUID();
    const file = await tokenFile(dir, await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-0', podUid }));
    const proxy = track(await startProxy({ brokerUrl: b.url, database: 'main', tokenFile: file, args: ['--role', 'short'] }));
    const podOf = async (user: unknown) =>
      (await b.deps.sql.query<{ pod_name: string }>('SELECT pod_name FROM pgmint.leases WHERE username = $1', [user])).rows[0]?.pod_name;
    const old = await connectVia(proxy);
    try {
      const oldUser = await userOf(old);
      expect(oldUser).toMatch(/^pgm_prod_api_/);
      expect(await podOf(oldUser)).toBe('api-0');
      // The kubelet rotates the projected token in place; the next broker call must read the new one
      // (its pod name differs only so the lease row shows which token minted it).
      await writeFile(file, await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-0-rotated', podUid }));
      const second = await proxy.waitForEvent('lease_acquired', (e) => e.user !== oldUser, 45_000);
      expect(proxy.events().find((e) => e.event === 'lease_at_max_ttl')).toMatchObject({
        lease_id: proxy.events().find((e) => e.event === 'lease_acquired')!.lease_id,
      });
      expect(second.user).toMatch(/^pgm_prod_api_/);
      expect(await podOf(second.user)).toBe('api-0-rotated');

      const fresh = await connectVia(proxy);
      expect(await userOf(fresh)).toBe(second.user);
      await fresh.end();
      // The old lease's login expires; its open connection does not.
      const firstExpiry = Date.parse(String(proxy.events().find((e) => e.event === 'lease_acquired')!.expires_at));
      await waitFor(async () => Date.now() > firstExpiry + 1000, 'the first lease to expire', 45_000);
      expect(await userOf(old)).toBe(oldUser);
      expect((await old.query('SELECT count(*)::int AS n FROM app.orders')).rows[0].n).toBe(2);
    } finally {
      await old.end().catch(() => {});
    }
  });

  it.concurrent('broker down mid-run: connections succeed until the lease expires, then name the broker code; it recovers', async () => {
    const sw = await brokerSwitch(b.url);
    const proxy = track(
      await startProxy({
        brokerUrl: sw.url,
        database: 'main',
        tokenFile: await tokenFile(await tempDir(), apiToken),
        args: ['--role', 'short'],
      }),
    );
    const first = await proxy.waitForEvent('lease_acquired');
    await sw.down();
    try {
      const during = await psqlUser(proxy);
      expect(during.stdout.trim()).toBe(first.user);
      await proxy.waitForEvent('broker_call_failed', (e) => e.code === 'broker_unreachable', 45_000);
      expect((await proxy.admin('/readiness')).status).toBe(200);
      await waitFor(async () => Date.now() > Date.parse(String(first.expires_at)), 'the lease to expire', 45_000);
      const after = await psqlUser(proxy);
      expect(after.status).not.toBe(0);
      expect(after.stderr).toMatch(/no valid lease for "main": broker_unreachable/);
      const ready = await proxy.admin('/readiness');
      expect(ready.status).toBe(503);
      expect(ready.body).toContain('broker_unreachable');
      expect((await proxy.admin('/metrics')).body).toMatch(/^pgmint_proxy_broker_errors_total\{code="broker_unreachable"\} [1-9]/m);
    } finally {
      await sw.up();
    }
    const next = await proxy.waitForEvent('lease_acquired', (e) => e.user !== first.user, 45_000);
    expect((await psqlUser(proxy)).stdout.trim()).toBe(next.user);
    await sw.close();
  });

  it('broker down at start: not ready, applications get an error naming the code, then it recovers', async () => {
    const sw = await brokerSwitch(b.url, false);
    const proxy = track(
      await startProxy({
        brokerUrl: sw.url,
        database: 'main',
        tokenFile: await tokenFile(await tempDir(), apiToken),
        waitFor: 'listening',
      }),
    );
    await proxy.waitForEvent('broker_call_failed');
    expect((await proxy.admin('/startup')).status).toBe(503);
    expect((await proxy.admin('/readiness')).status).toBe(503);
    expect((await proxy.admin('/liveness')).status).toBe(200);
    const refused = await psqlUser(proxy);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/pgmint proxy holds no valid lease for "main": broker_unreachable/);
    await sw.up();
    const lease = await proxy.waitForEvent('lease_acquired');
    expect((await proxy.admin('/startup')).status).toBe(200);
    expect((await proxy.admin('/readiness')).status).toBe(200);
    expect((await psqlUser(proxy)).stdout.trim()).toBe(lease.user);
    await sw.close();
  });

  it("broker answering 503: the proxy waits the broker's Retry-After, not its own backoff", async () => {
    const sw = await brokerSwitch(b.url, false);
    sw.unavailable(4);
    const proxy = track(
      await startProxy({
        brokerUrl: sw.url,
        database: 'main',
        tokenFile: await tokenFile(await tempDir(), apiToken),
        waitFor: 'listening',
      }),
    );
    const failed = await proxy.waitForEvent('broker_call_failed');
    expect(failed).toMatchObject({ code: 'control_plane_unavailable', retry_in_ms: 4000 });
    await sw.up();
    await proxy.waitForEvent('lease_acquired');
    await sw.close();
  });

  it('a token the broker refuses: the error names its code', async () => {
    const proxy = track(
      await startProxy({
        brokerUrl: b.url,
        database: 'main',
        tokenFile: await tokenFile(await tempDir(), await b.issuer.mint({ namespace: 'other', serviceAccount: 'intruder' })),
        waitFor: 'listening',
      }),
    );
    await proxy.waitForEvent('broker_call_failed');
    const res = await psqlUser(proxy);
    expect(res.stderr).toMatch(/no valid lease for "main": not_allowed/);
  });

  it('SIGTERM: stops accepting, lets open connections finish, revokes the lease, exits 0', async () => {
    const proxy = track(
      await startProxy({
        brokerUrl: b.url,
        database: 'main',
        tokenFile: await tokenFile(await tempDir(), apiToken),
        args: ['--max-sigterm-delay', '40s'],
      }),
    );
    const client = await connectVia(proxy);
    const user = await userOf(client);
    proxy.child.kill('SIGTERM');
    await proxy.waitForEvent('shutdown_started');
    // No new connections; the open one keeps working while it drains.
    const refused = new pg.Client({ connectionString: proxy.url() });
    refused.on('error', () => {}); // pg also emits the failed connect as an event
    await expect(refused.connect()).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((await client.query('SELECT count(*)::int AS n FROM app.orders')).rows[0].n).toBe(2);
    expect(await roleExists(user)).toBe(true);
    await client.end();
    expect(await proxy.exited).toBe(0);
    expect(proxy.events().find((e) => e.event === 'lease_revoked')).toMatchObject({ user });
    expect(await roleExists(user)).toBe(false);
  });

  it('POST /quitquitquit: connections still open at --max-sigterm-delay are closed, the lease revoked, exit 0', async () => {
    const proxy = track(
      await startProxy({
        brokerUrl: b.url,
        database: 'main',
        tokenFile: await tokenFile(await tempDir(), apiToken),
        args: ['--max-sigterm-delay', '1s'],
      }),
    );
    const client = await connectVia(proxy);
    client.on('error', () => {});
    const user = await userOf(client);
    expect((await proxy.admin('/quitquitquit', 'POST')).status).toBe(200);
    expect(await proxy.exited).toBe(0);
    expect(proxy.events().some((e) => e.event === 'connections_closed_at_deadline')).toBe(true);
    await expect(client.query('SELECT 1')).rejects.toThrow();
    expect(await roleExists(user)).toBe(false);
  });

  it('refuses to listen beyond loopback without a local password, and says why', async () => {
    const res = await runCli([
      'proxy',
      'main',
      '--url',
      b.url,
      '--token-file',
      await tokenFile(await tempDir(), apiToken),
      '--listen',
      '0.0.0.0:0',
      '--admin-listen',
      'off',
    ]);
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(
      /^pgmint: insecure_listen: refusing to listen on 0\.0\.0\.0, which is not loopback, without a local password/,
    );
    expect(res.stderr).toContain('--local-password-file');
  });

  it('with a local password: SCRAM-SHA-256 to the application, a wrong password refused', async () => {
    const dir = await tempDir();
    const passwordFile = join(dir, 'local-password');
    await writeFile(passwordFile, 'correct horse battery staple\n', { mode: 0o600 });
    const proxy = track(
      await startProxy({
        brokerUrl: b.url,
        database: 'main',
        tokenFile: await tokenFile(dir, apiToken),
        args: ['--local-password-file', passwordFile],
      }),
    );
    const ok = await run('psql', [proxy.url(), '-XAt', '-c', 'SELECT current_user'], {
      env: { PGPASSWORD: 'correct horse battery staple' },
    });
    expect(ok.stdout.trim()).toMatch(/^pgm_prod_api_/);
    const wrong = await run('psql', [proxy.url(), '-XAt', '-c', 'SELECT current_user'], { env: { PGPASSWORD: 'wrong' } });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain('password authentication failed for user "app"');
    const client = new pg.Client({
      host: '127.0.0.1',
      port: proxy.port,
      user: 'app',
      database: 'orders',
      password: 'correct horse battery staple',
    });
    await client.connect();
    expect(await userOf(client)).toMatch(/^pgm_prod_api_/);
    await client.end();
  });

  it('listens on a Unix socket', async () => {
    const dir = await tempDir();
    const proxy = track(
      await startProxy({ brokerUrl: b.url, database: 'main', tokenFile: await tokenFile(dir, apiToken), args: ['--unix-socket', dir] }),
    );
    const res = await run('psql', [
      '-h',
      dir,
      '-p',
      new URL(proxy.url()).port,
      '-U',
      'app',
      '-d',
      'orders',
      '-XAt',
      '-c',
      'SELECT current_user',
    ]);
    expect(res.stdout.trim(), res.stderr).toMatch(/^pgm_prod_api_/);
  });
});
