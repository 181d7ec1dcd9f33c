/**
 * History retention, run at the end of every sweep: finished leases older
 * than PGMINT_LEASE_RETENTION_DAYS are deleted in bounded batches, the audit
 * log's monthly partitions are kept three months ahead, and partitions whose
 * month ended more than PGMINT_AUDIT_RETENTION_DAYS ago are detached and
 * dropped (each retirement audited in its own transaction; 0 keeps them all).
 * So the control plane stays the same size however long pgmint runs.
 *
 * @example
 *   const { leasesDeleted } = await retainHistory(deps, { deadline: Date.now() + 10_000 });
 */
import type { Deps } from '../deps.js';

export interface RetentionOptions {
  deadline: number;
  /** Finished leases deleted per statement (default 1,000). */
  batchSize?: number;
  requestId?: string;
}

export interface RetentionResult {
  leasesDeleted: number;
  auditPartitionsCreated: number;
  auditPartitionsRetired: string[];
}

const DAY_MS = 86_400_000;
/** Months of audit partitions kept ready ahead of now. */
const MONTHS_AHEAD = 3;

export async function retainHistory(deps: Deps, options: RetentionOptions): Promise<RetentionResult> {
  const batchSize = options.batchSize ?? 1000;
  const now = deps.now();
  const result: RetentionResult = { leasesDeleted: 0, auditPartitionsCreated: 0, auditPartitionsRetired: [] };
  const ahead = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MONTHS_AHEAD, 1));
  result.auditPartitionsCreated = await deps.store.audit.ensurePartitions(now, ahead);
  if (deps.settings.auditRetentionDays > 0) {
    result.auditPartitionsRetired = await deps.store.audit.retirePartitions(deps.settings.auditRetentionDays, options.requestId ?? null);
  }
  const before = new Date(now.getTime() - deps.settings.leaseRetentionDays * DAY_MS);
  // One batch even past the deadline, so a sweep that spent its time revoking still makes progress.
  for (;;) {
    const deleted = await deps.store.leases.deleteFinished(before, batchSize);
    result.leasesDeleted += deleted;
    if (deleted < batchSize || Date.now() >= options.deadline) break;
  }
  if (result.leasesDeleted > 0) {
    await deps.store.audit.append({
      action: 'lease.retire',
      outcome: 'success',
      requestId: options.requestId ?? null,
      detail: { deleted: result.leasesDeleted, finished_before: before.toISOString(), retention_days: deps.settings.leaseRetentionDays },
    });
  }
  return result;
}
