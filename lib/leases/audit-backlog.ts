/**
 * Refusals that could not be audited because the control plane was away.
 * Each is logged at once as one JSON line (`audit_deferred`, no secret in
 * it: action, code, database, subject) and kept in memory, up to 1,000 per
 * process, then written with its original time in `detail.deferred_from` by
 * the next exchange or refusal that reaches the control plane. A process that
 * ends first loses the kept rows, not the log lines; an overflow is counted in
 * the next log line's `dropped`.
 *
 * @example
 *   await appendOrDefer(deps, { action: 'credentials.issue', outcome: 'error', code: 'control_plane_unavailable' });
 */
import type { Deps } from '../deps.js';
import type { AuditEntry } from '../store/types.js';

const LIMIT = 1000;

/** The rows one process keeps for the control plane (Deps.auditBacklog). */
export interface AuditBacklog {
  readonly entries: AuditEntry[];
  dropped: number;
  flushing: Promise<void> | null;
}

export const createAuditBacklog = (): AuditBacklog => ({ entries: [], dropped: 0, flushing: null });

function defer(backlog: AuditBacklog, entry: AuditEntry, now: Date): void {
  if (backlog.entries.length >= LIMIT) {
    backlog.entries.shift();
    backlog.dropped++;
  }
  backlog.entries.push({ ...entry, detail: { ...entry.detail, deferred_from: now.toISOString() } });
  console.warn(
    JSON.stringify({
      level: 'warn',
      msg: 'audit_deferred',
      action: entry.action,
      code: entry.code ?? null,
      request_id: entry.requestId ?? null,
      database: entry.databaseId ?? null,
      subject: entry.subject ?? null,
      waiting: backlog.entries.length,
      dropped: backlog.dropped,
    }),
  );
}

/** Writes what waited, oldest first, in one statement; on failure it keeps waiting. */
export function flushDeferredAudit(deps: Deps): Promise<void> {
  const backlog = deps.auditBacklog;
  if (backlog.entries.length === 0) return Promise.resolve();
  backlog.flushing ??= (async () => {
    const batch = backlog.entries.splice(0, backlog.entries.length);
    try {
      await deps.store.audit.appendMany(batch);
    } catch {
      backlog.entries.unshift(...batch.slice(0, LIMIT - backlog.entries.length));
    }
  })().finally(() => {
    backlog.flushing = null;
  });
  return backlog.flushing;
}

/** Appends `entry`, or keeps it for later when the control plane cannot take it now. */
export async function appendOrDefer(deps: Deps, entry: AuditEntry): Promise<void> {
  try {
    await deps.store.audit.append(entry);
  } catch {
    defer(deps.auditBacklog, entry, deps.now());
    return;
  }
  await flushDeferredAudit(deps);
}
