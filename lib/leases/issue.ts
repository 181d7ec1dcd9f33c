/**
 * The exchange: a verified workload token in, a fresh login role out.
 *
 * Order matters for crash safety. A role the orphan sweep can recognise (see
 * PreparedLeaseRole.findableAsOrphan) is created, in one all-or-nothing
 * round trip, while a control-plane transaction writes its lease, active,
 * with its audit row, under the workload's cap; the transaction commits once
 * the role exists. A crash before the commit leaves a role no lease tracks,
 * whose password nobody was given, that the orphan sweep drops after its
 * VALID UNTIL; a refusal or an outage before it drops the role at once. Any other role
 * (custom creation statements), and the next minute of a workload just
 * refused for its cap, take three: the lease written `pending` under the cap,
 * the role, then the activation. A crash there leaves a pending lease the
 * sweeper revokes.
 *
 * @example
 *   const creds = await issueCredentials(deps, { databaseId: 'orders', kind: 'k8s', token });
 */
import type { Deps } from '../deps.js';
import { sanitizeDatabaseError } from '../db/sanitize.js';
import { outcomeOf, PgmintError, toPgmintError } from '../errors.js';
import { fetchFailureOf, peekIssuer, requireBearer } from '../identity/index.js';
import { leaseRoleName, randomSuffix } from '../sql/lease-name.js';
import { type Limiter, LimiterTimeout } from '../targets/limiter.js';
import type { AuditEntry, DatabaseRecord, IssuerKind } from '../store/types.js';
import { appendOrDefer, flushDeferredAudit } from './audit-backlog.js';
import { authenticateWorkload, WorkloadDenied, type Workload } from './authenticate.js';
import { capKey } from './cap-memo.js';
import { type Credentials, credentialDocument } from './credentials.js';
import { HARD_MAX_TTL_SEC, resolveTtl, secondsAfter } from './ttl.js';

export interface IssueRequest {
  databaseId: string;
  kind: IssuerKind;
  /** The bearer token, or nothing when none was sent (refused and audited here). */
  token: string | undefined;
  role?: string;
  ttl?: string;
  requestId?: string;
}

function pickRole(workload: Workload, requested: string | undefined): string {
  const name = requested ?? workload.issuer.defaultRole;
  if (!workload.issuer.allowedRoles.includes(name) && name !== workload.issuer.defaultRole) {
    throw new PgmintError('not_allowed', 'role is not allowed for this workload', { details: { role: name } });
  }
  return name;
}

/** Runs `task` when `limiter` has a slot; if the queue stops moving for the queue timeout the caller is told to retry, and nothing was written. */
async function inTurn<T>(deps: Deps, limiter: Limiter, task: () => Promise<T>): Promise<T> {
  try {
    return await limiter.run(task, { maxWaitMs: deps.settings.queueTimeoutMs });
  } catch (err) {
    if (!(err instanceof LimiterTimeout)) throw err;
    throw new PgmintError(
      'target_unavailable',
      `the database has not finished creating a login for ${Math.round(err.stalledMs / 1000)} s; retry shortly`,
      {
        retryAfterSec: 5,
        details: { queued_ms: err.waitedMs },
      },
    );
  }
}

const noError = (): undefined => undefined;

const isCapRefusal = (err: unknown): boolean => err instanceof PgmintError && err.code === 'too_many_leases';

/** Drops a role whose lease was not recorded; should that fail too, the orphan sweep drops it after its VALID UNTIL. */
async function dropUnrecorded(deps: Deps, db: DatabaseRecord, username: string, reassignTo: string | null): Promise<void> {
  await deps.targets.dropRoles(db, [{ name: username, reassignTo, statements: null }]).catch(() => undefined);
}

/** The token's `iss`, or the error it deserves. */
function readToken(bearer: string | undefined): { token: string; iss: string } | { error: unknown } {
  try {
    const token = requireBearer(bearer);
    return { token, iss: peekIssuer(token) };
  } catch (error) {
    return { error };
  }
}

