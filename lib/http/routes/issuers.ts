/**
 * Trusted token issuers of a database: trust one (discovery and a key fetch
 * are tried and reported), list, show, stop trusting. Mounted at
 * /api/v1/databases/{db}/issuers.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { PgmintError } from '../../errors.js';
import { trustIssuer } from '../../registry/issuers.js';
import { removeIssuer } from '../../registry/removal.js';
import { adminErrorsWith404 as errors, adminSecurity as security, bodyErrors, deleted, json, jsonBody } from '../describe.js';
import type { AdminEnv } from '../env.js';
import { guardRoutes, requireScope } from '../guard.js';
import { jsonOnly } from '../media-type.js';
import { DatabaseParams } from '../schemas/common.js';
import { Issuer, IssuerInput, IssuerList, IssuerParams, issuerTrust, presentIssuer, RegisteredIssuer } from '../schemas/issuers.js';
import { subApp } from '../validation.js';

export function issuerRoutes(deps: Deps) {
  const app = subApp<AdminEnv>();
  guardRoutes(app, requireScope(deps, { GET: 'databases:read', POST: 'issuers:write', DELETE: 'issuers:write' }));

  const trust = createRoute({
    method: 'post',
    path: '/',
    summary: 'Trust a token issuer for this database',
    security,
    middleware: [jsonOnly] as const,
    request: { params: DatabaseParams, ...jsonBody(IssuerInput) },
    responses: { 201: json(RegisteredIssuer, 'Issuer trusted, with what discovery found'), ...errors, ...bodyErrors },
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

  const list = createRoute({
    method: 'get',
    path: '/',
    summary: 'List trusted issuers',
    security,
    request: { params: DatabaseParams },
    responses: { 200: json(IssuerList, 'Issuers'), ...errors },
  });
  app.openapi(list, async (c) => {
    const { db } = c.req.valid('param');
    if (!(await deps.store.databases.get(db))) throw new PgmintError('database_not_found', 'no such database');
    return c.json({ issuers: (await deps.store.issuers.list(db)).map(presentIssuer) }, 200);
  });

  const show = createRoute({
    method: 'get',
    path: '/{id}',
    summary: 'Show a trusted issuer',
    security,
    request: { params: IssuerParams },
    responses: { 200: json(Issuer, 'Issuer'), ...errors },
  });
  app.openapi(show, async (c) => {
    const { db, id } = c.req.valid('param');
    const issuer = await deps.store.issuers.get(db, id);
    if (!issuer) throw new PgmintError('not_found', 'no such issuer');
    return c.json(presentIssuer(issuer), 200);
  });

  const remove = createRoute({
    method: 'delete',
    path: '/{id}',
    summary: 'Stop trusting an issuer (its workloads can no longer exchange, renew or revoke)',
    security,
    request: { params: IssuerParams },
    responses: { ...deleted, ...errors },
  });
  app.openapi(remove, async (c) => {
    const { db, id } = c.req.valid('param');
    await removeIssuer(deps, db, id, { admin: c.get('admin').name, requestId: c.get('requestId') });
    return c.body(null, 204);
  });
  return app;
}
