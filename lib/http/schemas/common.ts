/**
 * Building blocks shared by the resource schemas: names, durations, instants,
 * path and query parameters, and the problem document. The same zod objects
 * validate requests and generate /openapi.json, so the document cannot drift.
 *
 * @example
 *   export const RoleParams = DatabaseParams.extend({ name: slug.openapi(pathParam('name')) });
 */
import { z } from '@hono/zod-openapi';
import { instantProblem } from '../../db/storable.js';
import { parseDuration } from '../../leases/ttl.js';

export const slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, _ and -, at most 63 characters');

/** Postgres role names as pgmint accepts them from configuration. */
export const roleName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[^\0]+$/, 'must not contain NUL');

export const pathParam = (name: string) => ({ param: { name, in: 'path' as const } });
export const queryParam = (name: string) => ({ param: { name, in: 'query' as const } });

/** A lease lifetime asked for in the query: seconds or a duration (90s, 15m, 1h), parsed by the domain. */
export const ttlQuery = (example: string, description: string) =>
  z
    .string()
    .max(16)
    .optional()
    .openapi({ ...queryParam('ttl'), example, description });

export const limit = z.coerce.number().int().min(1).max(1000);

/** Ten years: longer than any lease or rotation period, and within Postgres's integer. */
const MAX_DURATION_SEC = 315_360_000;

export const duration = z
  .union([z.number().int().positive().max(MAX_DURATION_SEC), z.string().max(16)])
  .transform((v, ctx) => {
    const seconds = typeof v === 'number' ? v : parseDuration(v);
    if (seconds === null || seconds < 1 || seconds > MAX_DURATION_SEC) {
      ctx.addIssue({ code: 'custom', message: `a number of seconds (1 to ${MAX_DURATION_SEC}) or a duration such as 15m or 1h` });
      return z.NEVER;
    }
    return seconds;
  })
  .openapi({
    oneOf: [
      { type: 'integer', minimum: 1, maximum: MAX_DURATION_SEC },
      { type: 'string', pattern: '^(?:\\d{1,6}|(?:\\d{1,3}h)?(?:\\d{1,4}m)?(?:\\d{1,6}s)?)$', maxLength: 16 },
    ],
    example: '1h',
  });

/** RFC 3339, any offset Date understands; handed on in UTC so Postgres never sees an offset it refuses (beyond ±15:59). */
export const instant = z
  .string()
  .datetime({ offset: true, message: 'an RFC 3339 date-time such as 2026-04-12T16:30:00Z' })
  .transform((v, ctx) => {
    const ms = Date.parse(v);
    const problem = instantProblem(ms);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  })
  .openapi({ type: 'string', format: 'date-time', description: 'RFC 3339, years 0001 to 9999 once in UTC' });

/** An instant as pgmint answers it: RFC 3339 in UTC. */
export const timestamp = z.string().openapi({ format: 'date-time', example: '2026-04-12T16:30:00Z' });

export const DatabaseParams = z.object({ db: slug.openapi(pathParam('db')) });
export const IdParams = z.object({ id: z.string().uuid().openapi(pathParam('id')) });

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string().optional(),
    code: z.string(),
    request_id: z.string(),
  })
  .openapi('Problem');
