import { createServer, type Server } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canConnect } from '../../cli/lib/ports.js';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';
import { blockField, processes, programName, runCli, startCli, tempDir, tokenFile, waitFor } from './support.js';
import { freePort, startSshd, type TestSshd } from './sshd.js';

describe('pgmint tunnel through a real sshd', () => {
  let b: TestBroker;
  let sshd: TestSshd;
  let file: string;
  let busy: Server;
  let busyPort: number;
  const env = () => ({ PGMINT_URL: b.url });
  const sshArgs = (key: string) => [
    '--via',
    `${sshd.user}@127.0.0.1:${sshd.port}`,
    '--identity',
    key,
    '--ssh-option',
    'StrictHostKeyChecking=no',
    '--ssh-option',
    'UserKnownHostsFile=/dev/null',
    '--ssh-option',
    'BatchMode=yes',
    '--ssh-option',
    'IdentitiesOnly=yes',
  ];
  const leaseCount = async () => Number((await b.deps.sql.query<{ n: string }>('SELECT count(*) AS n FROM pgmint.leases')).rows[0]!.n);

  beforeAll(async () => {
    [b, sshd] = await Promise.all([startTestBroker(), startSshd()]);
    await b.setupDefault();
    file = await tokenFile(await tempDir(), await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api' }));
    busy = createServer();
    busyPort = await freePort();
    await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    busy?.close();
    await sshd?.stop();
    await b?.close();
  });

  it('refuses a taken port with --strict-port before minting anything', async () => {
    const before = await leaseCount();
    const res = await runCli(
      ['tunnel', 'main', '--token-file', file, ...sshArgs(sshd.clientKey), '--local-port', String(busyPort), '--strict-port'],
      { env: env() },
    );
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: port_in_use: local port \d+ is already in use/);
    expect(res.stderr).toMatch(/omit --strict-port/);
    expect(await leaseCount()).toBe(before);
  });

  it('forwards the next free port to Postgres, prints the GUI block for 127.0.0.1, and closes on Ctrl-C', async () => {
    const cli = startCli(['tunnel', 'main', '--token-file', file, ...sshArgs(sshd.clientKey), '--local-port', String(busyPort)], {
      env: env(),
    });
    let stdout = '';
    let stderr = '';
    cli.stdout?.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    cli.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const closed = new Promise<number | null>((r) => cli.once('close', r));
    try {
      const port = Number(
        await waitFor(async () => /Tunnel open: 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1], `the tunnel (stderr: ${stderr})`, 40_000),
      );
      expect(port).not.toBe(busyPort);
      expect(port).toBeGreaterThan(busyPort);
      expect(blockField(stdout, 'Host')).toBe('127.0.0.1');
      expect(blockField(stdout, 'Port')).toBe(String(port));
      expect(stdout).toContain('Do not use the temporary user name as the database name');
      expect(stdout).toMatch(/SSH tunnel in GUI\s+off/);
      const user = blockField(stdout, 'User')!;
      const password = blockField(stdout, 'Password')!;

      // The forward belongs to an ssh child with the forward on its command line and no secret there.
      const ssh = (await processes()).find(
        (p) => programName(p) === 'ssh' && p.argv.includes(`127.0.0.1:${port}:${b.pg.host}:${b.pg.port}`),
      );
      expect(ssh).toBeDefined();
      expect((await processes()).map((p) => p.argv.join(' ')).join('\n')).not.toContain(password);

      const client = new pg.Client({ host: '127.0.0.1', port, user, password, database: b.targetDb });
      await client.connect();
      try {
        const { rows } = await client.query('SELECT current_user AS u, (SELECT count(*)::int FROM app.orders) AS n');
        expect(rows[0]).toEqual({ u: user, n: 2 });
      } finally {
        await client.end();
      }

      cli.kill('SIGINT');
      expect(await closed).toBe(0);
      expect(stderr).toContain('Tunnel closed.');
      expect(stderr).toContain(`Login ${user} revoked.`);
      await expect(loginAs(b.pg, b.targetDb, user, password)).rejects.toMatchObject({ code: '28P01' });
      expect(await canConnect(port)).toBe(false);
      expect((await processes()).some((p) => p.pid === ssh!.pid && programName(p) === 'ssh')).toBe(false);
    } finally {
      if (cli.exitCode === null) cli.kill('SIGKILL');
    }
  });

  it('explains an SSH login the bastion refuses', async () => {
    const res = await runCli(['tunnel', 'main', '--token-file', file, ...sshArgs(sshd.strangerKey), '--local-port', String(busyPort)], {
      env: env(),
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: ssh_auth_failed: the bastion .* refused the SSH login/m);
    expect(res.stderr).toMatch(/--identity/);
  });
});
