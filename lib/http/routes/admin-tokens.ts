/**
 * Admin tokens beyond the bootstrap one: mint (the secret is in that answer
 * only), list without secrets, revoke. Mounted at /api/v1/admin-tokens.
 */
import { mintAdminToken, revokeAdminToken } from '../../admin/index.js';
import type { Deps } from '../../deps.js';
import { adminErrors, adminRoutes, bodyErrors, json, jsonInput, problem } from '../describe.js';
import { adminApp } from '../guard.js';
import { AdminToken, AdminTokenInput, AdminTokenList, NewAdminToken, presentAdminToken, TokenIdParams } from '../schemas/admin-tokens.js';

const adminRoute = adminRoutes(adminErrors);

export function adminTokenRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'tokens:write', POST: 'tokens:write', DELETE: 'tokens:write' });

  const mint = adminRoute({
    method: 'post',
    path: '/',
    summary: 'Create an admin token; the secret is in this answer only',
    ...jsonInput(AdminTokenInput),
    responses: { 201: json(NewAdminToken, 'Created'), ...bodyErrors },
  });
  app.openapi(mint, async (c) => {
    const { record, token } = await mintAdminToken(deps, c.get('admin'), { ...c.req.valid('json'), requestId: c.get('requestId') });
    c.header('cache-control', 'no-store');
    return c.json({ ...presentAdminToken(record), token }, 201);
  });

  const list = adminRoute({
    method: 'get',
    path: '/',
    summary: 'List admin tokens (never their secrets)',
    responses: { 200: json(AdminTokenList, 'Tokens') },
  });
  app.openapi(list, async (c) => c.json({ tokens: (await deps.store.adminTokens.list()).map(presentAdminToken) }, 200));

  const revoke = adminRoute({
    method: 'delete',
    path: '/{id}',
    summary: 'Revoke an admin token',
    request: { params: TokenIdParams },
    responses: {
      200: json(AdminToken, 'Revoked'),
      403: problem('Missing scope, or the token holds scopes the caller lacks'),
      404: problem('No such token'),
    },
  });
  app.openapi(revoke, async (c) => {
    const record = await revokeAdminToken(deps, c.get('admin'), c.req.valid('param').id, c.get('requestId'));
    return c.json(presentAdminToken(record), 200);
  });
  return app;
}
