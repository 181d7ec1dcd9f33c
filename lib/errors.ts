/**
 * The one error type pgmint raises on purpose. Each `code` maps to one HTTP
 * status and is what the audit log records; messages never carry a secret.
 *
 * `toPgmintError` turns anything else into one: a database found away
 * (db/outage.ts) is `target_unavailable` or `control_plane_unavailable`,
 * the rest `internal`.
 *
 * @example
 *   throw new PgmintError('not_allowed', 'service account is not allowed for this database');
 */
import { isUnavailable } from './db/outage.js';

export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_config: 400,
  unauthorized: 401,
  invalid_token: 401,
  not_allowed: 403,
  insufficient_scope: 403,
  not_found: 404,
  method_not_allowed: 405,
  database_not_found: 404,
  lease_not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  too_many_leases: 429,
  target_unavailable: 503,
  control_plane_unavailable: 503,
  issuer_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class PgmintError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra response headers, e.g. Retry-After. */
  readonly headers: Record<string, string>;
  /** Machine-readable detail safe to return to the caller (field names, limits). */
  readonly extra: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string>; extra?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'PgmintError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.headers = options.headers ?? {};
    this.extra = options.extra ?? {};
  }
}

export function isPgmintError(err: unknown): err is PgmintError {
  return err instanceof PgmintError;
}

/** A database that was away is the caller's cue to retry, whichever layer let the error through. */
function unavailable(err: unknown): PgmintError | null {
  if (isUnavailable(err)) {
    const what = err.database === 'control_plane' ? 'the control-plane database' : 'the target database';
    return new PgmintError(`${err.database}_unavailable`, `${what} is not answering; retry shortly`, { cause: err });
  }
  return null;
}

export function toPgmintError(err: unknown): PgmintError {
  if (isPgmintError(err)) {
    // A domain refusal caused by a control-plane outage (e.g. a read inside a check) is that outage.
    if (err.status >= 500 && isUnavailable(err.cause) && err.cause.database === 'control_plane') return unavailable(err.cause)!;
    return err;
  }
  return unavailable(err) ?? new PgmintError('internal', 'internal error', { cause: err });
}
