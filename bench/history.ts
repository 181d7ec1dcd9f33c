/**
 * Scenario `history`: does a request cost the same after years of use? Two
 * stacks on one Postgres — one control plane empty, one loaded with
 * `leases` finished lease rows and `audit` audit rows made in bulk with
 * generate_series (not through the API): a month of finished leases and
 * thirteen months of audit, as 10,000 pods refreshing hourly leave them —
 * and the same operations on both, in alternating slices, one client at a
 * time: exchange, renew, revoke (each over HTTP, on leases the slice just
 * made), the lease listing, the audit log by subject and by a day's window,
 * and sweeps with expired leases planted. The goal is each loaded p50
 * within 1.2× of the empty one.
 *
 * @example
 *   const r = await historyScenario(pg, { leases: 1_000_000, audit: 10_000_000, slices: 4, perSlice: 100, env: {}, log });
 */
import http from 'node:http';
import { closeDeps } from '../lib/deps.js';
import type { Deps } from '../lib/deps.js';
import { nodeDeps } from '../functions/runtime/node.js';
import { sweep } from '../lib/leases/sweep.js';
import { creatorIndex, creatorName } from '../lib/sql/creator-names.js';
import { extractCode } from './exchange.js';
import { type LoadResult, mergeLoads, type RawLoad } from './load.js';
import { type BenchPostgres, DATABASE_ID, type Stack, startStack } from './stack.js';
import { makeExpired } from './sweep.js';
import { mintTokens, reuse } from './tokens.js';

export const HISTORY_OPERATIONS = ['exchange', 'renew', 'revoke', 'lease listing', 'audit by subject', 'audit by time', 'sweep'] as const;
type Operation = (typeof HISTORY_OPERATIONS)[number];

export interface HistoryRow {
  operation: Operation;
  empty: LoadResult;
  loaded: LoadResult;
  /** loaded p50 / empty p50 (goal ≤ 1.2). */
  p50Ratio: number;
}

export interface HistoryResult {
  leaseRows: number;
  auditRows: number;
  loadSec: number;
  /** Size of the loaded control-plane database. */
  loadedBytes: number;
  sweepExpired: number;
  rows: HistoryRow[];
}

export interface HistoryOptions {
  leases: number;
  audit: number;
  slices: number;
  /** Exchanges (then renewals and revocations of them) per slice; reads per slice. */
  perSlice: number;
  /** Expired leases planted before each timed sweep. */
  sweepExpired: number;
  env: Record<string, string>;
  log: (line: string) => void;
}

interface Side {
  stack: Stack;
  deps: Deps;
  parts: Record<Operation, RawLoad[]>;
}

