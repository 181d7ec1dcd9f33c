/**
 * Scenario 5: the sweep when some expired leases still have sessions. Of `n`
 * expired leases, `sessions` hold an open connection (logged in before
 * expiry, as a pooled application connection would be). Timed: the first
 * sweep (drops the idle roles, marks the others draining), a repeat sweep
 * (every draining lease visited again: one session check per batch, nothing
 * dropped), and the sweep after the connections closed (drops them).
 *
 * @example
 *   const r = await drainScenario(pg, { leases: 10000, sessions: 200, env: {}, log: console.log });
 */
import pg from 'pg';
import { closeDeps } from '../lib/deps.js';
import { nodeDeps } from '../functions/runtime/node.js';
import { ident, literal } from '../lib/sql/quote.js';
import { creatorIndex, creatorName } from '../lib/sql/creator-names.js';
import { type BenchPostgres, startStack } from './stack.js';
import { makeExpired } from './sweep.js';

export interface DrainResult {
  leases: number;
  sessions: number;
  first: { ms: number; revoked: number; draining: number };
  repeat: { ms: number; revoked: number; draining: number };
  afterClose: { ms: number; revoked: number; draining: number };
}

export async function drainScenario(
  server: BenchPostgres,
  o: { leases: number; sessions: number; env: Record<string, string>; log: (l: string) => void },
): Promise<DrainResult> {
  const { sweep } = await import('../lib/leases/sweep.js');
  const stack = await startStack(server, { env: o.env });
  const deps = await nodeDeps(stack.env);
  const clients: pg.Client[] = [];
  try {
    const admins = (name: string) =>
      stack.creatorRoles > 0 ? creatorName(stack.brokerUser, creatorIndex(name, stack.creatorRoles)) : stack.brokerUser;
    await makeExpired(server, stack.targetDb, stack.controlDb, admins, stack.readonlyGroup, o.leases);
    // Spread over the leases, so sessions sit in many batches.
    const { rows } = await server.su(stack.controlDb, (c) =>
      c.query<{ username: string }>(`SELECT username FROM pgmint.leases ORDER BY random() LIMIT $1`, [o.sessions]),
    );
    const password = 'bench-drain-password';
    const names = rows.map((r) => r.username);
    await server.su(stack.targetDb, (c) =>
      c.query(names.map((n) => `ALTER ROLE ${ident(n)} PASSWORD ${literal(password)} VALID UNTIL 'infinity'`).join(';\n')),
    );
    for (const user of names) {
      const client = new pg.Client({ host: server.host, port: server.port, database: stack.targetDb, user, password });
      client.on('error', () => {});
      await client.connect();
      clients.push(client);
    }
    await server.su(stack.targetDb, (c) =>
      c.query(names.map((n) => `ALTER ROLE ${ident(n)} VALID UNTIL '2000-01-01T00:00:00Z'`).join(';\n')),
    );

    const timed = async () => {
      const start = performance.now();
      const r = await sweep(deps, { maxMs: 300_000 });
      return { ms: performance.now() - start, revoked: r.revoked, draining: r.draining };
    };
    const first = await timed();
    const repeat = await timed();
    for (const c of clients.splice(0)) await c.end().catch(() => {});
    for (let gone = false; !gone;) {
      const { rows: left } = await server.su('postgres', (c) =>
        c.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = ANY($1)`, [names]),
      );
      gone = left[0].n === 0;
      if (!gone) await new Promise((r) => setTimeout(r, 50));
    }
    const afterClose = await timed();
    const result = { leases: o.leases, sessions: o.sessions, first, repeat, afterClose };
    const fmt = (s: { ms: number; revoked: number; draining: number }) =>
      `${(s.ms / 1000).toFixed(2)} s (revoked ${s.revoked}, draining ${s.draining})`;
    o.log(
      `drain ${o.leases} expired, ${o.sessions} with a session: first ${fmt(first)}; repeat ${fmt(repeat)}; after close ${fmt(afterClose)}`,
    );
    return result;
  } finally {
    for (const c of clients) await c.end().catch(() => {});
    await closeDeps(deps);
    await stack.stop();
  }
}
