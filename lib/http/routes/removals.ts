/**
 * DELETE for what the registry routes create: databases (refused while
 * leases are live unless `?force=true`, which revokes them first and deletes
 * only when none is left), role definitions and trusted issuers.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { PgmintError } from '../../errors.js';
import { revokeMatching } from '../../leases/revoke.js';
import { requireScope } from '../admin.js';
import type { AppEnv } from '../env.js';
import { DeleteDatabaseQuery } from '../lifecycle-schemas.js';
import { DatabaseParams, IssuerParams, RoleParams } from '../schemas.js';
import { adminErrorsWith404, adminSecurity, problem } from './describe.js';

const errors = adminErrorsWith404;
const security = adminSecurity;

async function liveLeases(deps: Deps, databaseId: string): Promise<number> {
  const { rows } = await deps.sql.query<{ n: string }>(
    `SELECT count(*) AS n FROM pgmint.leases WHERE database_id = $1 AND state IN ('pending', 'active', 'draining', 'irrevocable')`,
    [databaseId],
  );
  return Number(rows[0]?.n ?? 0);
}

export function removalRoutes(app: OpenAPIHono<AppEnv>, deps: Deps) {
  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/databases/{db}',
      summary: 'Forget a target database, its roles and issuers (live leases need ?force=true, which revokes them first)',
      security,
      middleware: [requireScope(deps, 'databases:write')] as const,
      request: { params: DatabaseParams, query: DeleteDatabaseQuery },
      responses: { 204: { description: 'Deleted' }, ...errors, 409: problem('Live leases remain') },
    }),
    async (c) => {
      const { db: id } = c.req.valid('param');
      const force = c.req.valid('query').force === 'true';
      const db = await deps.store.databases.get(id);
      if (!db) throw new PgmintError('database_not_found', 'no such database');
      const admin = c.get('admin').name;
      let live = await liveLeases(deps, id);
      if (live > 0 && !force) {
        throw new PgmintError('conflict', `${live} leases are live; revoke them or pass force=true`, { details: { field: 'force', live_leases: live } });
      }
      if (live > 0) {
        await revokeMatching(deps, db, { all: true }, { reason: 'database.delete', by: `admin:${admin}`, requestId: c.get('requestId') });
        live = await liveLeases(deps, id);
        if (live > 0) {
          throw new PgmintError('conflict', `${live} leases could not be revoked; nothing was deleted`, { details: { live_leases: live } });
        }
      }
      await deps.store.databases.remove(id);
      await deps.targets.close(id);
      await deps.store.audit.append({ action: 'database.delete', outcome: 'success', databaseId: id, requestId: c.get('requestId'), subject: admin, detail: { force } });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/databases/{db}/roles/{name}',
      summary: "Delete a role definition (its live leases run out and are swept as usual)",
      security,
      middleware: [requireScope(deps, 'roles:write')] as const,
      request: { params: RoleParams },
      responses: { 204: { description: 'Deleted' }, ...errors },
    }),
    async (c) => {
      const { db, name } = c.req.valid('param');
      if (!(await deps.store.roles.remove(db, name))) throw new PgmintError('not_found', 'no such role');
      await deps.store.audit.append({ action: 'role.delete', outcome: 'success', databaseId: db, roleName: name, requestId: c.get('requestId'), subject: c.get('admin').name });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/databases/{db}/issuers/{id}',
      summary: 'Stop trusting an issuer (its workloads can no longer exchange, renew or revoke)',
      security,
      middleware: [requireScope(deps, 'issuers:write')] as const,
      request: { params: IssuerParams },
      responses: { 204: { description: 'Deleted' }, ...errors },
    }),
    async (c) => {
      const { db, id } = c.req.valid('param');
      const issuer = await deps.store.issuers.get(db, id);
      if (!issuer || !(await deps.store.issuers.remove(db, id))) throw new PgmintError('not_found', 'no such issuer');
      await deps.store.audit.append({ action: 'issuer.delete', outcome: 'success', databaseId: db, issuer: issuer.issuer, requestId: c.get('requestId'), subject: c.get('admin').name });
      return c.body(null, 204);
    },
  );
}

