/**
 * Errors as RFC 9457 problem documents, mapped from `PgmintError.code` in one
 * place. Token and permission refusals say only their code: a caller probing
 * the broker learns nothing about which check failed.
 *
 * @example
 *   return problemResponse(new PgmintError('not_found', 'no such role'), requestId);
 */
import { RETRY_AFTER_SEC } from '../db/outage.js';
import type { PgmintError } from '../errors.js';

export { toPgmintError } from '../errors.js';

const TITLES: Record<string, string> = {
  invalid_request: 'Invalid request',
  invalid_config: 'Invalid configuration',
  unauthorized: 'Authentication required',
  invalid_token: 'Token not accepted',
  not_allowed: 'Not allowed',
  insufficient_scope: 'Insufficient scope',
  not_found: 'Not found',
  database_not_found: 'Database not found',
  lease_not_found: 'Lease not found',
  conflict: 'Conflict',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  method_not_allowed: 'Method not allowed',
  too_many_leases: 'Too many leases',
  target_unavailable: 'Target database unavailable',
  control_plane_unavailable: 'Control plane unavailable',
  issuer_unavailable: 'Token issuer unavailable',
  internal: 'Internal error',
};

/** Codes whose reason stays private (it is in the audit log's code, not the response). */
const OPAQUE = new Set(['invalid_token', 'not_allowed', 'internal']);
const OPAQUE_DETAIL: Record<string, string> = {
  invalid_token: 'The bearer token was not accepted.',
  not_allowed: 'This identity is not allowed to do that.',
  internal: 'Something went wrong; the request id leads to the details in the logs.',
};

export function problemBody(err: PgmintError, requestId: string) {
  const detail = OPAQUE.has(err.code) ? OPAQUE_DETAIL[err.code] : err.message;
  return {
    type: `https://pgmint.dev/problems/${err.code.replaceAll('_', '-')}`,
    title: TITLES[err.code] ?? err.code,
    status: err.status,
    detail,
    code: err.code,
    request_id: requestId,
    ...(OPAQUE.has(err.code) ? {} : err.extra),
  };
}

export function problemResponse(err: PgmintError, requestId: string): Response {
  const headers = new Headers({
    'content-type': 'application/problem+json',
    'cache-control': 'no-store',
    'x-request-id': requestId,
  });
  if (err.code === 'unauthorized' || err.code === 'invalid_token') headers.set('www-authenticate', 'Bearer');
  if (err.status === 503) headers.set('retry-after', String(RETRY_AFTER_SEC));
  // set, not append: a code's own Retry-After replaces the default instead of joining it.
  for (const [name, value] of Object.entries(err.headers)) headers.set(name, value);
  return new Response(JSON.stringify(problemBody(err, requestId)), { status: err.status, headers });
}
