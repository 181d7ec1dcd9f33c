/**
 * Operator routes. Broker-wide (mounted at /api/v1): the audit log with
 * filters and cursor paging, and an on-demand sweep running the scheduled
 * code. Per database (mounted at /api/v1/databases/{db}): its health, and
 * the scheduled root rotation on demand (whatever the credential's age).
 *
 * @example
 *   curl -X POST -H "authorization: Bearer $ADMIN" $PGMINT/api/v1/databases/orders/rotate-root
 */
import { createRoute } from '@hono/zod-openapi';
import type { Deps } from '../../deps.js';
import { databaseHealth } from '../../leases/health.js';
import { sweep } from '../../leases/sweep.js';
import { rotateRoot } from '../../rotation/index.js';
import { adminErrors, adminRoutes, adminSecurity, json, problem } from '../describe.js';
import { adminApp } from '../guard.js';
import { AuditPage, AuditQuery, presentAuditPage } from '../schemas/audit.js';
import { DatabaseParams } from '../schemas/common.js';
import { Health, presentHealth, presentRotation, presentSweep, RotationResult, SweepQuery, SweepResult } from '../schemas/operations.js';

const adminRoute = adminRoutes(adminErrors);

/** A sweep asked for over HTTP stops within this unless told otherwise. */
const SWEEP_MAX_MS = 20_000;

export function operationRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'audit:read', POST: 'operations:run' });

  const audit = adminRoute({
    method: 'get',
    path: '/audit',
    summary: 'Read the audit log, newest first; pass next_cursor as cursor for the next page',
    request: { query: AuditQuery },
    responses: { 200: json(AuditPage, 'Audit entries') },
  });
  app.openapi(audit, async (c) => {
    const { database, cursor, ...q } = c.req.valid('query');
    return c.json(presentAuditPage(await deps.store.audit.query({ databaseId: database, before: cursor, ...q }), q.limit), 200);
  });

  const sweepNow = adminRoute({
    method: 'post',
    path: '/sweep',
    summary: 'Run one sweep now (the scheduled function runs the same code)',
    request: { query: SweepQuery },
    responses: { 200: json(SweepResult, 'What the sweep did') },
  });
  app.openapi(sweepNow, async (c) => {
    const result = presentSweep(await sweep(deps, { maxMs: c.req.valid('query').max_ms ?? SWEEP_MAX_MS, requestId: c.get('requestId') }));
    await deps.store.audit.append({
      action: 'sweep.run',
      outcome: result.errors.length > 0 ? 'error' : 'success',
      requestId: c.get('requestId'),
      subject: c.get('admin').name,
      detail: { ...result },
    });
    return c.json(result, 200);
  });
  return app;
}

export function databaseOperationRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', POST: 'operations:run' });

  const health = adminRoute({
    method: 'get',
    path: '/health',
    summary: 'Reachability, CREATEROLE, lease counts (active, overdue, irrevocable), root credential age and issuer key fetches',
    request: { params: DatabaseParams },
    responses: { 200: json(Health, 'Health report'), 404: problem('No such database') },
  });
  app.openapi(health, async (c) => c.json(presentHealth(await databaseHealth(deps, c.req.valid('param').db)), 200));

  const rotate = createRoute({
    method: 'post',
    path: '/rotate-root',
    summary: "Rotate the broker's root credential on a target now",
    security: adminSecurity,
    request: { params: DatabaseParams },
    responses: {
      200: json(RotationResult, 'Rotated'),
      401: problem('No admin token'),
      403: problem('Missing scope'),
      404: problem('No such database'),
      409: problem('A rotation of this database is already running'),
      503: problem('The target did not accept the change; the credential is unchanged or settled'),
    },
  });
  app.openapi(rotate, async (c) => {
    const options = { trigger: 'api', force: true, requestId: c.get('requestId'), actor: c.get('admin').name } as const;
    return c.json(presentRotation(await rotateRoot(deps, c.req.valid('param').db, options)), 200);
  });
  return app;
}
