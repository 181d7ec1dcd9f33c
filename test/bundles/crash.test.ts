import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestBroker, type TestBroker } from '../support/broker.js';
import { serverUrl, withSuperuser } from '../support/postgres.js';
import { type Built, buildOnce, functionEnv, httpEvent, newSecretKey } from './support.js';

// The api bundle in a process of its own is killed (SIGKILL, as a Lambda
// container that times out or runs out of memory) after it created a login
// role and before it recorded the lease: the control plane holds the
// workload's cap lock meanwhile, so the moment is certain. The role is then
// one no lease tracks, with a password that never left the dead process, and
// the orphan sweep drops it once its VALID UNTIL has passed.
describe('a broker killed between creating a role and recording its lease', () => {
  let built: Built;
  let b: TestBroker;
  const secretKey = newSecretKey();

  beforeAll(async () => {
    [built, b] = await Promise.all([buildOnce(['api']), startTestBroker({ env: { PGMINT_SECRET_KEY: secretKey } })]);
    await b.setupDefault();
  });
  afterAll(async () => {
    await b?.close();
    await built?.remove();
  });

  const crashRoles = () =>
    withSuperuser(b.pg, b.targetDb, async (c) =>
      (await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgm\\_batch\\_crash\\_%'")).rows.map(
        (r) => r.rolname,
      ),
    );

  it('leaves a role no lease tracks, which the orphan sweep drops after its VALID UNTIL', async () => {
    const podUid = crypto.randomUUID();
    const token = await b.issuer.mint({ namespace: 'batch', serviceAccount: 'crash', podName: 'crash-0', podUid });
    // The lease's record waits on this lock (migrations 0006, 0009), after the role is made.
    const holder = new pg.Client({ connectionString: serverUrl(b.pg, b.controlDb) });
    await holder.connect();
    let child: ChildProcess | undefined;
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`pgmint:lease-cap:main:${b.issuer.url}:pod:${podUid}`]);
      child = spawn(process.execPath, [join(import.meta.dirname, 'warm-runner.mjs'), built.bundle('api').file], {
        env: { PATH: process.env.PATH, ...functionEnv(b, secretKey) },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const exited = once(child, 'exit');
      child.stdin!.write(`${JSON.stringify({ events: [httpEvent('/api/v1/databases/main/credentials/k8s', { token })] })}\n`);
      const deadline = Date.now() + 30_000;
      while ((await crashRoles()).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGKILL');
      await exited;
      // Its statement waiting on the lock would still commit once the lock is free (Postgres notices a
      // client gone only when it answers): ended here, as if the process had died before sending it.
      await holder.query(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
      );
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await holder.query('ROLLBACK');
      await holder.end();
    }

    const [role] = await crashRoles();
    expect(role).toBeDefined();
    const tracked = await b.deps.sql.query('SELECT id FROM pgmint.leases WHERE username = $1', [role]);
    expect(tracked.rowCount).toBe(0);

    const sweep = () => b.app.request('/api/v1/sweep', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    // Before its VALID UNTIL the role is left alone: nothing says its lease will not be recorded yet.
    expect((await sweep()).status).toBe(200);
    expect(await crashRoles()).toEqual([role]);
    // As time would: VALID UNTIL past, beyond the sweep's grace.
    await withSuperuser(b.pg, b.targetDb, (c) => c.query(`ALTER ROLE "${role}" VALID UNTIL '2000-01-01'`));
    expect((await sweep()).status).toBe(200);
    expect(await crashRoles()).toEqual([]);
    const audit = await b.deps.sql.query<{ action: string; outcome: string }>(
      'SELECT action, outcome FROM pgmint.audit_log WHERE username = $1',
      [role],
    );
    expect(audit.rows).toEqual([{ action: 'orphan.drop', outcome: 'success' }]);
  });
});
