/**
 * Target databases: register (the connection and CREATEROLE are tested),
 * list, show, and forget one. Mounted at /api/v1/databases.
 */
import type { Deps } from '../../deps.js';
import { registeredDatabase } from '../../registry/lookup.js';
import { registerDatabase } from '../../registry/databases.js';
import { removeDatabase } from '../../registry/removal.js';
import { adminErrorsWith404, adminRoutes, bodyErrors, deleted, json, jsonInput, problem } from '../describe.js';
import { adminApp, adminRequest } from '../guard.js';
import { DatabaseParams } from '../schemas/common.js';
import { Database, DatabaseInput, DatabaseList, databaseRegistration, DeleteDatabaseQuery, presentDatabase } from '../schemas/databases.js';

const adminRoute = adminRoutes(adminErrorsWith404);

export function databaseRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', POST: 'databases:write', DELETE: 'databases:write' });

  const register = adminRoute({
    method: 'post',
    path: '/',
    summary: 'Register a target database (the connection and CREATEROLE are tested)',
    ...jsonInput(DatabaseInput),
    responses: { 201: json(Database, 'Registered'), ...bodyErrors },
  });
  app.openapi(register, async (c) => {
    const record = await registerDatabase(deps, databaseRegistration(c.req.valid('json')));
    const { admin, requestId } = adminRequest(c);
    await deps.store.audit.append({ action: 'database.register', outcome: 'success', databaseId: record.id, requestId, subject: admin });
    return c.json(presentDatabase(record), 201);
  });

  const list = adminRoute({
    method: 'get',
    path: '/',
    summary: 'List target databases',
    responses: { 200: json(DatabaseList, 'Databases') },
  });
  app.openapi(list, async (c) => c.json({ databases: (await deps.store.databases.list()).map(presentDatabase) }, 200));

  const show = adminRoute({
    method: 'get',
    path: '/{db}',
    summary: 'Show a target database',
    request: { params: DatabaseParams },
    responses: { 200: json(Database, 'Database') },
  });
  app.openapi(show, async (c) => {
    return c.json(presentDatabase(await registeredDatabase(deps, c.req.valid('param').db)), 200);
  });

  const remove = adminRoute({
    method: 'delete',
    path: '/{db}',
    summary: 'Forget a target database, its roles and issuers (live leases need ?force=true, which revokes them first)',
    request: { params: DatabaseParams, query: DeleteDatabaseQuery },
    responses: { ...deleted, 409: problem('Live leases remain') },
  });
  app.openapi(remove, async (c) => {
    const force = c.req.valid('query').force === 'true';
    await removeDatabase(deps, c.req.valid('param').db, adminRequest(c), { force });
    return c.body(null, 204);
  });
  return app;
}
