/**
 * Errors as RFC 9457 problem documents: the one place where a
 * `PgmintError.code` becomes an HTTP status and headers (WWW-Authenticate,
 * Retry-After, Allow). Token and permission refusals say only their code: a
 * caller probing the broker learns nothing about which check failed.
 *
 * @example
 *   return problemResponse(new PgmintError('not_found', 'no such role'), requestId);
 */
import { RETRY_AFTER_SEC } from '../db/outage.js';
import type { ErrorCode, PgmintError } from '../errors.js';

export { toPgmintError } from '../errors.js';

const PROBLEMS: Record<ErrorCode, { status: number; title: string }> = {
  invalid_request: { status: 400, title: 'Invalid request' },
  invalid_config: { status: 400, title: 'Invalid configuration' },
  unauthorized: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'Token not accepted' },
  not_allowed: { status: 403, title: 'Not allowed' },
  insufficient_scope: { status: 403, title: 'Insufficient scope' },
  not_found: { status: 404, title: 'Not found' },
  database_not_found: { status: 404, title: 'Database not found' },
  lease_not_found: { status: 404, title: 'Lease not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  too_many_leases: { status: 429, title: 'Too many leases' },
  target_unavailable: { status: 503, title: 'Target database unavailable' },
  control_plane_unavailable: { status: 503, title: 'Control plane unavailable' },
  issuer_unavailable: { status: 503, title: 'Token issuer unavailable' },
  internal: { status: 500, title: 'Internal error' },
};

export const statusOf = (code: ErrorCode): number => PROBLEMS[code].status;

/** Codes whose reason stays private (it is in the audit log's code, not the response). */
const OPAQUE_DETAIL: Partial<Record<ErrorCode, string>> = {
  invalid_token: 'The bearer token was not accepted.',
  not_allowed: 'This identity is not allowed to do that.',
  internal: 'Something went wrong; the request id leads to the details in the logs.',
};

export function problemBody(err: PgmintError, requestId: string) {
  const opaque = OPAQUE_DETAIL[err.code];
  return {
    type: `https://pgmint.dev/problems/${err.code.replaceAll('_', '-')}`,
    title: PROBLEMS[err.code].title,
    status: statusOf(err.code),
    detail: opaque ?? err.message,
    code: err.code,
    request_id: requestId,
    ...(opaque ? {} : err.details),
  };
}

function problemHeaders(err: PgmintError, requestId: string): Headers {
  const headers = new Headers({
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  if (err.code === 'unauthorized' || err.code === 'invalid_token') headers.set('www-authenticate', 'Bearer');
  // The error's own wait wins over the default one of an unavailable database.
  const retryAfter = err.retryAfterSec ?? (statusOf(err.code) === 503 ? RETRY_AFTER_SEC : undefined);
  if (retryAfter !== undefined) headers.set('retry-after', String(retryAfter));
  const allow = err.details.allow;
  if (err.code === 'method_not_allowed' && Array.isArray(allow) && allow.length > 0) headers.set('allow', allow.join(', '));
  return headers;
}

export function problemResponse(err: PgmintError, requestId: string): Response {
  return new Response(JSON.stringify(problemBody(err, requestId)), { status: statusOf(err.code), headers: problemHeaders(err, requestId) });
}
