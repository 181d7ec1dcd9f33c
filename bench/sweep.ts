/**
 * Scenario 4: the sweep over 1,000 / 10,000 / 50,000 expired leases. The
 * expired roles and their lease rows are made in bulk by a superuser (the
 * broker is granted ADMIN on each role, as if it had created them), so only
 * the sweep is timed: `sweep(deps)` from lib/leases/sweep.ts, called in this
 * process with the broker's own settings, repeatedly until nothing is due.
 * Each size has a time budget; a size that does not finish in it reports how
 * far it got and the rate it reached.
 *
 * @example
 *   const r = await sweepScenario(pg, { sizes: [1000, 10000], env: {}, log: console.log });
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeDeps } from '../lib/deps.js';
import { nodeDeps } from '../functions/runtime/node.js';
import { type BenchPostgres, DATABASE_ID, startStack } from './stack.js';

export interface SweepRow {
  leases: number;
  revoked: number;
  ms: number;
  msPerRole: number;
  setupMs: number;
  finished: boolean;
  errors: number;
}

export type SweepResult = { available: false; reason: string } | { available: true; rows: SweepRow[] };

const SWEEP_MODULE = join(dirname(fileURLToPath(import.meta.url)), '../lib/leases/sweep.ts');

export async function sweepScenario(
  server: BenchPostgres,
  o: { sizes: number[]; env: Record<string, string>; budgetMs?: (n: number) => number; log: (l: string) => void },
): Promise<SweepResult> {
  if (!existsSync(SWEEP_MODULE)) return { available: false, reason: 'lib/leases/sweep.ts does not exist' };
  const { sweep } = (await import('../lib/leases/sweep.js')) as typeof import('../lib/leases/sweep.js');
  const rows: SweepRow[] = [];
  for (const n of o.sizes) {
    // A fresh broker role per size: what Postgres charges per DROP ROLE grows with how many roles the broker administers.
    const stack = await startStack(server, { env: o.env });
    const deps = await nodeDeps(stack.env);
    try {
      const setupStart = performance.now();
      await makeExpired(server, stack.targetDb, stack.controlDb, stack.brokerUser, stack.readonlyGroup, n);
      const setupMs = performance.now() - setupStart;
      const budget = o.budgetMs?.(n) ?? 240_000;
      const start = performance.now();
      let revoked = 0;
      let errors = 0;
      let finished = false;
      while (performance.now() - start < budget) {
        const r = await sweep(deps, { maxMs: Math.max(1000, budget - (performance.now() - start)) });
        revoked += r.revoked;
        errors += r.failed + r.errors.length;
        if (r.remaining === 0 || r.revoked === 0) {
          finished = r.remaining === 0;
          break;
        }
      }
      const ms = performance.now() - start;
      rows.push({ leases: n, revoked, ms, msPerRole: ms / Math.max(1, revoked), setupMs, finished, errors });
      o.log(`sweep ${n}: revoked ${revoked} in ${(ms / 1000).toFixed(1)} s (${(ms / Math.max(1, revoked)).toFixed(2)} ms/role)${finished ? '' : ' — time budget ran out'}`);
    } finally {
      await closeDeps(deps);
      await stack.stop();
    }
  }
  return { available: true, rows };
}

/** `n` login roles past VALID UNTIL that the broker administers, each with an active lease row that expired an hour ago. */
async function makeExpired(server: BenchPostgres, targetDb: string, controlDb: string, broker: string, group: string, n: number): Promise<void> {
  const batch = `s${Math.random().toString(36).slice(2, 8)}`;
  // In chunks: one transaction holding tens of thousands of role locks runs out of lock table.
  for (let from = 1; from <= n; from += 2000) {
    const to = Math.min(n, from + 1999);
    await server.su(targetDb, (c) =>
      c.query(`DO $$ DECLARE name text; BEGIN
      FOR i IN ${from}..${to} LOOP
        name := 'pgm_prod_sweep_${batch}' || lpad(i::text, 8, '0');
        EXECUTE format('CREATE ROLE %I LOGIN VALID UNTIL %L IN ROLE %I', name, now() - interval '1 hour', '${group}');
        EXECUTE format('GRANT %I TO %I WITH ADMIN OPTION', name, '${broker}');
      END LOOP;
    END $$`),
    );
  }
  await server.su(controlDb, (c) =>
    c.query(
      `INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer, workload_key,
         pod_name, pod_uid, issued_at, expires_at, max_expires_at)
       SELECT gen_random_uuid(), $1, 'readonly', 'pgm_prod_sweep_${batch}' || lpad(i::text, 8, '0'), $2, 'active',
         'system:serviceaccount:prod:sweep', NULL, 'pod:sweep-' || i, 'sweep-' || i, NULL,
         now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour'
       FROM generate_series(1, $3::int) AS i`,
      [DATABASE_ID, group, n],
    ),
  );
}
