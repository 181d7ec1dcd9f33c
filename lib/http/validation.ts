/**
 * Input refusals as problems with a code: zod issues name the first
 * offending field, every accepted value passes the storable check before any
 * of it reaches SQL, and Hono's own refusals (a body that is not JSON, too
 * large) keep their meaning.
 *
 * @example
 *   const routes = subApp<AdminEnv>();
 */
import { type Hook, OpenAPIHono } from '@hono/zod-openapi';
import type { HTTPException } from 'hono/http-exception';
import { findUnstorable } from '../db/storable.js';
import { PgmintError, toPgmintError } from '../errors.js';
import type { AppEnv } from './env.js';
import { problemResponse } from './problem.js';

type Issue = { path: PropertyKey[]; message: string; keys?: string[] };

/** Names a field, e.g. `allowed_service_accounts.0`; an unknown key is named by the key itself, not by the object holding it. */
function fieldOf(issue: Issue, target: string): string {
  const unknownKey = issue.keys?.[0] !== undefined ? [issue.keys[0].replace(/[\u0000\uD800-\uDFFF]/g, '\uFFFD')] : [];
  return [...issue.path.map(String), ...unknownKey].join('.') || target;
}

export function validationError(issues: readonly Issue[], target: string): PgmintError {
  const first = issues[0];
  const field = first ? fieldOf(first, target) : target;
  return new PgmintError('invalid_request', `${field}: ${first?.message ?? 'invalid'}`, {
    details: { field, errors: issues.slice(0, 10).map((i) => ({ field: fieldOf(i, target), message: i.message })) },
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the hook serves every route's input and output types
type AnyRouteHook<E extends AppEnv> = Hook<any, E, any, any>;

export const validationHook =
  <E extends AppEnv>(): AnyRouteHook<E> =>
  (result, c) => {
    if (!result.success) return problemResponse(validationError(result.error.issues, result.target), c.get('requestId'));
    // Every value a route accepts passes this one check before any of it reaches SQL.
    const unstorable = findUnstorable(result.data);
    if (unstorable) {
      const issue = { path: unstorable.path ? unstorable.path.split('.') : [], message: unstorable.reason };
      return problemResponse(validationError([issue], result.target), c.get('requestId'));
    }
  };

/** A sub-app whose routes refuse input with the same problems as every other. */
export const subApp = <E extends AppEnv = AppEnv>() => new OpenAPIHono<E>({ defaultHook: validationHook<E>() });

/** Hono's own refusals (a body that is not JSON) as problems with a code. */
export function fromHttpException(err: HTTPException): PgmintError {
  if (err.status === 413) return new PgmintError('payload_too_large', 'request body is larger than 256 KiB');
  if (err.status === 415) return new PgmintError('unsupported_media_type', err.message);
  if (err.status < 500) return new PgmintError('invalid_request', `body: ${err.message || 'not valid'}`, { details: { field: 'body' } });
  return toPgmintError(err);
}
