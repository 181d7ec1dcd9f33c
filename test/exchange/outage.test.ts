import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningPostgres, startEmbeddedPostgres } from '../../functions/local/embedded-postgres.js';
import { ADMIN_TOKEN, startTestBroker, type TestBroker } from '../support/broker.js';
import { loginAs, server, withSuperuser } from '../support/postgres.js';

// The whole Postgres cluster (control plane and target on one server of this
// file's own) is frozen with SIGSTOP, then restarted, under concurrent
// exchanges: every answer is a success or 503 with Retry-After within a bound,
// nothing is left half-created, and the broker serves again without a restart.

/** Far above the ~10 s the broker promises, far below the hang it replaces (none of the drivers' waits ended). */
const BOUND_MS = 25_000;

/** The postmaster and every process it started. */
function clusterPids(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) children.push(Number(entry));
    } catch {
      // The process ended while the list was read.
    }
  }
  return [postmaster, ...children];
}

/**
 * Stops the whole cluster: the postmaster first, so no backend is forked
 * after the list is read, then every child it has; returns what it stopped.
 */
function freezeCluster(dataDir: string): number[] {
  const [postmaster] = clusterPids(dataDir);
  process.kill(postmaster!, 'SIGSTOP');
  const stopped = new Set<number>([postmaster!]);
  for (const pid of clusterPids(dataDir)) {
    if (stopped.has(pid)) continue;
    try {
      process.kill(pid, 'SIGSTOP');
      stopped.add(pid);
    } catch {
      // The process ended while the list was read.
    }
  }
  return [...stopped];
}

