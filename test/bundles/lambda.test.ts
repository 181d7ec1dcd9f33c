import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../infra/build.js';
import { invokeBundle } from '../../cli/commands/invoke.js';
import { expireLeaseIn, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, withSuperuser } from '../support/postgres.js';
import {
  type Built,
  buildOnce,
  expectWorkingCredential,
  functionEnv,
  hasFunction,
  httpEvent,
  type LambdaHttpResult,
  newSecretKey,
  sampleEvent,
} from './support.js';

const run = promisify(execFile);

// Each built Lambda bundle runs in a fresh Node process (no node_modules
// beside it, as on Lambda) against a real Postgres.
describe('Lambda bundles in a fresh Node process', () => {
  let built: Built;
  let b: TestBroker;
  const secretKey = newSecretKey();
  let env: Record<string, string>;

  beforeAll(async () => {
    [built, b] = await Promise.all([
      buildOnce(['api', 'sweep', 'rotate-root']),
      startTestBroker({ env: { PGMINT_SECRET_KEY: secretKey } }),
    ]);
    await b.setupDefault();
    env = functionEnv(b, secretKey);
  });
  afterAll(async () => {
    await b?.close();
    await built?.remove();
  });

  const invoke = (name: string, event: unknown, extraEnv: Record<string, string> = {}) =>
    invokeBundle({ bundle: built.bundle(name).file, functionName: name, event, env: { ...env, ...extraEnv } });

  it('api answers an API Gateway v2 exchange whose credentials log in with pg', async () => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-lambda', podUid: crypto.randomUUID() });
    const out = await invoke('api', httpEvent('/api/v1/databases/main/credentials/k8s?ttl=15m', { token }));
    expect(out.error).toBeUndefined();
    const res = out.result as LambdaHttpResult;
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const creds = JSON.parse(res.body);
    expect(creds.user).toMatch(/^pgm_prod_api_/);
    await expectWorkingCredential(b, creds);
    // The SIGTERM after the answer closed the pools and the process ended on its own terms.
    expect(out.exitCode).toBe(0);
    console.log(
      `api cold start to first exchange answered: ${out.firstResultMs.toFixed(0)} ms (module loaded at ${out.initMs.toFixed(0)} ms)`,
    );
  });

  it('api answers problem+json with a code for a request without a token', async () => {
    const out = await invoke('api', httpEvent('/api/v1/databases/main/credentials/k8s'));
    const res = out.result as LambdaHttpResult;
    expect(res.statusCode).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(['unauthorized', 'invalid_token']).toContain(JSON.parse(res.body).code);
  });

  it('a missing setting is a Lambda error naming the setting, not a crash', async () => {
    const out = await invokeBundle({
      bundle: built.bundle('api').file,
      functionName: 'api',
      event: sampleEvent('api-healthz.json'),
      env: { PGMINT_DATABASE_URL: env.PGMINT_DATABASE_URL },
    });
    expect(out.error?.errorType).toBe('ConfigError');
    expect(out.error?.errorMessage).toContain('PGMINT_SECRET_KEY');
  });

  it('`pgmint invoke api` prints the handler result for the sample event', async () => {
    const { stdout, stderr } = await run(process.execPath, [join(ROOT, 'cli/bin.mjs'), 'invoke', 'api', '--dist', built.outdir], {
      env: { PATH: process.env.PATH, ...env },
    });
    const result = JSON.parse(stdout) as LambdaHttpResult;
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ status: 'ok' });
    expect(stderr).toMatch(/^REPORT function=api init=\d+ms duration=\d+ms first_result=\d+ms$/m);
    console.log(`pgmint invoke api (healthz): ${stderr.trim().split('\n').pop()}`);
  });

  it('`pgmint invoke` takes an event file and exits non-zero when the handler fails', async () => {
    const file = join(built.outdir, 'no-token.json');
    await writeFile(file, JSON.stringify(httpEvent('/api/v1/databases/main/credentials/k8s')));
    const ok = await run(process.execPath, [join(ROOT, 'cli/bin.mjs'), 'invoke', 'api', '--event', file, '--dist', built.outdir], {
      env: { PATH: process.env.PATH, ...env },
    });
    expect((JSON.parse(ok.stdout) as LambdaHttpResult).statusCode).toBe(401);
    const failed = await run(process.execPath, [join(ROOT, 'cli/bin.mjs'), 'invoke', 'api', '--dist', built.outdir], {
      env: { PATH: process.env.PATH, PGMINT_SECRET_KEY: secretKey },
    }).then(
      () => ({ code: 0, stdout: '' }),
      (err: { code: number; stdout: string }) => err,
    );
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout).errorType).toBe('ConfigError');
  });

  const roleExists = (name: string) =>
    withSuperuser(b.pg, 'postgres', async (c) => (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1);

  it.skipIf(!hasFunction('sweep'))('sweep, on an EventBridge event, removes an expired role', async () => {
    const token = await b.issuer.mint({ namespace: 'batch', serviceAccount: 'job', podName: 'job-lambda', podUid: crypto.randomUUID() });
    const res = await b.app.request('/api/v1/databases/main/credentials/k8s?ttl=30', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const creds = await res.json();
    expect(await roleExists(creds.user)).toBe(true);
    const expiry = await expireLeaseIn(b, creds, 1);
    await new Promise((r) => setTimeout(r, Math.max(0, expiry.getTime() - Date.now()) + 1100));
    const out = await invoke('sweep', sampleEvent('sweep.json'), { PGMINT_SWEEP_GRACE: '0' });
    expect(out.error).toBeUndefined();
    expect(await roleExists(creds.user)).toBe(false);
    expect((await b.deps.store.leases.get(creds.lease_id))?.state).toBe('revoked');
    await expect(loginAs(b.pg, b.targetDb, creds.user, creds.password)).rejects.toMatchObject({ code: '28P01' });
  });

  it.skipIf(!hasFunction('rotate-root'))(
    'rotate-root, on an EventBridge event, rotates a due root credential; the api bundle still exchanges',
    async () => {
      await b.deps.sql.query("UPDATE pgmint.databases SET root_rotated_at = now() - interval '8 days' WHERE id = 'main'");
      const before = (await b.deps.store.databases.get('main'))!.rootSecret.current;
      const out = await invoke('rotate-root', sampleEvent('rotate-root.json'));
      expect(out.error).toBeUndefined();
      expect(out.result).toMatchObject({ rotated: ['main'], failed: [] });
      expect((await b.deps.store.databases.get('main'))!.rootSecret.current).not.toBe(before);
      await expect(loginAs(b.pg, b.targetDb, b.brokerUser, b.brokerPassword)).rejects.toMatchObject({ code: '28P01' });

      const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podName: 'api-rotated', podUid: crypto.randomUUID() });
      const res = (await invoke('api', httpEvent('/api/v1/databases/main/credentials/k8s', { token }))).result as LambdaHttpResult;
      expect(res.statusCode, res.body).toBe(200);
      const creds = JSON.parse(res.body);
      expect(await loginAs(b.pg, b.targetDb, creds.user, creds.password)).toBe(creds.user);
    },
  );
});
