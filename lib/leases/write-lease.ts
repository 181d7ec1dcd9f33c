/**
 * The exchange's writes: a login role on the target and its lease, with its
 * audit row, on the control plane, in an order that keeps every role either
 * tracked by a lease or findable by the orphan sweep, whatever stops
 * between two statements.
 *
 * A role the orphan sweep recognises (PreparedLeaseRole.findableAsOrphan) is
 * created first, and its lease is recorded active, with its audit row, under
 * the workload's cap, in one statement. When the target has nothing else to
 * do, that statement runs in a control-plane transaction opened while the
 * role is being created and committed once it exists, so only the COMMIT
 * follows the creation; under load the two extra statements (BEGIN, COMMIT)
 * cost more throughput than they save, and the lease is recorded after the
 * creation. Either way a crash before the lease is recorded leaves a role no
 * lease tracks, whose password nobody was given, which the orphan sweep drops
 * after its VALID UNTIL; a refusal or an outage drops it at once.
 *
 * Any other role (custom creation statements), and a workload refused for its
 * cap a moment ago (leases/cap-memo.ts), take three steps: the lease written
 * `pending` under the cap, the role, then the activation with its audit row;
 * a crash there leaves a pending lease the sweeper revokes.
 *
 * The whole sequence waits its turn per target (`turns`), so a burst queues
 * in memory instead of in the connection pools.
 *
 * @example
 *   await writeLease(deps, { db, lease, cap, issued, turns, prepare: () => deps.targets.prepareLeaseRole(db, role, login) });
 */
import type { Deps } from '../deps.js';
import { sanitizeDatabaseError } from '../db/sanitize.js';
import { PgmintError } from '../errors.js';
import type { NewLease } from '../store/leases.js';
import type { AuditEntry, DatabaseRecord } from '../store/types.js';
import type { PreparedLeaseRole } from '../targets/lease-roles.js';
import { type Limiter, LimiterTimeout } from '../targets/limiter.js';
import { capKey } from './cap-memo.js';

export interface LeaseWrite {
  db: DatabaseRecord;
  lease: NewLease;
  /** The workload's lease cap. */
  cap: number;
  /** The audit row of the issued lease. */
  issued: AuditEntry;
  /** The target's write sequences, one turn each. */
  turns: Limiter;
  /** Builds the role's statements and finds who runs them, before anything is written. */
  prepare: () => Promise<PreparedLeaseRole>;
}

type Unissued = { refusal: string } | { unansweredAt: Date };

const noError = (): undefined => undefined;

const failed = (settling: Promise<unknown>): Promise<boolean> =>
  settling.then(
    () => false,
    () => true,
  );

const isCapRefusal = (err: unknown): boolean => err instanceof PgmintError && err.code === 'too_many_leases';

/**
 * Writes the role and its lease and answers the login's password; throws the error to answer
 * with, having left nothing half-done.
 */
export async function writeLease(deps: Deps, w: LeaseWrite): Promise<{ password: string }> {
  // A role created whose lease was not recorded (the cap, the control plane away) is dropped once
  // out of the target's queue: dropping takes a turn of its own.
  const outcome = { unrecorded: false };
  try {
    return await inTurn(deps, w.turns, async () => {
      const creation = await w.prepare();
      try {
        await createAndRecord(deps, w, creation, outcome);
      } finally {
        creation.release();
      }
      return { password: creation.password };
    });
  } catch (err) {
    if (outcome.unrecorded) await dropUnrecorded(deps, w);
    throw err;
  }
}