export async function issueCredentials(deps: Deps, req: IssueRequest): Promise<Credentials> {
  const action = 'credentials.issue';
  let workload: Workload | undefined;
  try {
    // A token that cannot even be read is refused before any control-plane query.
    const bearer = readToken(req.token);
    if ('error' in bearer) throw bearer.error;
    // The database, the token's issuers and the roles: from memory when read recently, else
    // one round trip that waits for a read slot (store/exchange-context.ts).
    const context = await deps.store.exchangeContext.load(req.databaseId, req.kind, bearer.iss, (read) =>
      inTurn(deps, deps.controlReads, read),
    );
    // Without a verified token nothing is said about the database: one that does not exist
    // trusts no issuer, so the token is refused exactly as an untrusted one.
    if (!context)
      throw new WorkloadDenied(new PgmintError('invalid_token', 'token issuer is not trusted for this database'), { issuer: bearer.iss });
    const { db } = context;
    workload = await authenticateWorkload(deps, db.id, req.kind, bearer.token, context.issuers);
    const roleName = pickRole(workload, req.role);
    const role = context.roles.find((r) => r.name === roleName);
    if (!role) throw new PgmintError('not_allowed', 'role is not defined for this database', { details: { role: roleName } });
    const ttl = resolveTtl(req.ttl, role);

    // VALID UNTIL is stated in whole seconds, rounded up: a lease never lives less than it was asked for.
    const issuedAt = deps.now();
    const expiresAt = secondsAfter(issuedAt, ttl);
    const maxExpiresAt = secondsAfter(issuedAt, Math.min(role.maxTtl, HARD_MAX_TTL_SEC));
    const username = leaseRoleName({
      prefix: db.leasePrefix,
      namespace: workload.nameParts.namespace,
      serviceAccount: workload.nameParts.name,
      random: randomSuffix(10),
    });
    const { password, verifier } = await deps.passwords.take();
    const lease = {
      id: crypto.randomUUID(),
      databaseId: db.id,
      roleName: role.name,
      username,
      reassignTo: role.memberOf[0] ?? null,
      subject: workload.subject,
      issuer: workload.issuer.issuer,
      workloadKey: workload.workloadKey,
      podName: workload.podName,
      podUid: workload.podUid,
      expiresAt,
      maxExpiresAt,
    };
    const who = workload;
    const cap = who.issuer.maxLeasesPerWorkload;
    const capped = capKey(db.id, who.issuer.issuer, who.workloadKey);
    const issued: AuditEntry = {
      action,
      outcome: 'success',
      requestId: req.requestId,
      databaseId: db.id,
      subject: who.subject,
      issuer: who.issuer.issuer,
      pod: who.podName,
      leaseId: lease.id,
      roleName: role.name,
      username,
      detail: { ttl, expires_at: expiresAt.toISOString() },
    };
    const tooMany = () => {
      deps.cappedWorkloads.remember(capped);
      return new PgmintError('too_many_leases', `this workload already holds ${cap} active leases`, {
        retryAfterSec: 60,
        details: { limit: cap },
      });
    };
    /** The role was not created: why, recorded on the lease (`record`), and the error to answer with. */
    const creationFailure = async (
      err: unknown,
      record: (how: { refusal: string } | { unansweredAt: Date }) => Promise<void>,
    ): Promise<PgmintError> => {
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
    };
    // A role created whose lease was then not recorded (the cap, or the control plane away): dropped
    // once out of the target's queue, since dropping takes a turn of its own.
    let unrecorded = false;

    // The whole write sequence waits its turn per target, so a burst queues here
    // (in memory, up to PGMINT_QUEUE_TIMEOUT) instead of in the connection pools.
    await inTurn(deps, await deps.targets.limiter(db), async () => {
      // Statements built and their runner found before anything is written.
      const creation = await deps.targets.prepareLeaseRole(db, role, { name: username, verifier, expiresAt });
      if (creation.findableAsOrphan && !deps.cappedWorkloads.refusedRecently(capped)) {
        // The role is created while, in one control-plane transaction, its lease is written active
        // with its audit row under the cap; the transaction commits once the role exists. Should the
        // broker stop before the commit, the role is one no lease tracks, its password never handed
        // out, and the orphan sweep drops it once its VALID UNTIL has passed.
        const created = creation.create();
        // Looked at below; handled from now on, should it fail before the transaction has begun.
        created.catch(noError);
        const unrecordedBecause = await deps.store
          .transaction(async (s) => {
            if (!(await s.leases.insertActiveWithinCap(lease, cap, issued))) throw tooMany();
            // The target's error is read from `created` below; here it only rolls the lease back.
            if (
              await created.then(
                () => false,
                () => true,
              )
            )
              throw new Error('the role was not created');
          })
          .then(noError, (err: unknown) => err ?? new Error('the lease was not recorded'));
        const notCreatedBecause = await created.then(noError, (err: unknown) => err ?? new Error('the role was not created'));
        if (notCreatedBecause !== undefined) {
          const failure = await creationFailure(notCreatedBecause, (how) => deps.store.leases.insertUnissued(lease, how));
          throw isCapRefusal(unrecordedBecause) ? unrecordedBecause : failure;
        }
        if (unrecordedBecause !== undefined) {
          unrecorded = true;
          throw unrecordedBecause;
        }
      } else {
        // The lease reserved first, pending, under the cap; then the role; then the activation.
        if (!(await deps.store.leases.insertPendingWithinCap(lease, cap))) throw tooMany();
        await creation.create().catch(async (err: unknown) => {
          throw await creationFailure(err, async (how) => {
            if ('refusal' in how) await deps.store.leases.markFailed(lease.id, how.refusal);
            else await deps.store.leases.requestRevocation(db.id, { id: lease.id }, how.unansweredAt);
          });
        });
        await deps.store.leases.activate(lease.id, issued);
      }
    }).finally(async () => {
      if (unrecorded) await dropUnrecorded(deps, db, username, lease.reassignTo);
    });
    void flushDeferredAudit(deps);
    return credentialDocument(db, { id: lease.id, username, issuedAt, expiresAt }, password, role.name);
  } catch (err) {
    await recordRefusal(deps, req, action, err, workload);
    throw err;
  }
}

export async function recordRefusal(
  deps: Deps,
  req: { databaseId: string | null; requestId?: string },
  action: string,
  err: unknown,
  workload?: Workload,
) {
  const who = err instanceof WorkloadDenied ? err.who : {};
  const refusal = toPgmintError(err);
  await appendOrDefer(deps, {
    action,
    outcome: outcomeOf(refusal),
    code: refusal.code,
    requestId: req.requestId,
    databaseId: req.databaseId,
    subject: workload?.subject ?? who.subject ?? null,
    issuer: workload?.issuer.issuer ?? who.issuer ?? null,
    pod: workload?.podName ?? who.pod ?? null,
    detail: refusalDetail(refusal),
  });
}

/** The audit detail of a refusal: the error's safe extras, and for an unavailable issuer what failed. */
function refusalDetail(err: PgmintError): Record<string, unknown> {
  if (err.code !== 'issuer_unavailable') return err.details;
  const failure = fetchFailureOf(err);
  return { ...err.details, reason: err.message, ...(failure ? { fetch_failure: failure } : {}) };
}
