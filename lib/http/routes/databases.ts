/**
 * Target databases: register (the connection and CREATEROLE are tested),
 * list, show, and forget one. Mounted at /api/v1/databases.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { PgmintError } from '../../errors.js';
import { registerDatabase } from '../../registry/databases.js';
import { removeDatabase } from '../../registry/removal.js';
import { adminErrorsWith404 as errors, adminSecurity as security, bodyErrors, deleted, json, jsonBody, problem } from '../describe.js';
import type { AdminEnv } from '../env.js';
import { guardRoutes, requireScope } from '../guard.js';
import { jsonOnly } from '../media-type.js';
import { DatabaseParams } from '../schemas/common.js';
import { Database, DatabaseInput, DatabaseList, databaseRegistration, DeleteDatabaseQuery, presentDatabase } from '../schemas/databases.js';
import { subApp } from '../validation.js';

export function databaseRoutes(deps: Deps) {
  const app = subApp<AdminEnv>();
  guardRoutes(app, requireScope(deps, { GET: 'databases:read', POST: 'databases:write', DELETE: 'databases:write' }));

  const register = createRoute({
    method: 'post',
    path: '/',
    summary: 'Register a target database (the connection and CREATEROLE are tested)',
    security,
    middleware: [jsonOnly] as const,
    request: jsonBody(DatabaseInput),
    responses: { 201: json(Database, 'Registered'), ...errors, ...bodyErrors },
  });
  app.openapi(register, async (c) => {
    const record = await registerDatabase(deps, databaseRegistration(c.req.valid('json')));
    await deps.store.audit.append({ action: 'database.register', outcome: 'success', databaseId: record.id, requestId: c.get('requestId'), subject: c.get('admin').name });
    return c.json(presentDatabase(record), 201);
  });

  const list = createRoute({ method: 'get', path: '/', summary: 'List target databases', security, responses: { 200: json(DatabaseList, 'Databases'), ...errors } });
  app.openapi(list, async (c) => c.json({ databases: (await deps.store.databases.list()).map(presentDatabase) }, 200));

  const show = createRoute({
    method: 'get',
    path: '/{db}',
    summary: 'Show a target database',
    security,
    request: { params: DatabaseParams },
    responses: { 200: json(Database, 'Database'), ...errors },
  });
  app.openapi(show, async (c) => {
    const record = await deps.store.databases.get(c.req.valid('param').db);
    if (!record) throw new PgmintError('database_not_found', 'no such database');
    return c.json(presentDatabase(record), 200);
  });

  const remove = createRoute({
    method: 'delete',
    path: '/{db}',
    summary: 'Forget a target database, its roles and issuers (live leases need ?force=true, which revokes them first)',
    security,
    request: { params: DatabaseParams, query: DeleteDatabaseQuery },
    responses: { ...deleted, ...errors, 409: problem('Live leases remain') },
  });
  app.openapi(remove, async (c) => {
    const force = c.req.valid('query').force === 'true';
    await removeDatabase(deps, c.req.valid('param').db, { force, admin: c.get('admin').name, requestId: c.get('requestId') });
    return c.body(null, 204);
  });
  return app;
}
