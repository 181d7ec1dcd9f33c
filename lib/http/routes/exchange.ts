/**
 * The workload exchange: credentials as JSON, or the connection URI alone as
 * text, for `k8s` service-account tokens and other `oidc` tokens. Mounted at
 * /api/v1/databases/{db}.
 */
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../../deps.js';
import { issueCredentials, recordRefusal } from '../../leases/issue.js';
import { takeBearer } from '../bearer.js';
import { ok, problem, routeFamily, workloadSecurity } from '../describe.js';
import type { AppEnv } from '../env.js';
import { guardRoutes } from '../guard.js';
import { slug } from '../schemas/common.js';
import { Credentials, ExchangeQuery, KindParams, presentCredentials } from '../schemas/exchange.js';
import { subApp } from '../validation.js';

const ACTION = 'credentials.issue';

const route = routeFamily(workloadSecurity, {
  400: problem('Bad query parameter'),
  401: problem('Token not accepted'),
  403: problem('Identity not allowed'),
  429: problem('Lease cap reached for this workload'),
  503: problem(
    "The issuer's keys cannot be fetched, or the token's key is not fetched yet (retry after Retry-After); " +
      'or the target is unavailable',
  ),
});
const asked = { params: KindParams, query: ExchangeQuery };

const credentialsRoute = route.get(
  '/credentials/{kind}',
  'Exchange a workload token for a fresh Postgres login',
  asked,
  ok(Credentials, 'A new login role, shown once'),
);
const connectRoute = route.get('/connect/{kind}', 'Exchange a workload token for a connection URI (text/plain)', asked, {
  200: { description: 'postgresql:// URI of a new login role', content: { 'text/plain': { schema: z.string() } } },
});

export function exchangeRoutes(deps: Deps) {
  const app = subApp();
  // A header that cannot even be read is refused, and audited like every other refusal of an exchange.
  guardRoutes(app, async (c) => {
    try {
      takeBearer(c);
    } catch (err) {
      const db = c.req.param('db');
      await recordRefusal(deps, { databaseId: db && slug.safeParse(db).success ? db : null, requestId: c.get('requestId') }, ACTION, err);
      throw err;
    }
  });

  /** The credentials are a secret: no cache keeps them. */
  const exchange = async (c: Context<AppEnv>, params: z.output<typeof KindParams>, query: z.output<typeof ExchangeQuery>) => {
    const request = { databaseId: params.db, kind: params.kind, token: c.get('token'), ...query, requestId: c.get('requestId') };
    const credentials = await issueCredentials(deps, request);
    c.header('cache-control', 'no-store');
    return credentials;
  };
  app.openapi(credentialsRoute, async (c) =>
    c.json(presentCredentials(await exchange(c, c.req.valid('param'), c.req.valid('query'))), 200),
  );
  app.openapi(connectRoute, async (c) => c.text((await exchange(c, c.req.valid('param'), c.req.valid('query'))).connectionUri, 200));
  return app;
}
