/**
 * The workload exchange routes: credentials as JSON, or the connection URI
 * alone as text, for `k8s` service-account tokens and other `oidc` tokens.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { issueCredentials } from '../../leases/issue.js';
import type { AppEnv } from '../env.js';
import { Credentials, DatabaseParams, ExchangeQuery, Problem } from '../schemas.js';

const problems = {
  400: { description: 'Bad query parameter', content: { 'application/problem+json': { schema: Problem } } },
  401: { description: 'Token not accepted', content: { 'application/problem+json': { schema: Problem } } },
  403: { description: 'Identity not allowed', content: { 'application/problem+json': { schema: Problem } } },
  429: { description: 'Lease cap reached for this workload', content: { 'application/problem+json': { schema: Problem } } },
  503: {
    description: "The issuer's keys cannot be fetched, or the token's key is not fetched yet (retry after Retry-After); or the target is unavailable",
    content: { 'application/problem+json': { schema: Problem } },
  },
} as const;

const KindParams = DatabaseParams.extend({ kind: z.enum(['k8s', 'oidc']).openapi({ param: { name: 'kind', in: 'path' } }) });

const credentialsRoute = createRoute({
  method: 'get',
  path: '/api/v1/databases/{db}/credentials/{kind}',
  summary: 'Exchange a workload token for a fresh Postgres login',
  security: [{ workloadToken: [] }],
  request: { params: KindParams, query: ExchangeQuery },
  responses: {
    200: { description: 'A new login role, shown once', content: { 'application/json': { schema: Credentials } } },
    ...problems,
  },
});

const connectRoute = createRoute({
  method: 'get',
  path: '/api/v1/databases/{db}/connect/{kind}',
  summary: 'Exchange a workload token for a connection URI (text/plain)',
  security: [{ workloadToken: [] }],
  request: { params: KindParams, query: ExchangeQuery },
  responses: {
    200: { description: 'postgresql:// URI of a new login role', content: { 'text/plain': { schema: z.string() } } },
    ...problems,
  },
});

export function exchangeRoutes(app: OpenAPIHono<AppEnv>, deps: Deps) {
  const exchange = async (c: Parameters<Parameters<typeof app.openapi<typeof credentialsRoute>>[1]>[0]) => {
    const { db, kind } = c.req.valid('param');
    const { role, ttl } = c.req.valid('query');
    return issueCredentials(deps, {
      databaseId: db,
      kind,
      authorization: c.req.header('authorization'),
      role,
      ttl,
      requestId: c.get('requestId'),
    });
  };
  app.openapi(credentialsRoute, async (c) => {
    const creds = await exchange(c);
    c.header('cache-control', 'no-store');
    return c.json(creds, 200);
  });
  app.openapi(connectRoute, async (c) => {
    const creds = await exchange(c as never);
    c.header('cache-control', 'no-store');
    return c.text(creds.connection_uri, 200);
  });
}
