/**
 * Scenario 4: the sweep over 1,000 / 10,000 / 50,000 expired leases. The
 * expired roles and their lease rows are made in bulk by a superuser (the
 * creator role the exchange would have used — or the broker, with
 * PGMINT_CREATOR_ROLES=0 — is granted ADMIN on each role exactly as CREATE
 * ROLE would have granted it), so only
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
import { ident } from '../lib/sql/quote.js';
import { creatorIndex, creatorName } from '../lib/sql/creator-names.js';
import { type BenchPostgres, DATABASE_ID, startStack } from './stack.js';

export interface SweepRow {
  /** Creator roles in use (0: the broker administers every lease role itself). */
  creatorRoles: number;
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
      const admins = (name: string) =>
        stack.creatorRoles > 0 ? creatorName(stack.brokerUser, creatorIndex(name, stack.creatorRoles)) : stack.brokerUser;
      await makeExpired(server, stack.targetDb, stack.controlDb, admins, stack.readonlyGroup, n);
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
      rows.push({
        creatorRoles: stack.creatorRoles,
        leases: n,
        revoked,
        ms,
        msPerRole: ms / Math.max(1, revoked),
        setupMs,
        finished,
        errors,
      });
      o.log(
        `sweep ${n} (${stack.creatorRoles} creator roles): revoked ${revoked} in ${(ms / 1000).toFixed(1)} s (${(ms / Math.max(1, revoked)).toFixed(2)} ms/role)${finished ? '' : ' — time budget ran out'}`,
      );
    } finally {
      await closeDeps(deps);
      await stack.stop();
    }
  }
  return { available: true, rows };
}

/** `n` login roles past VALID UNTIL, each administered by `adminOf(name)`, each with an active lease row that expired an hour ago. */
export async function makeExpired(
  server: BenchPostgres,
  targetDb: string,
  controlDb: string,
  adminOf: (name: string) => string,
  group: string,
  n: number,
): Promise<void> {
  const batch = `s${Math.random().toString(36).slice(2, 8)}`;
  const names = Array.from({ length: n }, (_, i) => `pgm_prod_sweep_${batch}${String(i + 1).padStart(8, '0')}`);
  // In chunks: one transaction holding tens of thousands of role locks runs out of lock table.
  for (let from = 0; from < n; from += 1000) {
    const chunk = names.slice(from, from + 1000);
    await server.su(targetDb, (c) =>
      c.query(
        chunk
          .map(
            (name) =>
              `CREATE ROLE ${ident(name)} LOGIN VALID UNTIL '2000-01-01T00:00:00Z' IN ROLE ${ident(group)};\n` +
              `GRANT ${ident(name)} TO ${ident(adminOf(name))} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`,
          )
          .join(';\n'),
      ),
    );
  }
  await server.su(controlDb, (c) =>
    c.query(
      `INSERT INTO pgmint.leases (id, database_id, role_name, username, reassign_to, state, subject, issuer, workload_key,
         pod_name, pod_uid, issued_at, expires_at, max_expires_at)
       SELECT gen_random_uuid(), $1, 'readonly', u, $2, 'active',
         'system:serviceaccount:prod:sweep', NULL, 'pod:' || u, u, NULL,
         now() - interval '2 hours', now() - interval '1 hour', now() - interval '1 hour'
       FROM unnest($3::text[]) AS u`,
      [DATABASE_ID, group, names],
    ),
  );
}
