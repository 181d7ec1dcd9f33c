/**
 * Admin tokens beyond the bootstrap one: mint (the secret is in that answer
 * only), list without secrets, revoke. Mounted at /api/v1/admin-tokens.
 */
import { mintAdminToken, revokeAdminToken } from '../../admin/index.js';
import type { Deps } from '../../deps.js';
import { adminErrors, adminSecurity, created, ok, routeFamily } from '../describe.js';
import { adminApp } from '../guard.js';
import { AdminToken, AdminTokenInput, AdminTokenList, NewAdminToken, presentAdminToken, TokenIdParams } from '../schemas/admin-tokens.js';

const route = routeFamily(adminSecurity, adminErrors);

const mint = route.post(
  '/',
  'Create an admin token',
  { body: AdminTokenInput },
  created(NewAdminToken, 'Created; the secret is shown only here'),
);
const list = route.get('/', 'List admin tokens (never their secrets)', {}, ok(AdminTokenList, 'Tokens'));
const revoke = route.delete(
  '/{id}',
  'Revoke an admin token',
  { params: TokenIdParams },
  ok(AdminToken, 'Revoked', {
    403: 'Missing scope, or the token holds scopes the caller lacks',
    404: 'No such token',
  }),
);

export function adminTokenRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'tokens:write', POST: 'tokens:write', DELETE: 'tokens:write' });
  app.openapi(mint, async (c) => {
    const { record, token } = await mintAdminToken(deps, c.get('admin'), { ...c.req.valid('json'), requestId: c.get('requestId') });
    c.header('cache-control', 'no-store');
    return c.json({ ...presentAdminToken(record), token }, 201);
  });
  app.openapi(list, async (c) => c.json({ tokens: (await deps.store.adminTokens.list()).map(presentAdminToken) }, 200));
  app.openapi(revoke, async (c) => {
    const record = await revokeAdminToken(deps, c.get('admin'), c.req.valid('param').id, c.get('requestId'));
    return c.json(presentAdminToken(record), 200);
  });
  return app;
}