async function createAndRecord(deps: Deps, w: LeaseWrite, creation: PreparedLeaseRole, outcome: { unrecorded: boolean }): Promise<void> {
  const capped = capKey(w.db.id, w.lease.issuer ?? '', w.lease.workloadKey);
  const tooMany = () => {
    deps.cappedWorkloads.remember(capped);
    return new PgmintError('too_many_leases', `this workload already holds ${w.cap} active leases`, {
      retryAfterSec: 60,
      details: { limit: w.cap },
    });
  };
  if (!creation.findableAsOrphan || deps.cappedWorkloads.refusedRecently(capped)) return reserveFirst(deps, w, creation, tooMany);
  // Claiming a standby is a round trip: nothing is gained by overlapping the lease's record with it.
  const alone = w.turns.active === 1 && w.turns.waiting === 0 && !creation.claimsStandby;
  const created = creation.create();
  // Read below; handled from now on, should it fail before the lease's statement is sent.
  created.catch(noError);
  const record = alone ? recordWhileCreating : recordAfter;
  const unrecordedBecause = await record(deps, w, created, tooMany).then(
    noError,
    (err: unknown) => err ?? new Error('the lease was not recorded'),
  );
  const notCreatedBecause = await created.then(noError, (err: unknown) => err ?? new Error('the role was not created'));
  if (notCreatedBecause !== undefined) {
    const failure = await creationFailure(deps, notCreatedBecause, (how) => deps.store.leases.insertUnissued(w.lease, how));
    throw isCapRefusal(unrecordedBecause) ? unrecordedBecause : failure;
  }
  if (unrecordedBecause !== undefined) {
    outcome.unrecorded = true;
    throw unrecordedBecause;
  }
}

/** The lease written in a transaction begun while the role is created, committed once it exists. */
async function recordWhileCreating(deps: Deps, w: LeaseWrite, created: Promise<void>, tooMany: () => PgmintError): Promise<void> {
  await deps.store.transaction(async (s) => {
    if (!(await s.leases.insertActiveWithinCap(w.lease, w.cap, w.issued))) throw tooMany();
    // The target's error is read from `created` by the caller; here it only rolls the lease back.
    if (await failed(created)) throw new Error('the role was not created');
  });
}

/** The lease written once the role exists. */
async function recordAfter(deps: Deps, w: LeaseWrite, created: Promise<void>, tooMany: () => PgmintError): Promise<void> {
  if (await failed(created)) return;
  if (!(await deps.store.leases.insertActiveWithinCap(w.lease, w.cap, w.issued))) throw tooMany();
}

/** The lease reserved first, pending, under the cap; then the role; then the activation. */
async function reserveFirst(deps: Deps, w: LeaseWrite, creation: PreparedLeaseRole, tooMany: () => PgmintError): Promise<void> {
  if (!(await deps.store.leases.insertPendingWithinCap(w.lease, w.cap))) throw tooMany();
  await creation.create().catch(async (err: unknown) => {
    throw await creationFailure(deps, err, async (how) => {
      if ('refusal' in how) await deps.store.leases.markFailed(w.lease.id, how.refusal);
      else await deps.store.leases.requestRevocation(w.db.id, { id: w.lease.id }, how.unansweredAt);
    });
  });
  await deps.store.leases.activate(w.lease.id, w.issued);
}

/** The role was not created: why, recorded on its lease by `record`, and the error to answer with. */
async function creationFailure(deps: Deps, err: unknown, record: (how: Unissued) => Promise<void>): Promise<PgmintError> {
  const cause = sanitizeDatabaseError(err);
  if (cause.unreachable) {
    // The statement may still commit when the server wakes (it was sent, its answer never
    // came): the lease is left pending and asked to end, so the sweeper drops the role if it appears.
    await record({ unansweredAt: deps.now() });
    return new PgmintError('target_unavailable', 'the target database did not answer; retry shortly', { cause });
  }
  // The statement is all-or-nothing and was refused, so no role exists; the lease is closed as failed.
  await record({ refusal: cause.message });
  return new PgmintError('target_unavailable', 'the target database refused to create the login role', { cause });
}

/** Runs `task` when `turns` has a slot; if the queue stops moving for the queue timeout the caller is told to retry, and nothing was written. */
export async function inTurn<T>(deps: Deps, turns: Limiter, task: () => Promise<T>): Promise<T> {
  try {
    return await turns.run(task, { maxWaitMs: deps.settings.queueTimeoutMs });
  } catch (err) {
    if (!(err instanceof LimiterTimeout)) throw err;
    throw new PgmintError(
      'target_unavailable',
      `the database has not finished creating a login for ${Math.round(err.stalledMs / 1000)} s; retry shortly`,
      { retryAfterSec: 5, details: { queued_ms: err.waitedMs } },
    );
  }
}

/** Drops a role whose lease was not recorded; should that fail too, the orphan sweep drops it after its VALID UNTIL. */
async function dropUnrecorded(deps: Deps, w: LeaseWrite): Promise<void> {
  await deps.targets.dropRoles(w.db, [{ name: w.lease.username, reassignTo: w.lease.reassignTo, statements: null }]).catch(noError);
}
