/**
 * Turns a bearer token into a workload identity for one database: finds the
 * issuers registered for the token's `iss`, verifies it against them, and
 * checks the service account (k8s) or subject and bound claims (oidc).
 *
 * @example
 *   const who = await authenticateWorkload(deps, db.id, 'k8s', token);
 */
import type { JWTPayload } from 'jose';
import type { Deps } from '../context.js';
import { PgmintError } from '../errors.js';
import { k8sIdentity, matchServiceAccount, peekIssuer } from '../identity/index.js';
import type { IssuerKind, IssuerRecord } from '../store/types.js';

export interface Workload {
  issuer: IssuerRecord;
  subject: string;
  podName: string | null;
  podUid: string | null;
  /** What the lease cap counts by: the pod when the token names one, else the subject. */
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
    super(base.code, base.message, { cause: base.cause, headers: base.headers, extra: base.extra });
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

export async function authenticateWorkload(deps: Deps, databaseId: string, kind: IssuerKind, token: string): Promise<Workload> {
  const iss = peekIssuer(token);
  const candidates = await deps.store.issuers.findByIssuer(databaseId, kind, iss);
  if (candidates.length === 0) {
    throw new WorkloadDenied(new PgmintError('invalid_token', 'token issuer is not trusted for this database'), { issuer: iss });
  }
  let lastError: unknown;
  for (const issuer of candidates) {
    let payload: JWTPayload;
    try {
      ({ payload } = await deps.verifier.verify(token, {
        issuer: issuer.issuer,
        audiences: issuer.audiences,
        pinnedJwks: issuer.pinnedJwks,
        pinnedPems: issuer.pinnedPems,
      }));
    } catch (err) {
      lastError = err;
      continue;
    }
    if (kind === 'k8s') {
      const id = k8sIdentity(payload);
      const who = { subject: id.subject, issuer: iss, pod: id.podName };
      if (!matchServiceAccount(issuer.allowedServiceAccounts, id.namespace, id.serviceAccount)) {
        throw new WorkloadDenied(new PgmintError('not_allowed', 'service account is not allowed for this database'), who);
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
    const subject = payload.sub;
    if (!subject) throw new WorkloadDenied(new PgmintError('invalid_token', 'token has no subject'), { issuer: iss });
    if (!oidcAllowed(issuer, payload)) {
      throw new WorkloadDenied(new PgmintError('not_allowed', 'subject is not allowed for this database'), { subject, issuer: iss });
    }
    return {
      issuer,
      subject,
      podName: null,
      podUid: null,
      workloadKey: `sub:${subject}`,
      nameParts: { namespace: 'oidc', name: subject },
    };
  }
  if (lastError instanceof PgmintError) throw new WorkloadDenied(lastError, { issuer: iss });
  throw lastError;
}
