/**
 * Trusted token issuers of a database: trust one (discovery and a key fetch
 * are tried and reported), list, show, stop trusting. Mounted at
 * /api/v1/databases/{db}/issuers.
 */
import type { Deps } from '../../deps.js';
import { trustIssuer } from '../../registry/issuers.js';
import { issuersOf, registeredIssuer } from '../../registry/lookup.js';
import { removeIssuer } from '../../registry/removal.js';
import { adminErrorsWith404, adminSecurity, created, deleted, ok, routeFamily } from '../describe.js';
import { adminApp, adminRequest } from '../guard.js';
import { DatabaseParams } from '../schemas/common.js';
import { Issuer, IssuerInput, IssuerList, IssuerParams, issuerTrust, presentIssuer, RegisteredIssuer } from '../schemas/issuers.js';

const route = routeFamily(adminSecurity, adminErrorsWith404);

const trust = route.post('/', 'Trust a token issuer', { params: DatabaseParams, body: IssuerInput }, created(RegisteredIssuer, 'Trusted'));
const list = route.get('/', 'List trusted issuers', { params: DatabaseParams }, ok(IssuerList, 'Issuers'));
const show = route.get('/{id}', 'Show a trusted issuer', { params: IssuerParams }, ok(Issuer, 'Issuer'));
const remove = route.delete('/{id}', 'Stop trusting an issuer', { params: IssuerParams }, deleted('Its workloads get no more logins'));

export function issuerRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', POST: 'issuers:write', DELETE: 'issuers:write' });
  app.openapi(trust, async (c) => {
    const input = issuerTrust(c.req.valid('json'), deps.settings.audience);
    const { issuer, discovery } = await trustIssuer(deps, c.req.valid('param').db, input, adminRequest(c));
    return c.json({ ...presentIssuer(issuer), discovery }, 201);
  });
  app.openapi(list, async (c) => c.json({ issuers: (await issuersOf(deps, c.req.valid('param').db)).map(presentIssuer) }, 200));
  app.openapi(show, async (c) => {
    const { db, id } = c.req.valid('param');
    return c.json(presentIssuer(await registeredIssuer(deps, db, id)), 200);
  });
  app.openapi(remove, async (c) => {
    const { db, id } = c.req.valid('param');
    await removeIssuer(deps, db, id, adminRequest(c));
    return c.body(null, 204);
  });
  return app;
}
