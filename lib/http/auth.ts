/**
 * Bearer tokens: reading them, and checking admin tokens in constant time.
 *
 * @example
 *   const token = bearerToken(c.req.header('authorization'));
 */
import { PgmintError } from '../errors.js';

/** Tokens larger than this are refused before any parsing. */
export const MAX_TOKEN_BYTES = 16 * 1024;

export function bearerToken(header: string | undefined): string {
  if (!header) throw new PgmintError('unauthorized', 'an Authorization: Bearer header is required');
  if (header.length > MAX_TOKEN_BYTES + 7) throw new PgmintError('invalid_token', 'token is larger than 16 KiB');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new PgmintError('unauthorized', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/** Compares digests so neither length nor content leaks through timing. */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(a), sha256(b)]);
  let diff = 0;
  for (let i = 0; i < da.length; i++) diff |= da[i]! ^ db[i]!;
  return diff === 0;
}

export async function tokenHash(token: string): Promise<string> {
  return Array.from(await sha256(token), (b) => b.toString(16).padStart(2, '0')).join('');
}