export async function historyScenario(pg: BenchPostgres, o: HistoryOptions): Promise<HistoryResult> {
  const empty = await startSide(pg, o.env);
  const loaded = await startSide(pg, o.env);
  try {
    o.log(`history: loading ${o.leases} lease rows and ${o.audit} audit rows`);
    const started = performance.now();
    await loadHistory(pg, loaded.stack.controlDb, o);
    const loadSec = (performance.now() - started) / 1000;
    const loadedBytes = await pg.su(loaded.stack.controlDb, async (c) =>
      Number((await c.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b),
    );
    o.log(`history: loaded in ${loadSec.toFixed(0)} s (${(loadedBytes / 2 ** 30).toFixed(1)} GiB)`);
    const nextToken = new Map<Side, () => string>();
    for (const side of [empty, loaded]) {
      nextToken.set(side, reuse(await mintTokens(side.stack.issuer, (o.slices + 1) * (o.perSlice + 40)), 1));
    }
    for (let s = 0; s <= o.slices; s++) {
      // Slice 0 warms both brokers and is not counted.
      const warm = s === 0;
      for (const side of s % 2 === 0 ? [empty, loaded] : [loaded, empty]) {
        await runSlice(side, {
          count: warm ? 40 : o.perSlice,
          token: nextToken.get(side)!,
          sweepExpired: warm ? 10 : o.sweepExpired,
          sweeps: warm ? 1 : 3,
          pg,
          record: !warm,
        });
      }
      if (!warm) o.log(`history: slice ${s}/${o.slices} done`);
    }
    const rows = HISTORY_OPERATIONS.map((operation) => {
      const e = mergeLoads(empty.parts[operation]);
      const l = mergeLoads(loaded.parts[operation]);
      o.log(
        `${operation.padEnd(16)} empty p50 ${e.p50Ms.toFixed(2)} ms, loaded p50 ${l.p50Ms.toFixed(2)} ms, ratio ${(l.p50Ms / e.p50Ms).toFixed(2)}, errors ${e.errors + l.errors}`,
      );
      return { operation, empty: e, loaded: l, p50Ratio: l.p50Ms / e.p50Ms };
    });
    return { leaseRows: o.leases, auditRows: o.audit, loadSec, loadedBytes, sweepExpired: o.sweepExpired, rows };
  } finally {
    for (const side of [empty, loaded]) {
      await closeDeps(side.deps).catch(() => {});
      await side.stack.stop();
    }
  }
}

async function startSide(pg: BenchPostgres, env: Record<string, string>): Promise<Side> {
  const stack = await startStack(pg, { env });
  const deps = await nodeDeps(stack.env);
  const parts = Object.fromEntries(HISTORY_OPERATIONS.map((op) => [op, [] as RawLoad[]])) as Record<Operation, RawLoad[]>;
  return { stack, deps, parts };
}

interface SliceOptions {
  count: number;
  token: () => string;
  sweepExpired: number;
  sweeps: number;
  pg: BenchPostgres;
  record: boolean;
}

async function runSlice(side: Side, o: SliceOptions): Promise<void> {
  const { stack } = side;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const base = stack.broker.url;
  const admin = `Bearer ${stack.adminToken}`;
  try {
    const held: Array<{ id: string; token: string }> = [];
    const timed = async (op: Operation, n: number, run: (i: number) => Promise<void>) => {
      const latencies: number[] = [];
      const errorSamples: Record<string, number> = {};
      let errors = 0;
      const start = performance.now();
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        try {
          await run(i);
          latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          const key = err instanceof Error ? err.message.slice(0, 120) : String(err);
          errorSamples[key] = (errorSamples[key] ?? 0) + 1;
        }
      }
      if (o.record) side.parts[op].push({ concurrency: 1, latencies, errors, wallMs: performance.now() - start, errorSamples });
    };
    await timed('exchange', o.count, async () => {
      const token = o.token();
      const res = await request(agent, 'GET', `${base}/api/v1/databases/${DATABASE_ID}/credentials/k8s`, `Bearer ${token}`);
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${extractCode(res.body)}`);
      held.push({ id: (JSON.parse(res.body) as { lease_id: string }).lease_id, token });
    });
    await timed('renew', held.length, async (i) => {
      const res = await request(agent, 'POST', `${base}/api/v1/leases/${held[i]!.id}/renew`, `Bearer ${held[i]!.token}`);
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${extractCode(res.body)}`);
    });
    await timed('revoke', held.length, async (i) => {
      const res = await request(agent, 'DELETE', `${base}/api/v1/leases/${held[i]!.id}`, `Bearer ${held[i]!.token}`);
      if (res.status !== 200) throw new Error(`HTTP ${res.status} ${extractCode(res.body)}`);
    });
    const read = (op: Operation, path: string) =>
      timed(op, o.count, async () => {
        const res = await request(agent, 'GET', `${base}${path}`, admin);
        if (res.status !== 200) throw new Error(`HTTP ${res.status} ${extractCode(res.body)}`);
      });
    await read('lease listing', `/api/v1/databases/${DATABASE_ID}/leases?limit=100`);
    // The bench's own subject: a page of 100 on both sides (the loaded side also has months of its history).
    await read('audit by subject', `/api/v1/audit?subject=${encodeURIComponent('system:serviceaccount:prod:api')}&limit=100`);
    await read('audit by time', `/api/v1/audit?since=${encodeURIComponent(new Date(Date.now() - 86_400_000).toISOString())}&limit=100`);
    // Sweeps over freshly expired leases; the same count on both sides.
    const admins = (name: string) =>
      stack.creatorRoles > 0 ? creatorName(stack.brokerUser, creatorIndex(name, stack.creatorRoles)) : stack.brokerUser;
    for (let i = 0; i < o.sweeps; i++) {
      await makeExpired(o.pg, stack.targetDb, stack.controlDb, admins, stack.readonlyGroup, o.sweepExpired);
      await timed('sweep', 1, async () => {
        const r = await sweep(side.deps, { maxMs: 60_000 });
        if (r.revoked !== o.sweepExpired || r.errors.length > 0)
          throw new Error(`sweep revoked ${r.revoked}, errors ${JSON.stringify(r.errors)}`);
      });
    }
  } finally {
    agent.destroy();
  }
}

