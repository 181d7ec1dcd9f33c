/**
 * Operator routes: the audit log with filters and cursor paging, a
 * database's health, and an on-demand sweep running the scheduled code.
 */
import { createRoute, type OpenAPIHono, } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { databaseHealth } from '../../leases/health.js';
import { sweep } from '../../leases/sweep.js';
import type { AuditRecord } from '../../store/types.js';
import { requireScope } from '../admin.js';
import type { AppEnv } from '../env.js';
import { AuditPage, AuditQuery, Health, SweepQuery, SweepResult } from '../lifecycle-schemas.js';
import { DatabaseParams, } from '../schemas.js';
import { adminErrors, adminSecurity, json, problem } from './describe.js';

const errors = adminErrors;
const security = adminSecurity;

const presentAudit = (e: AuditRecord) => ({
  id: e.id,
  at: e.at,
  action: e.action,
  outcome: e.outcome,
  code: e.code ?? null,
  request_id: e.requestId ?? null,
  database: e.databaseId ?? null,
  subject: e.subject ?? null,
  issuer: e.issuer ?? null,
  pod: e.pod ?? null,
  lease_id: e.leaseId ?? null,
  role: e.roleName ?? null,
  user: e.username ?? null,
  detail: e.detail ?? {},
});

export function operationsRoutes(app: OpenAPIHono<AppEnv>, deps: Deps) {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/audit',
      summary: 'Read the audit log, newest first; pass next_cursor as cursor for the next page',
      security,
      middleware: [requireScope(deps, 'audit:read')] as const,
      request: { query: AuditQuery },
      responses: { 200: json(AuditPage, 'Audit entries'), ...errors },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const entries = await deps.store.audit.query({
        databaseId: q.database,
        action: q.action,
        outcome: q.outcome,
        subject: q.subject,
        issuer: q.issuer,
        since: q.since,
        until: q.until,
        before: q.cursor,
        limit: q.limit,
      });
      return c.json({ entries: entries.map(presentAudit), next_cursor: entries.length === q.limit ? entries.at(-1)!.id : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/databases/{db}/health',
      summary: 'Reachability, CREATEROLE, lease counts (active, overdue, irrevocable), root credential age and issuer key fetches',
      security,
      middleware: [requireScope(deps, 'databases:read')] as const,
      request: { params: DatabaseParams },
      responses: { 200: json(Health, 'Health report'), ...errors, 404: problem('No such database') },
    }),
    async (c) => c.json(await databaseHealth(deps, c.req.valid('param').db), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/sweep',
      summary: 'Run one sweep now (the scheduled function runs the same code)',
      security,
      middleware: [requireScope(deps, 'operations:run')] as const,
      request: { query: SweepQuery },
      responses: { 200: json(SweepResult, 'What the sweep did'), ...errors },
    }),
    async (c) => {
      const result = await sweep(deps, { maxMs: c.req.valid('query').max_ms ?? 20_000, requestId: c.get('requestId') });
      await deps.store.audit.append({
        action: 'sweep.run',
        outcome: result.errors.length > 0 ? 'error' : 'success',
        requestId: c.get('requestId'),
        subject: c.get('admin').name,
        detail: { ...result },
      });
      return c.json(result, 200);
    },
  );
}
