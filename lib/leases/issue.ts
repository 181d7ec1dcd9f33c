/**
 * The exchange: a verified workload token in, a fresh login role out.
 *
 * Nothing is written until the token is verified and the request allowed;
 * the writes, and the order that keeps them crash-safe, are write-lease.ts's.
 *
 * @example
 *   const creds = await issueCredentials(deps, { databaseId: 'orders', kind: 'k8s', token });
 */
import type { Deps } from '../deps.js';
import { outcomeOf, PgmintError, toPgmintError } from '../errors.js';
import { fetchFailureOf, peekIssuer, requireBearer } from '../identity/index.js';
import { leaseRoleName, randomSuffix } from '../sql/lease-name.js';
import type { IssuerKind } from '../store/types.js';
import { appendOrDefer, flushDeferredAudit } from './audit-backlog.js';
import { authenticateWorkload, WorkloadDenied, type Workload } from './authenticate.js';
import { type Credentials, credentialDocument } from './credentials.js';
import { HARD_MAX_TTL_SEC, resolveTtl, secondsAfter } from './ttl.js';
import { inTurn, writeLease } from './write-lease.js';

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
    const pair = await deps.passwords.take();
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
    const { password } = await writeLease(deps, {
      db,
      lease,
      cap: who.issuer.maxLeasesPerWorkload,
      issued: {
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
      },
      turns: await deps.targets.limiter(db),
      prepare: () => deps.targets.prepareLeaseRole(db, role, { name: username, expiresAt, pair }),
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
