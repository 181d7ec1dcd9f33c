/**
 * Trusted token issuers of a database: trust one (discovery and a key fetch
 * are tried and reported), list, show, stop trusting. Mounted at
 * /api/v1/databases/{db}/issuers.
 */
import type { Deps } from '../../deps.js';
import { registeredDatabase } from '../../registry/lookup.js';
import { PgmintError } from '../../errors.js';
import { trustIssuer } from '../../registry/issuers.js';
import { removeIssuer } from '../../registry/removal.js';
import { adminErrorsWith404, adminRoutes, bodyErrors, deleted, json, jsonInput } from '../describe.js';
import { adminApp, adminRequest } from '../guard.js';
import { DatabaseParams } from '../schemas/common.js';
import { Issuer, IssuerInput, IssuerList, IssuerParams, issuerTrust, presentIssuer, RegisteredIssuer } from '../schemas/issuers.js';

const adminRoute = adminRoutes(adminErrorsWith404);

export function issuerRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', POST: 'issuers:write', DELETE: 'issuers:write' });

  const trust = adminRoute({
    method: 'post',
    path: '/',
    summary: 'Trust a token issuer for this database',
    ...jsonInput(IssuerInput, { params: DatabaseParams }),
    responses: { 201: json(RegisteredIssuer, 'Issuer trusted, with what discovery found'), ...bodyErrors },
  });
  app.openapi(trust, async (c) => {
    const { db } = c.req.valid('param');
    const { issuer, discovery } = await trustIssuer(deps, db, issuerTrust(c.req.valid('json'), deps.settings.audience));
    await deps.store.audit.append({
      action: 'issuer.trust',
      outcome: 'success',
      databaseId: db,
      issuer: issuer.issuer,
      requestId: c.get('requestId'),
      subject: c.get('admin').name,
      detail: discovery ? { discovery } : {},
    });
    return c.json({ ...presentIssuer(issuer), discovery }, 201);
  });

  const list = adminRoute({
    method: 'get',
    path: '/',
    summary: 'List trusted issuers',
    request: { params: DatabaseParams },
    responses: { 200: json(IssuerList, 'Issuers') },
  });
  app.openapi(list, async (c) => {
    const { db } = c.req.valid('param');
    await registeredDatabase(deps, db);
    return c.json({ issuers: (await deps.store.issuers.list(db)).map(presentIssuer) }, 200);
  });

  const show = adminRoute({
    method: 'get',
    path: '/{id}',
    summary: 'Show a trusted issuer',
    request: { params: IssuerParams },
    responses: { 200: json(Issuer, 'Issuer') },
  });
  app.openapi(show, async (c) => {
    const { db, id } = c.req.valid('param');
    const issuer = await deps.store.issuers.get(db, id);
    if (!issuer) throw new PgmintError('not_found', 'no such issuer');
    return c.json(presentIssuer(issuer), 200);
  });

  const remove = adminRoute({
    method: 'delete',
    path: '/{id}',
    summary: 'Stop trusting an issuer (its workloads can no longer exchange, renew or revoke)',
    request: { params: IssuerParams },
    responses: { ...deleted },
  });
  app.openapi(remove, async (c) => {
    const { db, id } = c.req.valid('param');
    await removeIssuer(deps, db, id, adminRequest(c));
    return c.body(null, 204);
  });
  return app;
}
