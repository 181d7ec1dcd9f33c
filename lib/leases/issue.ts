/**
 * The exchange: a verified workload token in, a fresh login role out.
 *
 * Order matters for crash safety: the lease row is written `pending` before
 * the role exists, the role is created in one all-or-nothing round trip, and
 * only then is the lease marked `active` together with its audit row. A crash
 * or an outage anywhere leaves at worst a pending lease the sweeper revokes.
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
import type { IssuerKind } from '../store/types.js';
import { appendOrDefer, flushDeferredAudit } from './audit-backlog.js';
import { authenticateWorkload, WorkloadDenied, type Workload } from './authenticate.js';
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

    // The whole write sequence waits its turn per target, so a burst queues here
    // (in memory, up to PGMINT_QUEUE_TIMEOUT) instead of in the connection pools.
    await inTurn(deps, await deps.targets.limiter(db), async () => {
      // Statements built and their runner found before anything is written.
      const creation = await deps.targets.prepareLeaseRole(db, role, { name: username, verifier, expiresAt });
      const reserve = async () => {
        if (!(await deps.store.leases.insertPendingWithinCap(lease, cap))) {
          throw new PgmintError('too_many_leases', `this workload already holds ${cap} active leases`, {
            retryAfterSec: 60,
            details: { limit: cap },
          });
        }
      };
      const createdFailed = async (err: unknown): Promise<never> => {
        const cause = sanitizeDatabaseError(err);
        if (cause.unreachable) {
          // The statement may still commit when the server wakes (it was sent, its answer never
          // came): the lease stays pending and asked to end, so the sweeper drops the role if it appears.
          await deps.store.leases.requestRevocation(db.id, { id: lease.id }, deps.now());
          throw new PgmintError('target_unavailable', 'the target database did not answer; retry shortly', { cause });
        }
        // The statement is all-or-nothing and was refused, so no role exists; the lease is closed as failed.
        await deps.store.leases.markFailed(lease.id, cause.message);
        throw new PgmintError('target_unavailable', 'the target database refused to create the login role', { cause });
      };
      // Sequential on purpose: a role created before its pending row commits would be untracked
      // whenever the control plane fails in between.
      await reserve();
      await creation.create().catch(createdFailed);
      await deps.store.leases.activate(lease.id, {
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
      });
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
