import { describe, expect, it } from 'vitest';
import { boundClaims } from '../../cli/commands/issuer.js';
import { explainPgDumpFailure, pgDumpArgs } from '../../cli/commands/dump.js';
import { requestedRole } from '../../cli/lib/credentials.js';
import { CliError, formatError, redact, rememberSecret } from '../../cli/lib/errors.js';
import { guiBlock } from '../../cli/lib/gui-block.js';
import { isPortFree, pickLocalPort } from '../../cli/lib/ports.js';
import { parseSearchPath, tenantSchemas } from '../../cli/lib/probe.js';
import { withSpinner } from '../../cli/lib/spinner.js';
import { parseVia, sshForwardArgs } from '../../cli/lib/ssh.js';
import { exchangeKind } from '../../cli/lib/token.js';
import { createServer } from 'node:net';

const fakeJwt = (claims: object) => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('cli helpers', () => {
  it('draws a spinner on a terminal and nothing on a pipe', async () => {
    const tty: string[] = [];
    const pipe: string[] = [];
    const slow = () => new Promise((r) => setTimeout(() => r('ok'), 300));
    expect(await withSpinner('minting', slow(), { isTTY: true, write: (s: string) => tty.push(s) })).toBe('ok');
    expect(await withSpinner('minting', slow(), { isTTY: false, write: (s: string) => pipe.push(s) })).toBe('ok');
    expect(tty.join('')).toContain('minting');
    expect(tty.at(-1)).toBe('\r\x1b[2K');
    expect(pipe).toEqual([]);
  });

  it('never prints a remembered secret or a password inside a URI', () => {
    rememberSecret('pgm_s3cret+/value');
    const err = new CliError('connect_failed', 'login with pgm_s3cret+/value failed', { hint: 'try postgresql://u:hunter22@h/db' });
    const text = formatError(err);
    expect(text).toContain('connect_failed');
    expect(text).not.toContain('pgm_s3cret');
    expect(text).not.toContain('hunter22');
    expect(redact(`x ${encodeURIComponent('pgm_s3cret+/value')} y`)).toBe('x [redacted] y');
  });

  it('reads search paths, including quoted names, and finds the tenant schemas', () => {
    expect(parseSearchPath('"$user", public')).toEqual(['$user', 'public']);
    expect(parseSearchPath('t_ab12_api, public')).toEqual(['t_ab12_api', 'public']);
    expect(parseSearchPath('"we""ird, one", app')).toEqual(['we"ird, one', 'app']);
    expect(parseSearchPath('""')).toEqual(['']);
    expect(tenantSchemas({ roleSearchPath: ['t_ab12_api', 'public'] })).toEqual(['t_ab12_api']);
    expect(tenantSchemas({ roleSearchPath: null })).toEqual([]);
  });

  it('scopes pg_dump to tenant schemas without owners and grants', () => {
    expect(pgDumpArgs({ output: 'x.dump', format: 'custom', schemas: ['t_1'] })).toEqual([
      '--format=custom',
      '--file=x.dump',
      '--schema=t_1',
      '--no-owner',
      '--no-acl',
    ]);
    expect(pgDumpArgs({ output: '-', format: 'plain', schemaOnly: true, schemas: [] })).toEqual(['--format=plain', '--schema-only']);
  });

  it('explains the pg_dump failures people hit', () => {
    const mismatch =
      'pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 18.1; pg_dump version: 15.18 (Debian 15.18-0+deb12u1)\n';
    expect(explainPgDumpFailure(mismatch, 1)).toMatchObject({ code: 'pg_dump_version_mismatch' });
    expect(explainPgDumpFailure(mismatch, 1).hint).toContain('postgresql-client-18');
    const rls = 'pg_dump: error: query failed: ERROR:  query would be affected by row-level security policy for table "notes"\n';
    expect(explainPgDumpFailure(rls, 1)).toMatchObject({ code: 'row_level_security' });
    expect(explainPgDumpFailure('ERROR:  permission denied for table payroll', 1)).toMatchObject({ code: 'permission_denied' });
    expect(explainPgDumpFailure('something else', 3)).toMatchObject({ code: 'pg_dump_failed', exitCode: 3 });
  });

  it('builds the ssh forward with the bastion port, key and options', () => {
    expect(parseVia('ops@bastion.example:2222')).toEqual({ user: 'ops', host: 'bastion.example', port: 2222 });
    expect(parseVia('bastion')).toEqual({ user: undefined, host: 'bastion', port: undefined });
    expect(() => parseVia('a b')).toThrow(CliError);
    const args = sshForwardArgs({
      via: parseVia('root@127.0.0.1:2200'),
      localPort: 15433,
      dbHost: '10.0.0.5',
      dbPort: 5432,
      identity: 'k',
      sshOptions: ['StrictHostKeyChecking=no'],
    });
    expect(args.slice(0, 3)).toEqual(['-N', '-L', '127.0.0.1:15433:10.0.0.5:5432']);
    expect(args).toEqual(expect.arrayContaining(['-p', '2200', '-i', 'k', 'ExitOnForwardFailure=yes', 'StrictHostKeyChecking=no']));
    expect(args.at(-1)).toBe('root@127.0.0.1');
  });

  it('takes the next free port unless told to be strict', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as { port: number }).port;
    try {
      expect(await isPortFree(port)).toBe(false);
      await expect(pickLocalPort(port, { strict: true })).rejects.toMatchObject({ code: 'port_in_use' });
      expect(await pickLocalPort(port)).toBeGreaterThan(port);
    } finally {
      busy.close();
    }
  });

  it('picks the exchange kind and role from the token and flags', () => {
    expect(exchangeKind(fakeJwt({ sub: 'system:serviceaccount:prod:api' }))).toBe('k8s');
    expect(exchangeKind(fakeJwt({ sub: 'alice@example.com' }))).toBe('oidc');
    expect(requestedRole({})).toBeUndefined();
    expect(requestedRole({ readwrite: true })).toBe('readwrite');
    expect(requestedRole({ readwrite: true, role: 'writer' })).toBe('writer');
    expect(requestedRole({ role: 'analyst' })).toBe('analyst');
  });

  it('groups repeated bound claims into arrays', () => {
    expect(boundClaims(['groups=dba', 'groups=ops', 'repo=acme/api'])).toEqual({ groups: ['dba', 'ops'], repo: 'acme/api' });
    expect(() => boundClaims(['novalue'])).toThrow(CliError);
  });

  it('prints the database-name warning in the GUI block', () => {
    const creds = {
      host: 'db',
      port: 5432,
      database: 'orders',
      user: 'pgm_oidc_alice_x',
      password: 'pgm_pw',
      sslmode: 'verify-full',
      expires_at: new Date(Date.now() + 3600e3).toISOString(),
      refresh_at: '',
      connection_uri: '',
      lease_id: 'l',
      role: 'readonly',
    };
    const text = guiBlock(creds, { searchPath: ['app', 'public'], tunnel: { via: 'ops@bastion' } });
    expect(text).toContain('Do not use the temporary user name as the database name. Use database "orders".');
    expect(text).toMatch(/SSL\s+require/);
    expect(text).toMatch(/Schema \/ search path\s+app, public/);
  });
});
