import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../support/broker.js';
import { withSuperuser } from '../support/postgres.js';
import { type Built, buildOnce, functionEnv, httpEvent, newSecretKey, sampleEvent } from './support.js';

const POOL_SIZE = 2;
const INVOCATIONS = 1000;
const EXCHANGE_EVERY = 10;

interface Sample {
  datname: string;
  pid: number;
}

// One warm api container (one Node process) serving 1,000 invocations: its
// pools live at module scope, so Postgres sees at most PGMINT_POOL_SIZE
// sessions per database from it, reused throughout, and none after shutdown.
describe('api bundle connection reuse across warm invocations', () => {
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

  /** Sessions this child opened (started after it did) on the broker's two databases. */
  const sessions = (since: Date) =>
    withSuperuser(b.pg, 'postgres', async (c) => {
      const { rows } = await c.query<Sample>(
        `SELECT datname, pid FROM pg_stat_activity
          WHERE datname = ANY($1) AND application_name IN ('pgmint', 'pgmint-control') AND backend_start >= $2`,
        [[b.controlDb, b.targetDb], since],
      );
      return rows;
    });

  it(`keeps at most ${POOL_SIZE} sessions per database over ${INVOCATIONS} invocations and closes them on SIGTERM`, async () => {
    const tokens = await Promise.all(
      Array.from({ length: INVOCATIONS / EXCHANGE_EVERY }, (_, i) =>
        b.issuer.mint({ namespace: 'batch', serviceAccount: 'warm', podName: `warm-${i}`, podUid: crypto.randomUUID() }),
      ),
    );
    const healthz = sampleEvent('api-healthz.json');
    const events = Array.from({ length: INVOCATIONS }, (_, i) =>
      i % EXCHANGE_EVERY === 0
        ? httpEvent('/api/v1/databases/main/credentials/k8s?ttl=5m', { token: tokens[i / EXCHANGE_EVERY] })
        : healthz,
    );

    const since = await withSuperuser(b.pg, 'postgres', async (c) => (await c.query<{ now: Date }>('SELECT now()')).rows[0]!.now);
    const child: ChildProcess = spawn(process.execPath, [join(import.meta.dirname, 'warm-runner.mjs'), built.bundle('api').file], {
      env: { PATH: process.env.PATH, ...functionEnv(b, secretKey, { PGMINT_POOL_SIZE: String(POOL_SIZE) }) },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    try {
      child.stdin!.write(`${JSON.stringify({ events })}\n`);
      const summaryLine = createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next();

      // Sample while the invocations run.
      const seen = new Map<string, Set<number>>();
      let peak = { control: 0, target: 0 };
      let done = false;
      void summaryLine.finally(() => {
        done = true;
      });
      while (!done) {
        const rows = await sessions(since);
        for (const r of rows) seen.set(r.datname, (seen.get(r.datname) ?? new Set()).add(r.pid));
        peak = {
          control: Math.max(peak.control, rows.filter((r) => r.datname === b.controlDb).length),
          target: Math.max(peak.target, rows.filter((r) => r.datname === b.targetDb).length),
        };
        await new Promise((r) => setTimeout(r, 100));
      }
      const summary = JSON.parse((await summaryLine).value as string);
      expect(summary.invocations).toBe(INVOCATIONS);
      expect(summary.statuses).toEqual({ 200: INVOCATIONS });

      const atRest = await sessions(since);
      const control = atRest.filter((r) => r.datname === b.controlDb);
      const target = atRest.filter((r) => r.datname === b.targetDb);
      // Still connected between invocations (reused), never more than the pool.
      expect(control.length).toBeGreaterThanOrEqual(1);
      expect(control.length).toBeLessThanOrEqual(POOL_SIZE);
      expect(target.length).toBeGreaterThanOrEqual(1);
      expect(target.length).toBeLessThanOrEqual(POOL_SIZE);
      expect(peak.control).toBeLessThanOrEqual(POOL_SIZE);
      expect(peak.target).toBeLessThanOrEqual(POOL_SIZE);
      for (const r of atRest) seen.set(r.datname, (seen.get(r.datname) ?? new Set()).add(r.pid));
      // The same backends served the whole run: no connection was opened per invocation.
      expect(seen.get(b.controlDb)?.size ?? 0).toBeLessThanOrEqual(POOL_SIZE);
      expect(seen.get(b.targetDb)?.size ?? 0).toBeLessThanOrEqual(POOL_SIZE);

      const leases = await b.deps.sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pgmint.leases WHERE state = 'active' AND subject = $1",
        ['system:serviceaccount:batch:warm'],
      );
      expect(leases.rows[0]!.n).toBe(INVOCATIONS / EXCHANGE_EVERY);

      child.stdin!.end('stop\n');
      const [code] = await exited;
      expect(code).toBe(0);
      // Ended pools disconnect; Postgres drops the sessions.
      let left = await sessions(since);
      for (let i = 0; i < 50 && left.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        left = await sessions(since);
      }
      expect(left).toEqual([]);
      console.log(
        `warm api: ${INVOCATIONS} invocations, peak sessions control=${peak.control} target=${peak.target}, first result at ${summary.firstResultMs.toFixed(0)} ms after process start`,
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
