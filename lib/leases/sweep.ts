/**
 * The sweep: ends leases past expiry plus a grace period (and those asked
 * to end), then drops orphan roles, for every registered database. An
 * expired lease whose role still has sessions is not revoked but `draining`
 * (see revoke.ts): every run looks at it again, drops the role once its last
 * session is gone, and ends the sessions at the role's max_session. Batches
 * are claimed with FOR UPDATE SKIP LOCKED, so overlapping runs share the work
 * without touching the same lease, and paged by (expires_at, id), so one run
 * visits each draining lease once; each run stops claiming at its deadline,
 * and whatever is left is the next run's. The scheduled function and
 * `POST /api/v1/sweep` both call this.
 *
 * @example
 *   const { revoked, orphansDropped, remaining } = await sweep(deps, { maxMs: 50_000 });
 */
import type { Deps } from '../deps.js';
import { isPgmintError } from '../errors.js';
import { sweepOrphans } from './orphans.js';
import { type RetentionResult, retainHistory } from './retention.js';
import { addTally, dueNow, emptyTally, revocationRules, revokeClaimed } from './revoke.js';

export interface SweepOptions {
  /** Stop claiming new batches after this long (default 50 s). */
  maxMs?: number;
  /** Leases per claimed batch and target round trip (default 200). */
  batchSize?: number;
  requestId?: string;
}

export interface SweepResult {
  revoked: number;
  orphansDropped: number;
  failed: number;
  /** Failures that used up their attempts in this run and are now irrevocable. */
  irrevocable: number;
  /** Expired leases left draining: their roles still have sessions. */
  draining: number;
  /** Leases due but not revoked when the run ended (a later run takes them). */
  remaining: number;
  /** Databases the run could not work on, with the error code (`control-plane` for the retention step). */
  errors: Array<{ database: string; code: string }>;
  /** Finished leases deleted and audit partitions made or retired (lib/leases/retention.ts). */
  retention: RetentionResult;
  durationMs: number;
}

export async function sweep(deps: Deps, options: SweepOptions = {}): Promise<SweepResult> {
  const started = Date.now();
  const deadline = started + (options.maxMs ?? 50_000);
  const batchSize = options.batchSize ?? 200;
  const why = { reason: 'sweep' as const, by: 'sweeper', requestId: options.requestId };
  const tally = emptyTally();
  const result: SweepResult = {
    revoked: 0,
    orphansDropped: 0,
    failed: 0,
    irrevocable: 0,
    draining: 0,
    remaining: 0,
    errors: [],
    retention: { leasesDeleted: 0, auditPartitionsCreated: 0, auditPartitionsRetired: [] },
    durationMs: 0,
  };
  const dbs = await deps.store.databases.list();

  for (const db of dbs) {
    if (Date.now() >= deadline) break;
    try {
      const rules = revocationRules(await deps.store.roles.list(db.id));
      let after: string | null = null;
      while (Date.now() < deadline) {
        const claimed: string[] = await deps.store.transaction(async (s) => {
          const batch = await s.leases.claimDue({ ...dueNow(deps, db.id), limit: batchSize, after });
          addTally(tally, (await revokeClaimed(deps, s, db, batch, why, rules)).tally);
          return batch.map((l) => l.id);
        });
        if (claimed.length < batchSize) break;
        after = claimed.at(-1)!;
      }
      if (Date.now() < deadline) {
        const orphans = await sweepOrphans(deps, db, { deadline, requestId: options.requestId });
        result.orphansDropped += orphans.dropped;
        result.failed += orphans.failed;
      }
    } catch (err) {
      result.errors.push({ database: db.id, code: isPgmintError(err) ? err.code : 'target_unavailable' });
    }
  }
  try {
    result.retention = await retainHistory(deps, { deadline, requestId: options.requestId });
  } catch (err) {
    result.errors.push({ database: 'control-plane', code: isPgmintError(err) ? err.code : 'internal' });
  }
  for (const db of dbs) result.remaining += await deps.store.leases.countDue(dueNow(deps, db.id));
  result.revoked = tally.revoked;
  result.failed += tally.failed;
  result.irrevocable = tally.irrevocable;
  result.draining = tally.draining;
  result.durationMs = Date.now() - started;
  return result;
}
