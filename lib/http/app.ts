/**
 * The pgmint HTTP API as one Hono app, the same on Lambda, edge runtimes and
 * `npm start`: request ids, the body limit, problems for every error, and the
 * resource sub-apps mounted under /api/v1. Entry points build `Deps` and call
 * `createApp(deps)`.
 *
 * @example
 *   const app = createApp(deps);
 *   const res = await app.request('/healthz');
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { swaggerUI } from '@hono/swagger-ui';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import type { AppEnv } from './env.js';
import { problemResponse, toPgmintError } from './problem.js';
import { adminTokenRoutes } from './routes/admin-tokens.js';
import { databaseRoutes } from './routes/databases.js';
import { exchangeRoutes } from './routes/exchange.js';
import { issuerRoutes } from './routes/issuers.js';
import { databaseLeaseRoutes, leaseRoutes } from './routes/leases.js';
import { databaseOperationRoutes, operationRoutes } from './routes/operations.js';
import { roleRoutes } from './routes/roles.js';
import { fromHttpException } from './validation.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_BODY_BYTES = 256 * 1024;

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

export function createApp(deps: Deps) {
  const app = new OpenAPIHono<AppEnv>();

  app.use('*', async (c, next) => {
    c.set('requestId', crypto.randomUUID());
    await next();
    c.header('x-request-id', c.get('requestId'));
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
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
    await deps.store.ping();
    return c.json({ status: 'ok' });
  });

  app.route('/api/v1/databases/:db', exchangeRoutes(deps));
  app.route('/api/v1/databases', databaseRoutes(deps));
  app.route('/api/v1/databases/:db/roles', roleRoutes(deps));
  app.route('/api/v1/databases/:db/issuers', issuerRoutes(deps));
  app.route('/api/v1/databases/:db/leases', databaseLeaseRoutes(deps));
  app.route('/api/v1/databases/:db', databaseOperationRoutes(deps));
  app.route('/api/v1/leases', leaseRoutes(deps));
  app.route('/api/v1/admin-tokens', adminTokenRoutes(deps));
  app.route('/api/v1', operationRoutes(deps));

  app.openAPIRegistry.registerComponent('securitySchemes', 'workloadToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A Kubernetes service-account token or another OIDC token the database trusts',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'adminToken', { type: 'http', scheme: 'bearer', description: 'An admin token' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'pgmint',
      version: '0.1.0',
      description: 'Short-lived PostgreSQL logins for workloads that prove who they are with an OIDC token.',
    },
  });
  app.get('/docs', swaggerUI({ url: '/openapi.json' }));
  return app;
}

export type App = ReturnType<typeof createApp>;
