/**
 * The one place database errors are cleaned before they travel further: any
 * password or SCRAM verifier a statement carried is cut out of the message,
 * and Postgres's own fields (SQLSTATE `code`, `detail`, `hint`) are kept.
 * It also tells a server that is away (refused, reset, timed out, shutting
 * down) from one that answered with an error: only the first is worth a retry.
 */
export class DatabaseError extends Error {
  /** SQLSTATE, e.g. `42710` duplicate_object, `28P01` invalid_password. */
  readonly sqlstate: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  /** The server could not be reached or dropped the connection: nothing it said, so retrying later may work. */
  readonly unreachable: boolean;

  constructor(message: string, fields: { sqlstate?: string; detail?: string; hint?: string; unreachable?: boolean }) {
    super(message);
    this.name = 'DatabaseError';
    this.sqlstate = fields.sqlstate;
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.unreachable = fields.unreachable ?? false;
  }
}

/** Socket errors (Node's `code`) that mean the server is away, not that it refused the statement. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

/**
 * SQLSTATEs of a server going away: class 08 (connection exception), 57P01
 * admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300
 * too_many_connections.
 */
const AWAY_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/** What node-postgres and the Neon driver say when a connection times out or ends under them. */
const AWAY_MESSAGE =
  /timeout exceeded when trying to connect|Query read timeout|Connection terminated|connection error and is not queryable|Client was closed|Connection ended|socket hang up|WebSocket/i;

function isUnreachable(e: { code?: unknown; message?: unknown }, sqlstate: string | undefined): boolean {
  if (sqlstate) return AWAY_SQLSTATE.test(sqlstate);
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return typeof e.message === 'string' && AWAY_MESSAGE.test(e.message);
}

const SECRET_PATTERNS: RegExp[] = [
  /SCRAM-SHA-256\$[^\s'"]+/g,
  // Lease passwords (crypto/password.ts); lease user names (`pgm_…`) stay readable.
  /\bpgm-[A-Za-z0-9_-]{20,}/g,
  /(PASSWORD\s+)'(?:[^']|'')*'/gi,
  /(postgres(?:ql)?:\/\/[^:/\s]+:)[^@\s]+@/gi,
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (match, prefix?: string) =>
      typeof prefix === 'string' && match.startsWith(prefix) ? `${prefix}'[redacted]'` : '[redacted]',
    );
  }
  return out;
}

export function sanitizeDatabaseError(err: unknown): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const e = (err ?? {}) as { message?: unknown; code?: unknown; detail?: unknown; hint?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const sqlstate = typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  return new DatabaseError(redactSecrets(message), {
    sqlstate,
    detail: typeof e.detail === 'string' ? redactSecrets(e.detail) : undefined,
    hint: typeof e.hint === 'string' ? redactSecrets(e.hint) : undefined,
    unreachable: isUnreachable(e, sqlstate),
  });
}
