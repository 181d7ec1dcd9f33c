/**
 * Role definitions that leases are minted from: define or replace, list,
 * show, delete. Mounted at /api/v1/databases/{db}/roles.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { PgmintError } from '../../errors.js';
import { removeRole } from '../../registry/removal.js';
import { defineRole } from '../../registry/roles.js';
import { adminErrorsWith404 as errors, adminSecurity as security, bodyErrors, deleted, json, jsonBody } from '../describe.js';
import type { AdminEnv } from '../env.js';
import { guardRoutes, requireScope } from '../guard.js';
import { jsonOnly } from '../media-type.js';
import { DatabaseParams } from '../schemas/common.js';
import { presentRole, Role, roleDefinition, RoleInput, RoleList, RoleParams } from '../schemas/roles.js';
import { subApp } from '../validation.js';

export function roleRoutes(deps: Deps) {
  const app = subApp<AdminEnv>();
  guardRoutes(app, requireScope(deps, { GET: 'databases:read', PUT: 'roles:write', DELETE: 'roles:write' }));

  const define = createRoute({
    method: 'put',
    path: '/{name}',
    summary: 'Define or replace a role that leases are minted from',
    security,
    middleware: [jsonOnly] as const,
    request: { params: RoleParams, ...jsonBody(RoleInput) },
    responses: { 200: json(Role, 'Role saved'), ...errors, ...bodyErrors },
  });
  app.openapi(define, async (c) => {
    const { db, name } = c.req.valid('param');
    const role = await defineRole(deps, db, name, roleDefinition(c.req.valid('json')));
    await deps.store.audit.append({ action: 'role.define', outcome: 'success', databaseId: db, roleName: name, requestId: c.get('requestId'), subject: c.get('admin').name });
    return c.json(presentRole(role), 200);
  });

  const list = createRoute({
    method: 'get',
    path: '/',
    summary: 'List role definitions',
    security,
    request: { params: DatabaseParams },
    responses: { 200: json(RoleList, 'Roles'), ...errors },
  });
  app.openapi(list, async (c) => {
    const { db } = c.req.valid('param');
    if (!(await deps.store.databases.get(db))) throw new PgmintError('database_not_found', 'no such database');
    return c.json({ roles: (await deps.store.roles.list(db)).map(presentRole) }, 200);
  });

  const show = createRoute({
    method: 'get',
    path: '/{name}',
    summary: 'Show a role definition',
    security,
    request: { params: RoleParams },
    responses: { 200: json(Role, 'Role'), ...errors },
  });
  app.openapi(show, async (c) => {
    const { db, name } = c.req.valid('param');
    const role = await deps.store.roles.get(db, name);
    if (!role) throw new PgmintError('not_found', 'no such role');
    return c.json(presentRole(role), 200);
  });

  const remove = createRoute({
    method: 'delete',
    path: '/{name}',
    summary: 'Delete a role definition (its live leases run out and are swept as usual)',
    security,
    request: { params: RoleParams },
    responses: { ...deleted, ...errors },
  });
  app.openapi(remove, async (c) => {
    const { db, name } = c.req.valid('param');
    await removeRole(deps, db, name, { admin: c.get('admin').name, requestId: c.get('requestId') });
    return c.body(null, 204);
  });
  return app;
}
