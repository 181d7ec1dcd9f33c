/**
 * The scheduled run: rotate every target whose root credential is older
 * than its rotation period (7 days unless registered otherwise), and settle
 * any rotation an earlier run left unfinished. One target's failure does not
 * stop the others; a target another instance is rotating is skipped.
 *
 * @example
 *   const summary = await rotateDueDatabases(deps, { deadline: Date.now() + 60_000 });
 */
import type { Deps } from '../deps.js';
import { isPgmintError } from '../errors.js';
import { rotateRoot } from './rotate.js';

export interface ScheduledRotationSummary {
  rotated: string[];
  /** Settled an interrupted rotation and found the credential not yet due again. */
  settled: string[];
  skipped: string[];
  failed: Array<{ database: string; code: string }>;
}

export async function rotateDueDatabases(deps: Deps, options: { deadline?: number } = {}): Promise<ScheduledRotationSummary> {
  const summary: ScheduledRotationSummary = { rotated: [], settled: [], skipped: [], failed: [] };
  for (const db of await deps.store.databases.dueForRotation(deps.now())) {
    // Stop starting rotations near the deadline; the next run picks up the rest.
    if (options.deadline !== undefined && Date.now() >= options.deadline) {
      summary.skipped.push(db.id);
      continue;
    }
    try {
      const result = await rotateRoot(deps, db.id, { trigger: 'schedule' });
      (result.outcome === 'rotated' ? summary.rotated : summary.settled).push(db.id);
    } catch (err) {
      if (isPgmintError(err) && err.code === 'conflict') summary.skipped.push(db.id);
      else summary.failed.push({ database: db.id, code: isPgmintError(err) ? err.code : 'internal' });
    }
  }
  return summary;
}
