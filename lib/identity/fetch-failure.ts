/**
 * Why fetching an issuer's discovery document or keys failed, in a shape an
 * operator can act on: the HTTP status, the TLS error code (found in the fetch
 * error's `cause` chain, where Node's fetch puts it), or the network error,
 * with the URL stripped of its query.
 *
 * @example
 *   const failure = describeFetchError(err, 'https://kube.internal/.well-known/openid-configuration', 'discovery');
 *   // { stage: 'discovery', url: '…', tls_code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', reason: 'TLS: UNABLE_TO_VERIFY_LEAF_SIGNATURE' }
 */
import { PgmintError } from '../errors.js';

export type FetchStage = 'discovery' | 'jwks';

export interface FetchFailure {
  stage: FetchStage;
  /** Scheme, host and path only: a query may carry a signature. */
  url: string;
  /** The answer's status when the server answered with something other than 200. */
  status?: number;
  /** An OpenSSL verification code such as UNABLE_TO_VERIFY_LEAF_SIGNATURE. */
  tls_code?: string;
  /** A network error code (ECONNREFUSED, ENOTFOUND, …) or `timeout`. */
  error_code?: string;
  /** One line for people. */
  reason: string;
}

/** Node's TLS verification codes are upper-case words joined by underscores, and never start with E (errno codes do). */
const TLS_CODE = /^(?:UNABLE_TO_|CERT_|SELF_SIGNED_|DEPTH_ZERO_|ERR_TLS_|ERR_SSL_|HOSTNAME_MISMATCH|INVALID_CA|INVALID_PURPOSE|ERR_CERT)/;
const NETWORK_CODE = /^(?:E[A-Z]+|UND_ERR_[A-Z_]+)$/;

export function urlWithoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return url.split(/[?#]/, 1)[0] ?? '';
  }
}

/** An error carrying what went wrong with one fetch; the message never holds more than the failure says. */
export class IssuerFetchError extends Error {
  constructor(readonly failure: FetchFailure) {
    super(failure.reason);
    this.name = 'IssuerFetchError';
  }
}

/** A failure for an answer that was not 200. */
export function statusFailure(stage: FetchStage, url: string, status: number): FetchFailure {
  return { stage, url: urlWithoutQuery(url), status, reason: `${stage} answered HTTP ${status}` };
}

/** A failure for a document that came back but cannot be used (not JSON, another issuer, …). */
export function documentFailure(stage: FetchStage, url: string, reason: string): FetchFailure {
  return { stage, url: urlWithoutQuery(url), reason };
}

/** Walks `err` and its causes (at most 8 deep) for a TLS or network code. */
export function describeFetchError(err: unknown, url: string, stage: FetchStage): FetchFailure {
  const out: FetchFailure = { stage, url: urlWithoutQuery(url), reason: `${stage} request failed` };
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e; depth++) {
    if (e instanceof IssuerFetchError) return e.failure;
    if (typeof e !== 'object') break;
    const { code, name } = e as { code?: unknown; name?: unknown };
    if (name === 'TimeoutError' || name === 'AbortError' || code === 'ERR_JWKS_TIMEOUT') {
      out.error_code = 'timeout';
      out.reason = `${stage} request timed out`;
      return out;
    }
    if (typeof code === 'string' && TLS_CODE.test(code)) {
      out.tls_code = code;
      out.reason = `${stage} TLS verification failed: ${code}`;
      return out;
    }
    if (typeof code === 'string' && NETWORK_CODE.test(code)) {
      out.error_code = code;
      out.reason = `${stage} request failed: ${code}`;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** The fetch failure behind an error, wherever it sits in the cause chain. */
export function fetchFailureOf(err: unknown): FetchFailure | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e && typeof e === 'object'; depth++) {
    if (e instanceof IssuerFetchError) return e.failure;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** What to do about a failure, for the CLI and the README. */
export function fetchFailureHint(failure: FetchFailure): string {
  if (failure.status === 401 || failure.status === 403) {
    return (
      'the API server serves discovery only to authenticated clients: bind the ClusterRole ' +
      'system:service-account-issuer-discovery to the group system:unauthenticated ' +
      '(kubectl create clusterrolebinding oidc-reviewer --clusterrole=system:service-account-issuer-discovery ' +
      '--group=system:unauthenticated), or pin the issuer keys (kubectl get --raw /openid/v1/jwks > jwks.json; --jwks-file jwks.json)'
    );
  }
  if (failure.tls_code) {
    return "the issuer's certificate is not trusted: give the cluster CA (ca_pem, --ca-file ca.crt), or pin the issuer keys";
  }
  if (failure.error_code) return 'the broker cannot reach the issuer: check the URL, DNS and network policy, or pin the issuer keys';
  return 'check that the issuer URL is exactly the iss of the tokens, or pin the issuer keys';
}

/** The exchange's refusal when an issuer's keys could not be fetched. */
export function issuerUnavailable(message: string, cause: unknown, retryAfterSec = 5): PgmintError {
  return new PgmintError('issuer_unavailable', message, { cause, retryAfterSec });
}