describe.each([
  { away: 'the whole cluster (control plane and target)', layout: 'together' },
  { away: 'the target, while the control plane answers', layout: 'target-only' },
] as const)('Postgres away: $away', ({ layout }) => {
  let dataDir: string;
  let pg: RunningPostgres;
  let b: TestBroker;

  beforeAll(async () => {
    // Not mkdtemp: its 0700 directory would shut out the `postgres` user the server runs as under root.
    dataDir = join(tmpdir(), `pgmint-outage-${process.pid}-${Date.now()}`);
    pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'data'), version: 18 });
    b = await startTestBroker({
      pg: { host: pg.host, port: pg.port, user: pg.superuser, password: pg.password, version: pg.version },
      // The shared server is never stopped: only the target's server is this file's own.
      controlPg: layout === 'target-only' ? server('pg18') : undefined,
      env: { PGMINT_CONTEXT_CACHE_MS: '0' },
    });
    await b.setupDefault();
  });
  afterAll(async () => {
    await b?.close();
    await pg?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  interface Outcome {
    status: number;
    code: string | null;
    retryAfter: string | null;
    ms: number;
    creds?: { user: string; password: string; lease_id: string };
  }
  const exchange = async (): Promise<Outcome> => {
    const token = await b.issuer.mint({ namespace: 'prod', serviceAccount: 'api', podUid: crypto.randomUUID() });
    const started = performance.now();
    const res = await fetch(`${b.url}/api/v1/databases/main/credentials/k8s`, { headers: { authorization: `Bearer ${token}` } });
    const body = await res.json();
    const ms = performance.now() - started;
    return res.status === 200
      ? { status: 200, code: null, retryAfter: null, ms, creds: body }
      : { status: res.status, code: body.code, retryAfter: res.headers.get('retry-after'), ms };
  };

  const expectOnlySuccessOr503 = (outcomes: Outcome[]) => {
    for (const o of outcomes) {
      if (o.status === 200) continue;
      expect({ status: o.status, code: o.code, retryAfter: o.retryAfter }).toEqual({
        status: 503,
        code: expect.stringMatching(/^(control_plane|target)_unavailable$/),
        retryAfter: expect.stringMatching(/^[1-9][0-9]*$/),
      });
      expect(o.ms).toBeLessThan(BOUND_MS);
    }
  };

  /** Waits out Retry-After, then the very next exchange must succeed with a login that works. */
  const expectRecovered = async (retryAfterSec: number) => {
    await new Promise((r) => setTimeout(r, retryAfterSec * 1000));
    const next = await exchange();
    expect(next.status, JSON.stringify(next)).toBe(200);
    expect(await loginAs(pg, b.targetDb, next.creds!.user, next.creds!.password)).toBe(next.creds!.user);
  };

  const leaseRoles = () =>
    withSuperuser(b.pg, b.targetDb, async (c) =>
      (await c.query<{ rolname: string }>("SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgm\\_%'")).rows.map((r) => r.rolname),
    );

  /**
   * Every login handed out is tracked by an active lease. Every other lease role on the target is
   * tracked by a lease that is pending and due to be swept, or was created for a lease the outage
   * kept from being recorded: its password never left the broker, and the orphan sweep drops it once
   * its VALID UNTIL has passed (moved into the past here, as time would).
   */
  const expectNoUntrackedRole = async (outcomes: Outcome[]) => {
    const roles = await leaseRoles();
    const { rows } = await b.deps.sql.query<{ username: string; state: string }>(
      'SELECT username, state FROM pgmint.leases WHERE username = ANY($1)',
      [roles],
    );
    const tracked = new Map(rows.map((r) => [r.username, r.state]));
    for (const o of outcomes) if (o.creds) expect(tracked.get(o.creds.user), o.creds.user).toBe('active');
    for (const role of roles) if (tracked.has(role)) expect(['active', 'pending'], role).toContain(tracked.get(role));
    const unrecorded = roles.filter((role) => !tracked.has(role));
    if (unrecorded.length > 0) {
      await withSuperuser(b.pg, b.targetDb, async (c) => {
        for (const role of unrecorded) await c.query(`ALTER ROLE "${role}" VALID UNTIL '2000-01-01'`);
      });
    }
    // After a sweep, no role belongs to a lease asked to end or to none: those the outage left
    // uncertain are dropped. A role whose lease could not be activated stays pending, tracked, until it expires.
    const sweep = await b.app.request('/api/v1/sweep', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(sweep.status).toBe(200);
    const left = await leaseRoles();
    for (const role of unrecorded) expect(left, role).not.toContain(role);
    const { rows: owners } = await b.deps.sql.query<{ username: string }>(
      "SELECT username FROM pgmint.leases WHERE username = ANY($1) AND (state = 'active' OR (state = 'pending' AND revoke_requested_at IS NULL))",
      [left],
    );
    expect(new Set(owners.map((r) => r.username))).toEqual(new Set(left));
    console.info(JSON.stringify({ untracked: { layout, roles: unrecorded.length } }));
  };

  /** Refusals are audited, late if the control plane was away when they happened. */
  const expectAudited = async (refused: number, since: Date) => {
    const count = async () =>
      (
        await b.deps.sql.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pgmint.audit_log WHERE action = 'credentials.issue' AND outcome = 'error' AND code IN ('control_plane_unavailable', 'target_unavailable') AND coalesce((detail->>'deferred_from')::timestamptz, at) >= $1",
          [since.toISOString()],
        )
      ).rows[0]!.n;
    const deadline = Date.now() + 30_000;
    while ((await count()) < refused && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(await count()).toBe(refused);
  };

  it('answers 503 with Retry-After while the cluster is frozen (SIGSTOP), and serves again after SIGCONT', async () => {
    expect((await exchange()).status).toBe(200);
    const since = new Date();
    const concurrent = Array.from({ length: 6 }, () => exchange());
    await new Promise((r) => setTimeout(r, 50));
    // Backends the exchanges above opened count too: the list is read at the moment of freezing.
    const pids = freezeCluster(join(dataDir, 'data'));
    let outcomes: Outcome[];
    try {
      // Exchanges in flight when the cluster froze, and more arriving while it is frozen.
      const during = Array.from({ length: 6 }, () => exchange());
      outcomes = await Promise.all([...concurrent, ...during]);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    expectOnlySuccessOr503(outcomes);
    const refused = outcomes.filter((o) => o.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(6);
    if (layout === 'target-only') expect(refused.every((o) => o.code === 'target_unavailable')).toBe(true);
    console.info(
      JSON.stringify({ frozen: { layout, refused: refused.length, slowest_ms: Math.round(Math.max(...refused.map((o) => o.ms))) } }),
    );
    await expectRecovered(Number(refused[0]!.retryAfter));
    await expectAudited(refused.length, since);
    await expectNoUntrackedRole(outcomes);
  });

  it('answers 503 with Retry-After across a restart under load, and serves again without a broker restart', async () => {
    const since = new Date();
    const outcomes: Outcome[] = [];
    let running = true;
    const workers = Array.from({ length: 4 }, async () => {
      while (running) {
        outcomes.push(await exchange());
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    await pg.stop();
    const stoppedAt = outcomes.length;
    // Long enough for every worker to meet the stopped server.
    await new Promise((r) => setTimeout(r, 3000));
    pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'data'), version: 18, port: pg.port });
    running = false;
    await Promise.all(workers);
    expectOnlySuccessOr503(outcomes);
    const refused = outcomes.filter((o) => o.status === 503);
    expect(outcomes.length).toBeGreaterThan(stoppedAt);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    await expectRecovered(Number(refused[0]!.retryAfter));
    await expectAudited(refused.length, since);
    await expectNoUntrackedRole(outcomes);
  });
});
