/**
 * Target databases: register (the connection and CREATEROLE are tested),
 * list, show, and forget one. Mounted at /api/v1/databases.
 */
import type { Deps } from '../../deps.js';
import { registerDatabase } from '../../registry/databases.js';
import { registeredDatabase } from '../../registry/lookup.js';
import { removeDatabase } from '../../registry/removal.js';
import { adminErrorsWith404, adminSecurity, created, deleted, ok, routeFamily } from '../describe.js';
import { adminApp, adminRequest } from '../guard.js';
import { DatabaseParams } from '../schemas/common.js';
import { Database, DatabaseInput, DatabaseList, databaseRegistration, DeleteDatabaseQuery, presentDatabase } from '../schemas/databases.js';

const route = routeFamily(adminSecurity, adminErrorsWith404);

const register = route.post('/', 'Register a target database', { body: DatabaseInput }, created(Database, 'Registered, connection tested'));
const list = route.get('/', 'List target databases', {}, ok(DatabaseList, 'Databases'));
const show = route.get('/{db}', 'Show a target database', { params: DatabaseParams }, ok(Database, 'Database'));
const remove = route.delete(
  '/{db}',
  'Forget a database',
  { params: DatabaseParams, query: DeleteDatabaseQuery },
  deleted('Deleted, with its roles and issuers', {
    409: 'Live leases remain',
  }),
);

export function databaseRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', POST: 'databases:write', DELETE: 'databases:write' });
  app.openapi(register, async (c) => {
    const record = await registerDatabase(deps, databaseRegistration(c.req.valid('json')), adminRequest(c));
    return c.json(presentDatabase(record), 201);
  });
  app.openapi(list, async (c) => c.json({ databases: (await deps.store.databases.list()).map(presentDatabase) }, 200));
  app.openapi(show, async (c) => c.json(presentDatabase(await registeredDatabase(deps, c.req.valid('param').db)), 200));
  app.openapi(remove, async (c) => {
    const force = c.req.valid('query').force === 'true';
    await removeDatabase(deps, c.req.valid('param').db, adminRequest(c), { force });
    return c.body(null, 204);
  });
  return app;
}
