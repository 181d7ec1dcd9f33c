/**
 * Turns a bearer token into a workload identity for one database: finds the
 * issuers registered for the token's `iss`, verifies it against them, and
 * checks the service account (k8s) or subject and bound claims (oidc).
 *
 * @example
 *   const who = await authenticateWorkload(deps, db.id, 'k8s', token);
 */
import type { JWTPayload } from 'jose';
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import { k8sIdentity, matchServiceAccount, peekIssuer } from '../identity/index.js';
import type { IssuerKind, IssuerRecord } from '../store/types.js';

export interface Workload {
  issuer: IssuerRecord;
  subject: string;
  podName: string | null;
  podUid: string | null;
  /** What the lease cap counts by, within the issuer: the pod when the token names one, else the subject. */
  workloadKey: string;
  /** Readable parts for the lease user's name. */
  nameParts: { namespace: string; name: string };
}

/** Partial identity known before a refusal, for the audit row. */
export class WorkloadDenied extends PgmintError {
  constructor(
    base: PgmintError,
    readonly who: { subject?: string; issuer?: string; pod?: string },
  ) {
    super(base.code, base.message, { cause: base.cause, details: base.details, retryAfterSec: base.retryAfterSec });
  }
}

function claimValues(payload: JWTPayload, path: string): string[] {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value && typeof value === 'object') value = (value as Record<string, unknown>)[part];
    else return [];
  }
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  return [];
}

function matchSubject(patterns: string[], subject: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? subject.startsWith(p.slice(0, -1)) : p === subject));
}

function oidcAllowed(issuer: IssuerRecord, payload: JWTPayload): boolean {
  const subject = payload.sub ?? '';
  if (issuer.allowedSubjects.length > 0 && !matchSubject(issuer.allowedSubjects, subject)) return false;
  return Object.entries(issuer.boundClaims).every(([claim, allowed]) => {
    const want = Array.isArray(allowed) ? allowed : [allowed];
    return claimValues(payload, claim).some((v) => want.includes(v));
  });
}

function k8sWorkload(issuer: IssuerRecord, payload: JWTPayload, iss: string): Workload | WorkloadDenied {
  let id: ReturnType<typeof k8sIdentity>;
  try {
    id = k8sIdentity(payload);
  } catch (err) {
    if (err instanceof PgmintError) return new WorkloadDenied(err, { issuer: iss });
    throw err;
  }
  // Tokens from `kubectl create token` name no pod; an issuer may insist on one.
  if (issuer.requireBoundPod && !id.podUid) {
    return new WorkloadDenied(new PgmintError('invalid_token', 'token is not bound to a pod (require_bound_pod)'), {
      subject: id.subject,
      issuer: iss,
    });
  }
  if (!matchServiceAccount(issuer.allowedServiceAccounts, id.namespace, id.serviceAccount)) {
    return new WorkloadDenied(new PgmintError('not_allowed', 'service account is not allowed for this database'), {
      subject: id.subject,
      issuer: iss,
      pod: id.podName,
    });
  }
  return {
    issuer,
    subject: id.subject,
    podName: id.podName ?? null,
    podUid: id.podUid ?? null,
    workloadKey: id.podUid ? `pod:${id.podUid}` : `sub:${id.subject}`,
    nameParts: { namespace: id.namespace, name: id.serviceAccount },
  };
}

function oidcWorkload(issuer: IssuerRecord, payload: JWTPayload, iss: string): Workload | WorkloadDenied {
  const subject = payload.sub;
  if (!subject) return new WorkloadDenied(new PgmintError('invalid_token', 'token has no subject'), { issuer: iss });
  if (!oidcAllowed(issuer, payload)) {
    return new WorkloadDenied(new PgmintError('not_allowed', 'subject is not allowed for this database'), { subject, issuer: iss });
  }
  return { issuer, subject, podName: null, podUid: null, workloadKey: `sub:${subject}`, nameParts: { namespace: 'oidc', name: subject } };
}

/** `preloaded`: the issuers registered for this token's `iss`, when the caller already read them. */
export async function authenticateWorkload(
  deps: Deps,
  databaseId: string,
  kind: IssuerKind,
  token: string,
  preloaded?: readonly IssuerRecord[],
): Promise<Workload> {
  const iss = peekIssuer(token);
  const candidates = preloaded ?? (await deps.store.issuers.findByIssuer(databaseId, kind, iss));
  if (candidates.length === 0) {
    throw new WorkloadDenied(new PgmintError('invalid_token', 'token issuer is not trusted for this database'), { issuer: iss });
  }
  // Several registrations may share an issuer URL (different audiences or
  // allowed identities): the token is accepted when any one of them accepts it.
  let refusal: WorkloadDenied | undefined;
  let lastError: unknown;
  for (const issuer of candidates) {
    let payload: JWTPayload;
    try {
      ({ payload } = await deps.verifier.verify(token, {
        issuer: issuer.issuer,
        audiences: issuer.audiences,
        pinnedJwks: issuer.pinnedJwks,
        pinnedPems: issuer.pinnedPems,
        caPem: issuer.caPem,
        maxTokenLifetimeSec: issuer.maxTokenLifetimeSec,
      }));
    } catch (err) {
      // Keys not fetched yet say more than another registration's refusal: the token may well be good.
      if (!(lastError instanceof PgmintError && lastError.code === 'issuer_unavailable')) lastError = err;
      continue;
    }
    const outcome = kind === 'k8s' ? k8sWorkload(issuer, payload, iss) : oidcWorkload(issuer, payload, iss);
    if (!(outcome instanceof WorkloadDenied)) return outcome;
    // A verified token's refusal says more than another registration's signature failure.
    if (!refusal || refusal.code === 'invalid_token') refusal = outcome;
  }
  if (refusal) throw refusal;
  if (lastError instanceof PgmintError) throw new WorkloadDenied(lastError, { issuer: iss });
  throw lastError;
}
