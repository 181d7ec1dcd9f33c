/**
 * Role definitions that leases are minted from: define or replace, list,
 * show, delete. Mounted at /api/v1/databases/{db}/roles.
 */
import type { Deps } from '../../deps.js';
import { registeredDatabase } from '../../registry/lookup.js';
import { PgmintError } from '../../errors.js';
import { removeRole } from '../../registry/removal.js';
import { defineRole } from '../../registry/roles.js';
import { adminErrorsWith404, adminRoutes, bodyErrors, deleted, json, jsonInput } from '../describe.js';
import { adminApp, adminRequest } from '../guard.js';
import { DatabaseParams } from '../schemas/common.js';
import { presentRole, Role, roleDefinition, RoleInput, RoleList, RoleParams } from '../schemas/roles.js';

const adminRoute = adminRoutes(adminErrorsWith404);

export function roleRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', PUT: 'roles:write', DELETE: 'roles:write' });

  const define = adminRoute({
    method: 'put',
    path: '/{name}',
    summary: 'Define or replace a role that leases are minted from',
    ...jsonInput(RoleInput, { params: RoleParams }),
    responses: { 200: json(Role, 'Role saved'), ...bodyErrors },
  });
  app.openapi(define, async (c) => {
    const { db, name } = c.req.valid('param');
    const role = await defineRole(deps, db, name, roleDefinition(c.req.valid('json')));
    const { admin, requestId } = adminRequest(c);
    await deps.store.audit.append({ action: 'role.define', outcome: 'success', databaseId: db, roleName: name, requestId, subject: admin });
    return c.json(presentRole(role), 200);
  });

  const list = adminRoute({
    method: 'get',
    path: '/',
    summary: 'List role definitions',
    request: { params: DatabaseParams },
    responses: { 200: json(RoleList, 'Roles') },
  });
  app.openapi(list, async (c) => {
    const { db } = c.req.valid('param');
    await registeredDatabase(deps, db);
    return c.json({ roles: (await deps.store.roles.list(db)).map(presentRole) }, 200);
  });

  const show = adminRoute({
    method: 'get',
    path: '/{name}',
    summary: 'Show a role definition',
    request: { params: RoleParams },
    responses: { 200: json(Role, 'Role') },
  });
  app.openapi(show, async (c) => {
    const { db, name } = c.req.valid('param');
    const role = await deps.store.roles.get(db, name);
    if (!role) throw new PgmintError('not_found', 'no such role');
    return c.json(presentRole(role), 200);
  });

  const remove = adminRoute({
    method: 'delete',
    path: '/{name}',
    summary: 'Delete a role definition (its live leases run out and are swept as usual)',
    request: { params: RoleParams },
    responses: deleted,
  });
  app.openapi(remove, async (c) => {
    const { db, name } = c.req.valid('param');
    await removeRole(deps, db, name, adminRequest(c));
    return c.body(null, 204);
  });
  return app;
}
