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
import type { Deps } from '../context.js';
import type { AuditEntry } from '../store/types.js';

const LIMIT = 1000;
const backlog: AuditEntry[] = [];
let dropped = 0;
let flushing: Promise<void> | null = null;

/** Rows waiting for the control plane in this process (for tests and health). */
export const deferredAuditCount = () => backlog.length;

function defer(entry: AuditEntry, now: Date): void {
  if (backlog.length >= LIMIT) {
    backlog.shift();
    dropped++;
  }
  backlog.push({ ...entry, detail: { ...entry.detail, deferred_from: now.toISOString() } });
  console.warn(
    JSON.stringify({
      level: 'warn',
      msg: 'audit_deferred',
      action: entry.action,
      code: entry.code ?? null,
      request_id: entry.requestId ?? null,
      database: entry.databaseId ?? null,
      subject: entry.subject ?? null,
      waiting: backlog.length,
      dropped,
    }),
  );
}

/** Writes what waited, oldest first, in one statement; on failure it keeps waiting. */
export function flushDeferredAudit(deps: Deps): Promise<void> {
  if (backlog.length === 0) return Promise.resolve();
  flushing ??= (async () => {
    const batch = backlog.splice(0, backlog.length);
    try {
      await deps.store.audit.appendMany(batch);
    } catch {
      backlog.unshift(...batch.slice(0, LIMIT - backlog.length));
    }
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}

/** Appends `entry`, or keeps it for later when the control plane cannot take it now. */
export async function appendOrDefer(deps: Deps, entry: AuditEntry): Promise<void> {
  try {
    await deps.store.audit.append(entry);
  } catch {
    defer(entry, deps.now());
    return;
  }
  await flushDeferredAudit(deps);
}
