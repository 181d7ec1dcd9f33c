/**
 * Shorthands for route descriptions, so every route documents its bodies,
 * security and problems the same way in /openapi.json.
 *
 * @example
 *   responses: { 200: json(Role, 'Role saved'), ...adminErrors }
 */
import { createRoute, type RouteConfig, type z } from '@hono/zod-openapi';
import { jsonOnly } from './media-type.js';
import { Problem } from './schemas/common.js';

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
export const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Problem } } });
const jsonBody = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true });
/** Routes with a JSON body (and the `jsonOnly` middleware) refuse other media types. */
export const bodyErrors = { 413: problem('Body larger than 256 KiB'), 415: problem('Body is not sent as application/json') };

/** A JSON body, beside path parameters when given; anything but JSON is refused before it is read. */
export const jsonInput = <T extends z.ZodType, const P extends object = object>(schema: T, params?: P) => ({
  middleware: jsonOnly,
  request: { ...(params as P), body: jsonBody(schema) },
});
export const deleted = { 204: { description: 'Deleted' } };

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

/** Routes of admin sub-apps: the admin security scheme, and `errors` under each route's own responses. */
export const adminRoutes =
  <const E extends Responses>(errors: E) =>
  <const R extends Omit<RouteConfig, 'security'>>(config: R) =>
    createRoute({ ...config, security: adminSecurity, responses: { ...errors, ...config.responses } });
