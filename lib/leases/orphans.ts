/**
 * Orphan cleanup: login roles on a target that carry the database's lease
 * prefix, that no live (or irrevocable) lease tracks, and whose VALID UNTIL
 * has passed — what a crash between "role created" and "lease recorded", or
 * a hand-made copy, leaves behind — among the roles this broker created or
 * that joined this database's groups. Roles without VALID UNTIL are never
 * touched: pgmint always sets one. Roles of draining leases are tracked, so
 * never orphans; an untracked role with open sessions is left alone like a
 * draining one, until its VALID UNTIL is 24 hours (the longest max_session)
 * past.
 *
 * One sweeper at a time per database does this (a transaction-scoped
 * advisory lock on the control plane), so two overlapping runs never race
 * for the same role.
 *
 * @example
 *   const { dropped } = await sweepOrphans(deps, db, { deadline: Date.now() + 10_000 });
 */
import type { Deps } from '../deps.js';
import type { AuditEntry, DatabaseRecord } from '../store/types.js';
import { HARD_MAX_SESSION_SEC } from './ttl.js';

export interface OrphanOptions {
  deadline: number;
  batchSize?: number;
  requestId?: string;
}

export async function sweepOrphans(deps: Deps, db: DatabaseRecord, options: OrphanOptions): Promise<{ dropped: number; failed: number }> {
  const batchSize = options.batchSize ?? 500;
  return deps.store.transaction(async (s) => {
    if (!(await s.locks.tryOrphanSweep(db.id))) return { dropped: 0, failed: 0 };
    // Roles are cluster-wide: only roles this broker or one of its creator
    // roles created or that joined this database's groups are its orphans,
    // never another broker's or another database's (targets/catalog.ts).
    const groups = [...new Set((await s.roles.list(db.id)).flatMap((r) => r.memberOf))];
    let dropped = 0;
    let failed = 0;
    let after = '';
    while (Date.now() < options.deadline) {
      // Expired less than the longest max_session ago (`recent`): its sessions are not ended yet.
      const candidates = await deps.targets.orphanCandidates(db, {
        leasePrefix: db.leasePrefix,
        graceSec: deps.settings.sweepGraceSec,
        after,
        limit: batchSize,
        groups,
        recentSec: HARD_MAX_SESSION_SEC,
      });
      if (candidates.length === 0) break;
      after = candidates.at(-1)!.name;
      const tracked = await s.leases.tracked(candidates.map((c) => c.name));
      const orphans = candidates.filter((c) => !tracked.has(c.name));
      const outcomes = await deps.targets.dropRoles(
        db,
        orphans.map((o) => ({ name: o.name, reassignTo: o.group, statements: null, ifIdle: o.recent })),
      );
      const entries: AuditEntry[] = [];
      for (const o of orphans) {
        const result = outcomes.get(o.name);
        if (result?.outcome === 'revoked') dropped++;
        if (result?.outcome === 'failed') failed++;
        if (!result || result.outcome === 'absent' || result.outcome === 'draining') continue;
        entries.push({
          action: 'orphan.drop',
          outcome: result.outcome === 'failed' ? 'error' : 'success',
          code: result.outcome === 'failed' ? 'target_unavailable' : null,
          requestId: options.requestId ?? null,
          databaseId: db.id,
          username: o.name,
          detail:
            result.outcome === 'failed'
              ? { error: result.error.message, sqlstate: result.error.sqlstate ?? null }
              : { reassigned_to: o.group },
        });
      }
      await s.audit.appendMany(entries);
      if (candidates.length < batchSize) break;
    }
    return { dropped, failed };
  });
}
