/**
 * The one place database errors are cleaned before they travel further: any
 * password or SCRAM verifier a statement carried is cut out of the message,
 * and Postgres's own fields (SQLSTATE `code`, `detail`, `hint`) are kept.
 */
export class DatabaseError extends Error {
  /** SQLSTATE, e.g. `42710` duplicate_object, `28P01` invalid_password. */
  readonly sqlstate: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;

  constructor(message: string, fields: { sqlstate?: string; detail?: string; hint?: string }) {
    super(message);
    this.name = 'DatabaseError';
    this.sqlstate = fields.sqlstate;
    this.detail = fields.detail;
    this.hint = fields.hint;
  }
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
  });
}
