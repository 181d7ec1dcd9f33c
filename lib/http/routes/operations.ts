/**
 * Operator routes. Broker-wide (mounted at /api/v1): the audit log with
 * filters and cursor paging, and an on-demand sweep running the scheduled
 * code. Per database (mounted at /api/v1/databases/{db}): its health, and
 * the scheduled root rotation on demand (whatever the credential's age).
 *
 * @example
 *   curl -X POST -H "authorization: Bearer $ADMIN" $PGMINT/api/v1/databases/orders/rotate-root
 */
import type { Deps } from '../../deps.js';
import { databaseHealth } from '../../leases/health.js';
import { sweep } from '../../leases/sweep.js';
import { rotateRoot } from '../../rotation/index.js';
import { adminErrors, adminSecurity, ok, problem, routeFamily } from '../describe.js';
import { adminApp } from '../guard.js';
import { AuditPage, AuditQuery, presentAuditPage } from '../schemas/audit.js';
import { DatabaseParams } from '../schemas/common.js';
import { Health, presentHealth, presentRotation, presentSweep, RotationResult, SweepQuery, SweepResult } from '../schemas/operations.js';

const route = routeFamily(adminSecurity, adminErrors);
const databaseRoute = routeFamily(adminSecurity, { ...adminErrors, 404: problem('No such database') });

/** A sweep asked for over HTTP stops within this unless told otherwise. */
const SWEEP_MAX_MS = 20_000;

const audit = route.get('/audit', 'Read the audit log, newest first', { query: AuditQuery }, ok(AuditPage, 'A page; next_cursor for more'));
const sweepNow = route.post('/sweep', 'Run one sweep now, as the scheduled one', { query: SweepQuery }, ok(SweepResult, 'What it did'));
const health = databaseRoute.get('/health', 'Health of a target database', { params: DatabaseParams }, ok(Health, 'Health report'));
const rotate = databaseRoute.post(
  '/rotate-root',
  "Rotate the broker's root credential now",
  { params: DatabaseParams },
  ok(RotationResult, 'Rotated', {
    409: 'A rotation of this database is already running',
    503: 'The target did not accept the change; the credential is unchanged or settled',
  }),
);

export function operationRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'audit:read', POST: 'operations:run' });
  app.openapi(audit, async (c) => {
    const { database, cursor, ...q } = c.req.valid('query');
    return c.json(presentAuditPage(await deps.store.audit.query({ databaseId: database, before: cursor, ...q }), q.limit), 200);
  });
  app.openapi(sweepNow, async (c) => {
    const requestId = c.get('requestId');
    const result = presentSweep(await sweep(deps, { maxMs: c.req.valid('query').max_ms ?? SWEEP_MAX_MS, requestId }));
    const outcome = result.errors.length > 0 ? 'error' : 'success';
    await deps.store.audit.append({ action: 'sweep.run', outcome, requestId, subject: c.get('admin').name, detail: { ...result } });
    return c.json(result, 200);
  });
  return app;
}

export function databaseOperationRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'databases:read', POST: 'operations:run' });
  app.openapi(health, async (c) => c.json(presentHealth(await databaseHealth(deps, c.req.valid('param').db)), 200));
  app.openapi(rotate, async (c) => {
    const options = { trigger: 'api', force: true, requestId: c.get('requestId'), actor: c.get('admin').name } as const;
    return c.json(presentRotation(await rotateRoot(deps, c.req.valid('param').db, options)), 200);
  });
  return app;
}
