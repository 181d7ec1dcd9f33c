/**
 * Reads the token out of an `Authorization: Bearer …` header, refusing an
 * oversized header before anything parses it.
 *
 * @example
 *   const token = bearerToken(request.headers.get('authorization') ?? undefined);
 */
import { PgmintError } from '../errors.js';
import { DEFAULT_MAX_TOKEN_BYTES } from './types.js';

export function bearerToken(header: string | undefined): string {
  if (!header) throw new PgmintError('unauthorized', 'an Authorization: Bearer header is required');
  if (header.length > DEFAULT_MAX_TOKEN_BYTES + 7) throw new PgmintError('invalid_token', 'token is larger than 16 KiB');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw new PgmintError('unauthorized', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}
