/**
 * The domain's side of a bearer token: the HTTP edge reads it from the
 * request (lib/http/bearer.ts) and hands on a token or nothing; nothing is
 * refused here, so every caller refuses it with the same words.
 *
 * @example
 *   const token = requireBearer(request.token);
 */
import { PgmintError } from '../errors.js';

export function requireBearer(token: string | undefined): string {
  if (token === undefined) throw new PgmintError('unauthorized', 'an Authorization: Bearer header is required');
  return token;
}