function request(agent: http.Agent, method: string, url: string, authorization: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent, headers: { authorization } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * History as 10,000 pods refreshing hourly leave it: `leases` finished lease
 * rows over the last 29 days (inside the 30-day retention, so the sweep has
 * none to delete), 1 % of them still live, and `audit` entries over the last
 * 390 days (inside the 400-day retention) from 10,000 service accounts, the
 * bench's own `prod/api` among them.
 */
export async function loadHistory(
  pg: BenchPostgres,
  controlDb: string,
  o: { leases: number; audit: number; log: (l: string) => void },
): Promise<void> {
  const chunk = 500_000;
  await pg.su(controlDb, async (c) => {
    await c.query('SET synchronous_commit = off');
    await c.query(`SELECT pgmint.ensure_audit_partitions(now() - interval '391 days', now() + interval '3 months')`);
    for (let from = 1; from <= o.leases; from += chunk) {
      const to = Math.min(o.leases, from + chunk - 1);
      await c.query(
        `INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer, workload_key,
           pod_name, pod_uid, issued_at, expires_at, max_expires_at, revoked_at)
         SELECT gen_random_uuid(), $1, 'readonly', 'pgm_hist_' || i, 'app_ro',
           CASE WHEN i % 100 = 0 THEN 'active' WHEN i % 1000 = 1 THEN 'failed' ELSE 'revoked' END,
           'system:serviceaccount:prod:sa' || (i % 10000), 'https://issuer.example', 'pod:hist-' || i, 'hist-' || i, NULL,
           t, CASE WHEN i % 100 = 0 THEN now() + interval '3 hours' ELSE t + interval '1 hour' END, t + interval '8 hours',
           CASE WHEN i % 100 = 0 OR i % 1000 = 1 THEN NULL ELSE t + interval '1 hour' END
         FROM generate_series($2::bigint, $3::bigint) AS i,
           LATERAL (SELECT now() - interval '29 days' + (i::float8 / $4) * interval '28 days' AS t) AS x`,
        [DATABASE_ID, from, to, o.leases],
      );
      o.log(`history: ${to} lease rows`);
    }
    const actions = `ARRAY['credentials.issue', 'credentials.issue', 'lease.renew', 'lease.revoke', 'lease.revoke', 'credentials.issue']`;
    for (let from = 1; from <= o.audit; from += chunk) {
      const to = Math.min(o.audit, from + chunk - 1);
      await c.query(
        `INSERT INTO pgmint.audit_log (at, request_id, action, outcome, code, database_id, subject, issuer, pod, lease_id, role_name, username, detail)
         SELECT now() - interval '390 days' + (i::float8 / $2) * interval '389 days', md5(i::text), (${actions})[1 + i % 6],
           CASE WHEN i % 97 = 0 THEN 'denied' ELSE 'success' END, CASE WHEN i % 97 = 0 THEN 'not_allowed' END,
           $1, 'system:serviceaccount:prod:sa' || (i % 10000), 'https://issuer.example', 'hist-' || i, gen_random_uuid(),
           'readonly', 'pgm_hist_' || i, '{"ttl": 3600}'
         FROM generate_series($3::bigint, $4::bigint) AS i`,
        [DATABASE_ID, o.audit, from, to],
      );
      o.log(`history: ${to} audit rows`);
    }
    await c.query('VACUUM ANALYZE pgmint.leases');
    await c.query('VACUUM ANALYZE pgmint.audit_log');
  });
}
