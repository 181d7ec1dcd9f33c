/**
 * Role definitions that leases are minted from: define or replace, list,
 * show, delete. Mounted at /api/v1/databases/{db}/roles.
 */
import type { Deps } from '../../deps.js';
import { registeredRole, rolesOf } from '../../registry/lookup.js';
import { removeRole } from '../../registry/removal.js';
import { defineRole } from '../../registry/roles.js';
import { adminErrorsWith404, adminSecurity, deleted, ok, routeFamily } from '../describe.js';
import { adminApp, adminRequest } from '../guard.js';
import { DatabaseParams } from '../schemas/common.js';
import { presentRole, Role, roleDefinition, RoleInput, RoleList, RoleParams } from '../schemas/roles.js';

const route = routeFamily(adminSecurity, adminErrorsWith404);

const define = route.put('/{name}', 'Define or replace a role', { params: RoleParams, body: RoleInput }, ok(Role, 'Role saved'));
const list = route.get('/', 'List role definitions', { params: DatabaseParams }, ok(RoleList, 'Roles'));
const show = route.get('/{name}', 'Show a role definition', { params: RoleParams }, ok(Role, 'Role'));
const remove = route.delete('/{name}', 'Delete a role definition', { params: RoleParams }, deleted('Deleted; its leases run out as usual'));

export function roleRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', PUT: 'roles:write', DELETE: 'roles:write' });
  app.openapi(define, async (c) => {
    const { db, name } = c.req.valid('param');
    return c.json(presentRole(await defineRole(deps, db, name, roleDefinition(c.req.valid('json')), adminRequest(c))), 200);
  });
  app.openapi(list, async (c) => c.json({ roles: (await rolesOf(deps, c.req.valid('param').db)).map(presentRole) }, 200));
  app.openapi(show, async (c) => c.json(presentRole(await registeredRole(deps, c.req.valid('param').db, c.req.valid('param').name)), 200));
  app.openapi(remove, async (c) => {
    await removeRole(deps, c.req.valid('param').db, c.req.valid('param').name, adminRequest(c));
    return c.body(null, 204);
  });
  return app;
}
