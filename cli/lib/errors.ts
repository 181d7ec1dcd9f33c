/**
 * Errors as the `pgmint` command shows them: the broker's problem `code` and
 * `detail`, what to try next, the request id, and never a secret. Every
 * message passes through `redact()`, which knows each token and password the
 * process has handled.
 *
 * @example
 *   throw new CliError('port_in_use', 'port 15432 is taken', { hint: 'omit --strict-port' });
 */

const secrets = new Set<string>();

/** Registers a value that must never be printed in an error (tokens, passwords). */
export function rememberSecret(value: string | undefined | null): void {
  if (value && value.length >= 6) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secrets) {
    out = out.split(s).join('[redacted]');
    const encoded = encodeURIComponent(s);
    if (encoded !== s) out = out.split(encoded).join('[redacted]');
  }
  // Passwords inside connection URIs, whoever minted them.
  return out.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]+@/g, '$1[redacted]@');
}

export class CliError extends Error {
  readonly code: string;
  readonly hint?: string;
  readonly requestId?: string;
  readonly exitCode: number;
  /** The broker's Retry-After, in seconds, when it answered 503 or 429 with one. */
  readonly retryAfterSec?: number;

  constructor(
    code: string,
    message: string,
    options: { hint?: string; requestId?: string; exitCode?: number; cause?: unknown; retryAfterSec?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.hint = options.hint;
    this.requestId = options.requestId;
    this.exitCode = options.exitCode ?? 1;
    this.retryAfterSec = options.retryAfterSec;
  }
}

/** What a person can do next, per broker problem code. */
const HINTS: Record<string, string> = {
  invalid_token:
    'the broker did not accept your token: mint a fresh one (e.g. `kubectl create token <service-account> --audience pgmint`), check its audience, and ask an operator whether its issuer is trusted for this database (`pgmint issuer list <db>`)',
  not_allowed:
    'your identity is not allowed this database or role: ask an operator to add your service account or subject to the database issuer (`pgmint issuer add`), or try another --role',
  unauthorized: 'set PGMINT_ADMIN_TOKEN (or pass --admin-token) to an admin token of this broker',
  insufficient_scope: 'use an admin token that holds the scope named above',
  database_not_found: 'check the database name: `pgmint db list` shows what the broker knows',
  lease_not_found: 'the lease is gone or never existed: `pgmint leases list <db>` shows current ones',
  not_found: 'check the name; if this is a route, the broker may be older than this pgmint command',
  invalid_request: 'check the argument named above; `pgmint <command> --help` lists the accepted forms',
  invalid_config: 'the broker tested the configuration and it did not work; fix the reason above and try again',
  conflict: 'something with that name already exists or is busy; list it first, or try again in a moment',
  payload_too_large: 'send less: the broker accepts at most 256 KiB per request',
  too_many_leases:
    'you already hold the maximum number of live leases for this database: wait for some to expire, or revoke them (`pgmint leases revoke <lease-id>`)',
  target_unavailable:
    'the broker cannot reach the database right now; try again shortly, or ask an operator to check it (`pgmint db list`)',
  control_plane_unavailable:
    "the broker cannot reach its own database right now; try again shortly, or ask an operator to check the broker's PGMINT_DATABASE_URL",
  issuer_unavailable: "the broker cannot reach your token's issuer to verify it; try again shortly",
  unsupported_media_type: 'the broker expects a JSON body; this pgmint command may be newer or older than the broker',
  method_not_allowed: 'the broker does not offer this; it may be older than this pgmint command',
  internal: 'the broker failed; give the request id to an operator, it leads to the details in its logs',
  broker_unreachable: 'is the broker running there? pass --url or set PGMINT_URL',
};

export function hintFor(code: string): string | undefined {
  return HINTS[code];
}

/** The lines printed on stderr for a failed command. */
export function formatError(err: unknown): string {
  if (err instanceof CliError) {
    const lines = [`pgmint: ${err.code}: ${err.message}`];
    if (err.hint) lines.push(`  what to try: ${err.hint}`);
    if (err.requestId) lines.push(`  request id: ${err.requestId}`);
    return `${redact(lines.join('\n'))}\n`;
  }
  const message = err instanceof Error ? err.message : String(err);
  return `${redact(`pgmint: ${message}`)}\n`;
}

export function exitCodeOf(err: unknown): number {
  return err instanceof CliError ? err.exitCode : 1;
}
