/**
 * The one error type pgmint raises on purpose. Each `code` maps to one HTTP
 * status and is what the audit log records; messages never carry a secret.
 *
 * @example
 *   throw new PgmintError('not_allowed', 'service account is not allowed for this database');
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_config: 400,
  unauthorized: 401,
  invalid_token: 401,
  not_allowed: 403,
  insufficient_scope: 403,
  not_found: 404,
  database_not_found: 404,
  lease_not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  too_many_leases: 429,
  target_unavailable: 503,
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
