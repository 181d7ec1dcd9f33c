/**
 * The one error type pgmint raises on purpose: a `code`, a message that never
 * carries a secret, and `details` safe to show the caller (field names,
 * limits). Like jose's errors it knows nothing of HTTP: lib/http/problem.ts
 * alone turns a code into a status and headers. `retryAfterSec` is the domain's
 * word on when trying again makes sense (a busy queue, an issuer's keys).
 *
 * `toPgmintError` turns anything else into one: a database found away
 * (db/outage.ts) is `target_unavailable` or `control_plane_unavailable`,
 * the rest `internal`.
 *
 * @example
 *   throw new PgmintError('too_many_leases', 'this workload holds 10 leases', { details: { limit: 10 }, retryAfterSec: 60 });
 */
import { isUnavailable } from './db/outage.js';

export const ERROR_CODES = [
  'invalid_request',
  'invalid_config',
  'unauthorized',
  'invalid_token',
  'not_allowed',
  'insufficient_scope',
  'not_found',
  'method_not_allowed',
  'database_not_found',
  'lease_not_found',
  'conflict',
  'payload_too_large',
  'unsupported_media_type',
  'too_many_leases',
  'target_unavailable',
  'control_plane_unavailable',
  'issuer_unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Codes that are pgmint's or a dependency's failure rather than a refusal of the caller. */
const SERVER_SIDE: ReadonlySet<ErrorCode> = new Set(['target_unavailable', 'control_plane_unavailable', 'issuer_unavailable', 'internal']);

/** True when the code is a failure on pgmint's side (audited as `error`), false for a refusal (`denied`). */
export const isServerSide = (code: ErrorCode): boolean => SERVER_SIDE.has(code);

/** The audit outcome of an error: a refusal is `denied`, a failure on pgmint's side `error`. */
export const outcomeOf = (err: PgmintError): 'denied' | 'error' => (isServerSide(err.code) ? 'error' : 'denied');

export interface PgmintErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
  /** Seconds after which the same request may succeed. */
  retryAfterSec?: number;
}

export class PgmintError extends Error {
  readonly code: ErrorCode;
  /** Machine-readable detail safe to return to the caller (field names, limits). */
  readonly details: Record<string, unknown>;
  readonly retryAfterSec: number | undefined;

  constructor(code: ErrorCode, message: string, options: PgmintErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'PgmintError';
    this.code = code;
    this.details = options.details ?? {};
    this.retryAfterSec = options.retryAfterSec;
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
    // A domain failure caused by a control-plane outage (e.g. a read inside a check) is that outage.
    if (isServerSide(err.code) && isUnavailable(err.cause) && err.cause.database === 'control_plane') return unavailable(err.cause)!;
    return err;
  }
  return unavailable(err) ?? new PgmintError('internal', 'internal error', { cause: err });
}
