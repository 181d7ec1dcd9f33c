import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, groupsOf, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs } from '../support/postgres.js';
import { blockField, runCli } from './support.js';

describe('pgmint operator verbs', () => {
  let b: TestBroker;
  const env = () => ({ PGMINT_URL: b.url, PGMINT_ADMIN_TOKEN: ADMIN_TOKEN });
  const admin = async (args: string[], input?: string) => {
    const res = await runCli(args, { env: env(), input });
    // Piped stderr stays empty: no spinner, no noise.
    expect(res.stderr, args.join(' ')).toBe('');
    expect(res.status, args.join(' ')).toBe(0);
    return res.stdout;
  };
  const mint = async (namespace: string, serviceAccount: string) => {
    const token = await b.issuer.mint({ namespace, serviceAccount });
    const res = await fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    return (await res.json()) as { user: string; password: string; lease_id: string };
  };

  beforeAll(async () => {
    b = await startTestBroker();
    await b.setupDefault();
  });
  afterAll(() => b?.close());

  it('db add (password from stdin), list, show and rm', async () => {
    const added = await admin(
      [
        'db',
        'add',
        'reports',
        '--host',
        b.pg.host,
        '--port',
        String(b.pg.port),
        '--database',
        b.targetDb,
        '--admin-user',
        b.brokerUser,
        '--admin-password-file',
        '-',
        '--sslmode',
        'disable',
      ],
      `${b.brokerPassword}\n`,
    );
    expect(blockField(added, 'id')).toBe('reports');
    expect(added).not.toContain(b.brokerPassword);
    const list = await admin(['db', 'list']);
    expect(list.split('\n')[0]).toMatch(/^ID\s+HOST\s+DATABASE/);
    expect(list).toMatch(/^main\s/m);
    expect(list).toMatch(/^reports\s/m);
    expect(
      JSON.parse(await admin(['db', 'list', '--json']))
        .map((d: { id: string }) => d.id)
        .sort(),
    ).toEqual(['main', 'reports']);
    expect(blockField(await admin(['db', 'show', 'reports']), 'database')).toBe(b.targetDb);
    expect(await admin(['db', 'rm', 'reports'])).toContain('removed database reports');
    const gone = await runCli(['db', 'show', 'reports'], { env: env() });
    expect(gone.status).toBe(1);
    expect(gone.stderr).toMatch(/^pgmint: database_not_found: /);
    expect(gone.stderr).toMatch(/pgmint db list/);
  });

  it('role put, list and rm', async () => {
    const { ro } = groupsOf(b);
    const put = await admin([
      'role',
      'put',
      'main',
      'analyst',
      '--member-of',
      ro,
      '--search-path',
      'app',
      '--default-ttl',
      '15m',
      '--max-session',
      '2h',
    ]);
    expect(put).toMatch(/access\s+read-only/);
    expect(put).toMatch(/ttl\s+900 s/);
    expect(put).toMatch(/max session\s+7200 s after expiry/);
    expect(JSON.parse(await admin(['role', 'list', 'main', '--json'])).find((r: { name: string }) => r.name === 'analyst')).toMatchObject({
      max_session: 7200,
    });
    expect(await admin(['role', 'list', 'main'])).toMatch(/^analyst\s+\S+\s+read-only\s+app\s+900s/m);
    const invalid = await runCli(['role', 'put', 'main', 'bad', '--member-of', 'no_such_group_x'], { env: env() });
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/^pgmint: invalid_config: group role\(s\) not found/);
    await admin(['role', 'rm', 'main', 'analyst']);
    expect(await admin(['role', 'list', 'main'])).not.toMatch(/^analyst/m);
  });

  it('issuer add, list and rm', async () => {
    // Registration tries discovery at once, so the issuer is one the broker can reach.
    const added = await admin([
      'issuer',
      'add',
      'main',
      '--kind',
      'oidc',
      '--issuer',
      b.issuer.url,
      '--allow-subject',
      'repo:acme/api:*',
      '--bound-claim',
      'repository_owner=acme',
      '--default-role',
      'readonly',
    ]);
    const id = blockField(added, 'id')!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(added).toMatch(/^discovery: ok \(\d+ keys? fetched\)$/m);
    const list = await admin(['issuer', 'list', 'main']);
    expect(list).toContain(id);
    expect(list).toMatch(/oidc\s+http:\/\/127\.0\.0\.1:/);
    const [issuer] = JSON.parse(await admin(['issuer', 'list', 'main', '--json'])).filter((i: { id: string }) => i.id === id);
    expect(issuer).toMatchObject({ allowed_subjects: ['repo:acme/api:*'], bound_claims: { repository_owner: 'acme' } });
    await admin(['issuer', 'rm', 'main', id]);
    expect(await admin(['issuer', 'list', 'main'])).not.toContain(id);
  });

  it('leases list and revoke, one or by subject; Postgres then refuses the login', async () => {
    const one = await mint('prod', 'api');
    const two = await mint('batch', 'report');
    const three = await mint('batch', 'report');
    const list = await admin(['leases', 'list', 'main', '--state', 'active']);
    expect(list.split('\n')[0]).toMatch(/^LEASE\s+USER\s+ROLE\s+STATE/);
    for (const l of [one, two, three]) expect(list).toContain(l.lease_id);

    expect(await admin(['leases', 'revoke', one.lease_id])).toMatch(/: revoked/);
    await expect(loginAs(b.pg, b.targetDb, one.user, one.password)).rejects.toMatchObject({ code: '28P01' });

    expect(await admin(['leases', 'revoke', '--db', 'main', '--subject', 'system:serviceaccount:batch:report'])).toMatch(
      /^revoked 2 of 2 /,
    );
    await expect(loginAs(b.pg, b.targetDb, three.user, three.password)).rejects.toMatchObject({ code: '28P01' });
    const revoked = JSON.parse(await admin(['leases', 'list', 'main', '--subject', 'system:serviceaccount:batch:report', '--json']));
    expect(revoked.leases.map((l: { state: string }) => l.state)).toEqual(['revoked', 'revoked']);

    const nothing = await runCli(['leases', 'revoke'], { env: env() });
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toMatch(/^pgmint: invalid_request: nothing to revoke/);
  });

  it('leases ack finishes an irrevocable lease and refuses a live one', async () => {
    const lease = await mint('prod', 'api');
    const live = await runCli(['leases', 'ack', lease.lease_id], { env: env() });
    expect(live.status).toBe(1);
    expect(live.stderr).toMatch(/^pgmint: conflict: lease is active/);
    // As the sweep leaves a lease whose revocations kept failing.
    await b.deps.sql.query(`UPDATE pgmint.leases SET state = 'irrevocable', revoke_attempts = 5 WHERE id = $1`, [lease.lease_id]);
    expect(await admin(['leases', 'ack', lease.lease_id])).toBe(`lease ${lease.lease_id} (${lease.user}): acknowledged\n`);
    const listed = JSON.parse(await admin(['leases', 'list', 'main', '--state', 'acknowledged', '--json']));
    expect(listed.leases.map((l: { id: string }) => l.id)).toEqual([lease.lease_id]);
  });

  it('audit as a table and as JSON', async () => {
    await mint('prod', 'api');
    const table = await admin(['audit', '--database', 'main', '--action', 'credentials.issue', '--since', '1h']);
    expect(table.split('\n')[0]).toMatch(/^AT\s+ACTION\s+OUTCOME\s+CODE\s+DATABASE\s+SUBJECT/);
    expect(table).toMatch(/credentials\.issue\s+success\s+-\s+main\s+system:serviceaccount:prod:api/);
    const page = JSON.parse(await admin(['audit', '--json', '--limit', '2']));
    expect(page.entries).toHaveLength(2);
    expect(page.next_cursor).toMatch(/^\d+$/);
  });

  it('sweep and rotate-root run on demand, and minting still works after rotation', async () => {
    expect(await admin(['sweep'])).toMatch(/^revoked\s+\d+/m);
    const rotated = JSON.parse(await admin(['rotate-root', 'main', '--json']));
    expect(rotated).toMatchObject({ database: 'main', outcome: 'rotated' });
    const after = await mint('prod', 'api');
    expect(await loginAs(b.pg, b.targetDb, after.user, after.password)).toBe(after.user);
  });

  it('refuses without an admin token and says how to give one; db rm with live leases names --force', async () => {
    const res = await runCli(['db', 'list'], { env: { PGMINT_URL: b.url } });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/^pgmint: unauthorized: no admin token given\n {2}what to try: set PGMINT_ADMIN_TOKEN/);

    await mint('prod', 'api');
    const busy = await runCli(['db', 'rm', 'main'], { env: env() });
    expect(busy.status).toBe(1);
    expect(busy.stderr).toMatch(/^pgmint: conflict: \d+ leases are live/);
    expect(busy.stderr).toMatch(/--force/);
  });
});
