/**
 * SCRAM-SHA-256 verifiers in the exact form PostgreSQL stores in
 * `pg_authid.rolpassword`, so pgmint sends Postgres the verifier and never the
 * password (RFC 5802 / RFC 7677):
 *
 *   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, iterations)
 *   StoredKey      = SHA-256(HMAC(SaltedPassword, "Client Key"))
 *   ServerKey      = HMAC(SaltedPassword, "Server Key")
 *   verifier       = SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>
 *
 * SASLprep: Postgres normalizes the password with SASLprep and, when that
 * fails, uses the raw bytes. pgmint's passwords are ASCII without control
 * characters, for which SASLprep is the identity, so this module uses the
 * password's UTF-8 bytes as they are. Non-ASCII input is also used as plain
 * UTF-8 bytes: that matches Postgres whenever SASLprep leaves the string
 * unchanged (e.g. NFKC-normal text) or fails, and differs otherwise (e.g. a
 * string containing U+00A0 or a compatibility ligature), so do not feed it
 * arbitrary human passwords.
 *
 * @example
 *   const verifier = await scramSha256Verifier(generatePassword());
 *   // 'SCRAM-SHA-256$4096:Rm9v…==$Ab12…=:Cd34…='
 */
import { toBase64, utf8Bytes } from './encoding.js';

export const SCRAM_DEFAULT_ITERATIONS = 4096;
export const SCRAM_SALT_BYTES = 16;

/**
 * StoredKey and ServerKey of a password. The default uses WebCrypto, which
 * every runtime has; a runtime may give a faster one (Node's own crypto
 * spends far less of the event loop on the four small HMAC and hash steps).
 */
export type ScramKeyDeriver = (
  password: string,
  salt: Uint8Array,
  iterations: number,
) => Promise<{ storedKey: Uint8Array; serverKey: Uint8Array }>;

export interface ScramOptions {
  /** PBKDF2 iteration count; Postgres's default `scram_iterations` is 4096. */
  iterations?: number;
  /** Salt bytes; 16 random bytes when omitted. */
  salt?: Uint8Array;
  /** How the keys are derived; `scramKeys` (WebCrypto) when omitted. */
  derive?: ScramKeyDeriver;
}

export async function scramSha256Verifier(password: string, opts: ScramOptions = {}): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) {
    throw new TypeError('scramSha256Verifier needs a non-empty password string');
  }
  const iterations = opts.iterations ?? SCRAM_DEFAULT_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new TypeError('SCRAM iterations must be a positive integer');
  }
  const salt = opts.salt ?? crypto.getRandomValues(new Uint8Array(SCRAM_SALT_BYTES));
  if (!(salt instanceof Uint8Array) || salt.length === 0) {
    throw new TypeError('SCRAM salt must be a non-empty Uint8Array');
  }
  const { storedKey, serverKey } = await (opts.derive ?? scramKeys)(password, salt, iterations);
  return `SCRAM-SHA-256$${iterations}:${toBase64(salt)}$${toBase64(storedKey)}:${toBase64(serverKey)}`;
}

/** StoredKey and ServerKey for a password; exported for tests and diagnostics. */
export async function scramKeys(
  password: string,
  salt: Uint8Array,
  iterations: number,
): Promise<{ storedKey: Uint8Array; serverKey: Uint8Array }> {
  const subtle = crypto.subtle;
  const passwordKey = await subtle.importKey('raw', utf8Bytes(password), 'PBKDF2', false, ['deriveBits']);
  const salted = await subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(salt), iterations }, passwordKey, 256);
  const hmacKey = await subtle.importKey('raw', salted, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const [clientKey, serverKey] = await Promise.all([
    subtle.sign('HMAC', hmacKey, utf8Bytes('Client Key')),
    subtle.sign('HMAC', hmacKey, utf8Bytes('Server Key')),
  ]);
  const storedKey = await subtle.digest('SHA-256', clientKey);
  return { storedKey: new Uint8Array(storedKey), serverKey: new Uint8Array(serverKey) };
}

/** True when `value` has the shape of a Postgres SCRAM-SHA-256 verifier. */
export function isScramVerifier(value: unknown): value is string {
  return (
    typeof value === 'string' && /^SCRAM-SHA-256\$[1-9][0-9]*:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/.test(value)
  );
}
