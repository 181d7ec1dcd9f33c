/**
 * Takes the bearer token from the Authorization header, as Hono's
 * bearer-auth middleware does, and leaves deciding what it is worth to the
 * domain: a route hands on a token or nothing. A header that is present but
 * malformed or oversized is refused here, before anything parses it.
 *
 * @example
 *   guardRoutes(leases, async (c) => void requireBearer(takeBearer(c)));
 */
import type { Context } from 'hono';
import { PgmintError } from '../errors.js';
import { DEFAULT_MAX_TOKEN_BYTES } from '../identity/types.js';
import type { AppEnv } from './env.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function bearerFromHeader(header: string | undefined): string | undefined {
  if (!header) return undefined;
  if (header.length > DEFAULT_MAX_TOKEN_BYTES + 'Bearer '.length) throw new PgmintError('invalid_token', 'token is larger than 16 KiB');
  const token = BEARER.exec(header)?.[1];
  if (!token) throw new PgmintError('unauthorized', 'the Authorization header must be "Bearer <token>"');
  return token;
}

/** Reads the request's bearer token into `c.var.token` and returns it. */
export function takeBearer<E extends AppEnv>(c: Context<E>): string | undefined {
  const token = bearerFromHeader(c.req.header('authorization'));
  c.set('token', token);
  return token;
}
