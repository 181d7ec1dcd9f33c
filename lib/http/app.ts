/**
 * The pgmint HTTP API as one Hono app, the same on Lambda, edge runtimes and
 * `npm start`. Entry points build `Deps` and call `createApp(deps)`.
 *
 * @example
 *   const app = createApp(deps);
 *   const res = await app.request('/healthz');
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { findUnstorable } from '../db/storable.js';
import type { Deps } from '../context.js';
import { PgmintError } from '../errors.js';
import type { AppEnv } from './env.js';
import { problemResponse, toPgmintError } from './problem.js';
import { adminTokenRoutes } from './routes/admin-tokens.js';
import { exchangeRoutes } from './routes/exchange.js';
import { leaseRoutes } from './routes/leases.js';
import { operationsRoutes } from './routes/operations.js';
import { registryRoutes } from './routes/registry.js';
import { removalRoutes } from './routes/removals.js';
import { rotationRoutes } from './routes/rotation.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The methods routed for `path`, for a 405's Allow header. */
function allowedMethods(routes: ReadonlyArray<{ method: string; path: string }>, path: string): string[] {
  const methods = new Set<string>();
  for (const r of routes) {
    if (r.method === 'ALL' || r.path.includes('*')) continue;
    const pattern = new RegExp(`^${r.path.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[^/]+/g, '[^/]+')}/?$`);
    if (pattern.test(path)) methods.add(r.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/** Hono's own refusals (a body that is not JSON) as problems with a code. */
function fromHttpException(err: HTTPException): PgmintError {
  if (err.status === 413) return new PgmintError('payload_too_large', 'request body is larger than 256 KiB');
  if (err.status === 415) return new PgmintError('unsupported_media_type', err.message);
  if (err.status < 500) return new PgmintError('invalid_request', `body: ${err.message || 'not valid'}`, { details: { field: 'body' } });
  return toPgmintError(err);
}

export type RouteModule = (app: OpenAPIHono<AppEnv>, deps: Deps) => void;

/** Names the first offending field, e.g. `allowed_service_accounts.0`. */
function validationError(issues: ReadonlyArray<{ path: PropertyKey[]; message: string; keys?: string[] }>, target: string): PgmintError {
  // An unknown key is named by the key itself, not by the object holding it.
  const fieldOf = (i: (typeof issues)[number]) => [...i.path.map(String), ...(i.keys?.[0] !== undefined ? [i.keys[0].replace(/[\u0000\uD800-\uDFFF]/g, '\uFFFD')] : [])].join('.') || target;
  const first = issues[0];
  const field = first ? fieldOf(first) : target;
  return new PgmintError('invalid_request', `${field}: ${first?.message ?? 'invalid'}`, {
    details: { field, errors: issues.slice(0, 10).map((i) => ({ field: fieldOf(i), message: i.message })) },
  });
}

export function createApp(deps: Deps, extraRoutes: RouteModule[] = []) {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return problemResponse(validationError(result.error.issues, result.target), c.get('requestId'));
      }
      // Every value a route accepts passes this one check before any of it reaches SQL.
      const unstorable = findUnstorable(result.data);
      if (unstorable) {
        return problemResponse(validationError([{ path: unstorable.path ? unstorable.path.split('.') : [], message: unstorable.reason }], result.target), c.get('requestId'));
      }
    },
  });

  app.use('*', async (c, next) => {
    c.set('requestId', crypto.randomUUID());
    await next();
    c.header('x-request-id', c.get('requestId'));
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: 256 * 1024,
      onError: () => {
        throw new PgmintError('payload_too_large', 'request body is larger than 256 KiB');
      },
    }),
  );

  app.onError((err, c) => {
    const error = err instanceof HTTPException ? fromHttpException(err) : toPgmintError(err);
    if (error.code === 'internal') console.error(JSON.stringify({ level: 'error', request_id: c.get('requestId'), error: String(err) }));
    return problemResponse(error, c.get('requestId') ?? crypto.randomUUID());
  });
  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = allowedMethods(app.routes, path);
    if (allowed.length > 0 || !KNOWN_METHODS.has(c.req.method)) {
      const error = new PgmintError('method_not_allowed', `${c.req.method} is not allowed here`, { details: { allow: allowed } });
      return problemResponse(error, c.get('requestId'));
    }
    return problemResponse(new PgmintError('not_found', `no route for ${c.req.method} ${path}`), c.get('requestId'));
  });

  app.get('/healthz', async (c) => {
    await deps.sql.query('SELECT 1');
    return c.json({ status: 'ok' });
  });

  exchangeRoutes(app, deps);
  registryRoutes(app, deps);
  removalRoutes(app, deps);
  leaseRoutes(app, deps);
  operationsRoutes(app, deps);
  adminTokenRoutes(app, deps);
  rotationRoutes(app, deps);
  for (const routes of extraRoutes) routes(app, deps);

  app.openAPIRegistry.registerComponent('securitySchemes', 'workloadToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A Kubernetes service-account token or another OIDC token the database trusts',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', { type: 'http', scheme: 'bearer', description: 'An admin token' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'pgmint', version: '0.1.0', description: 'Short-lived PostgreSQL logins for workloads that prove who they are with an OIDC token.' },
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));
  return app;
}

export type App = ReturnType<typeof createApp>;
