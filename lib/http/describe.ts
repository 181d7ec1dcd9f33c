/**
 * Route descriptions, one line each, so every route documents its bodies,
 * security and problems the same way in /openapi.json.
 *
 * @example
 *   const route = routeFamily(adminSecurity, adminErrorsWith404);
 *   const show = route.get('/{name}', 'Show a role definition', { params: RoleParams }, ok(Role, 'Role'));
 */
import { createRoute, type RouteConfig, type z } from '@hono/zod-openapi';
import { jsonOnly } from './media-type.js';
import { Problem } from './schemas/common.js';

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
export const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });
/** Problems a route answers beyond its family's, by status. */
type Problems = Record<number, string>;
const problems = (more: Problems) => Object.fromEntries(Object.entries(more).map(([status, text]) => [status, problem(text)]));

export const ok = <T extends z.ZodType>(schema: T, description: string, more: Problems = {}) => ({
  200: json(schema, description),
  ...problems(more),
});
export const created = <T extends z.ZodType>(schema: T, description: string) => ({ 201: json(schema, description) });
export const deleted = (description = 'Deleted', more: Problems = {}) => ({ 204: { description }, ...problems(more) });

const jsonBody = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });
const bodyErrors = { 413: problem('Body larger than 256 KiB'), 415: problem('Body is not sent as application/json') };

export const adminSecurity = [{ adminToken: [] }];
export const workloadSecurity = [{ workloadToken: [] }];
/** The workload holding the lease, or an admin. */
export const holderOrAdminSecurity: Array<Record<string, string[]>> = [{ workloadToken: [] }, { adminToken: [] }];

const UNAVAILABLE = 'A database is not answering; retry after Retry-After seconds';
export const adminErrors = {
  400: problem('Invalid input'),
  401: problem('No admin token'),
  403: problem('Missing scope'),
  503: problem(UNAVAILABLE),
};
export const adminErrorsWith404 = { ...adminErrors, 404: problem('Not found') };
export const leaseErrors = {
  400: problem('Invalid input'),
  401: problem('No or unknown token'),
  403: problem('Another workload, or a missing scope'),
  404: problem('No such lease (told to admins only) or database'),
  503: problem(UNAVAILABLE),
};

type Responses = RouteConfig['responses'];
type Input = Omit<NonNullable<RouteConfig['request']>, 'body'> & { body?: z.ZodType };
/** The route's request as zod-openapi wants it: a `body` schema becomes a required JSON body. */
type RequestOf<I extends Input> = Omit<I, 'body'> &
  (I['body'] extends z.ZodType ? { body: { content: { 'application/json': { schema: I['body'] } }; required: true } } : object);

/**
 * The routes of one family, by method: each gets the family's security and
 * `errors` under its own responses. One that takes a JSON body also refuses
 * other media types before reading it (media-type.ts) and documents 413 and 415.
 */
export function routeFamily<const E extends Responses>(security: Array<Record<string, string[]>>, errors: E) {
  const describe =
    <const M extends 'get' | 'post' | 'put' | 'delete'>(method: M) =>
    <const P extends string, const I extends Input, const R extends Responses>(path: P, summary: string, input: I, responses: R) => {
      const { body, ...rest } = input;
      const request = (body ? { ...rest, body: jsonBody(body) } : rest) as RequestOf<I>;
      return createRoute({
        method,
        path,
        summary,
        security,
        request,
        ...(body ? { middleware: jsonOnly } : {}),
        responses: { ...errors, ...(body ? bodyErrors : {}), ...responses },
      });
    };
  return { get: describe('get'), post: describe('post'), put: describe('put'), delete: describe('delete') };
}
