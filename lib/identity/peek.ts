/**
 * Reads a token's `iss` without trusting it, so the caller can find which
 * registered issuer to verify against. Nothing read here is authenticated.
 *
 * @example
 *   const iss = peekIssuer(bearer); // 'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC'
 */
import { decodeJwt } from 'jose';
import { findUnstorable } from '../db/storable.js';
import { PgmintError } from '../errors.js';
import { DEFAULT_MAX_TOKEN_BYTES } from './types.js';

/** Three base64url segments; the signature may be empty only to be refused later. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Refuses anything that is not a compact JWS of reasonable size, before any
 * parsing. The token never appears in the error.
 */
export function assertCompactJws(token: unknown, maxBytes: number = DEFAULT_MAX_TOKEN_BYTES): asserts token is string {
  if (typeof token !== 'string' || token.length === 0) {
    throw new PgmintError('invalid_token', 'token missing');
  }
  // The pattern admits ASCII only, so length in characters is length in bytes.
  if (token.length > maxBytes) {
    throw new PgmintError('invalid_token', 'token too large');
  }
  if (!COMPACT_JWS.test(token)) {
    throw new PgmintError('invalid_token', 'token is not a compact JWS');
  }
}

export function peekIssuer(token: string, maxBytes: number = DEFAULT_MAX_TOKEN_BYTES): string {
  assertCompactJws(token, maxBytes);
  let payload: ReturnType<typeof decodeJwt>;
  try {
    payload = decodeJwt(token);
  } catch (cause) {
    throw new PgmintError('invalid_token', 'token payload is not a JSON object', { cause });
  }
  // Claims reach the control plane (issuer look-up, audit rows) before the signature is checked.
  const unstorable = findUnstorable(payload);
  if (unstorable) throw new PgmintError('invalid_token', `token claim ${unstorable.path || '(payload)'} ${unstorable.reason}`);
  const iss = payload.iss;
  if (typeof iss !== 'string' || iss.length === 0) {
    throw new PgmintError('invalid_token', 'token has no issuer');
  }
  return iss;
}
