/**
 * Lease routes: renew and revoke one lease (the workload holding it, or an
 * admin with `leases:revoke`), acknowledge an irrevocable one (admin), list a
 * database's leases, and revoke many by subject or username prefix.
 */
import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { Deps } from '../../context.js';
import { PgmintError } from '../../errors.js';
import { acknowledgeLease } from '../../leases/acknowledge.js';
import { asAdmin, authorizeLeaseCaller, callerName, type LeaseCaller } from '../../leases/authorize.js';
import { bearerToken } from '../auth.js';
import { recordRefusal } from '../../leases/issue.js';
import { renewLease } from '../../leases/renew.js';
import { revokeLease, revokeMatching } from '../../leases/revoke.js';
import type { LeaseRecord } from '../../store/types.js';
import { requireScope } from '../admin.js';
import type { AppEnv } from '../env.js';
import { BulkRevokeQuery, BulkRevokeResult, Lease, LeaseIdParams, LeaseList, LeaseListQuery, Renewal, RenewQuery } from '../lifecycle-schemas.js';
import { DatabaseParams, } from '../schemas.js';
import { json, problem } from './describe.js';

const errors = {
  400: problem('Invalid input'),
  401: problem('No or unknown token'),
  403: problem('Another workload, or a missing scope'),
  404: problem('No such lease (told to admins only) or database'),
  503: problem('A database is not answering; retry after Retry-After seconds'),
};

/** The workload holding the lease, or an admin. */
const holderOrAdmin: Array<Record<string, string[]>> = [{ workloadToken: [] }, { adminToken: [] }];

/** A bearer is required before the lease id is even validated, so nothing is learned without one. */
const bearerFirst: MiddlewareHandler = async (c, next) => {
  bearerToken(c.req.header('authorization'));
  await next();
};

export const presentLease = (l: LeaseRecord) => ({
  id: l.id,
  database: l.databaseId,
  role: l.roleName,
  user: l.username,
  state: l.state,
  subject: l.subject,
  issuer: l.issuer,
  pod_name: l.podName,
  pod_uid: l.podUid,
  issued_at: l.issuedAt,
  expires_at: l.expiresAt,
  max_expires_at: l.maxExpiresAt,
  renewed_at: l.renewedAt,
  revoked_at: l.revokedAt,
  revoke_requested_at: l.revokeRequestedAt ?? null,
  revoke_attempts: l.revokeAttempts,
  next_attempt_at: l.nextAttemptAt,
  last_error: l.lastError,
  acknowledged_at: l.acknowledgedAt ?? null,
});

export function leaseRoutes(app: OpenAPIHono<AppEnv>, deps: Deps) {
  /** Finds the lease and checks the caller, auditing a refusal. */
  const authorize = async (id: string, header: string | undefined, action: string, requestId: string): Promise<{ lease: LeaseRecord; caller: LeaseCaller }> => {
    const lease = await deps.store.leases.get(id);
    if (!lease) {
      // Only an admin learns that a lease does not exist: a workload token is verified against
      // the issuers of the lease's database, and a lease that does not exist has none.
      if (await asAdmin(deps, header)) throw new PgmintError('lease_not_found', 'no such lease');
      const refusal = new PgmintError('invalid_token', 'token not accepted for this lease');
      await recordRefusal(deps, { databaseId: null, requestId }, action, refusal);
      throw refusal;
    }
    try {
      return { lease, caller: await authorizeLeaseCaller(deps, lease, header) };
    } catch (err) {
      await recordRefusal(deps, { databaseId: lease.databaseId, requestId }, action, err);
      throw err;
    }
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/leases/{id}/renew',
      summary: "Move a lease's expiry forward (never past the role's max_ttl from issue)",
      security: holderOrAdmin,
      middleware: [bearerFirst] as const,
      request: { params: LeaseIdParams, query: RenewQuery },
      responses: { 200: json(Renewal, 'Renewed'), ...errors, 409: problem('Lease not active') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { lease, caller } = await authorize(id, c.req.header('authorization'), 'lease.renew', c.get('requestId'));
      const renewal = await renewLease(deps, lease.id, { ttl: c.req.valid('query').ttl, by: callerName(caller), requestId: c.get('requestId') });
      c.header('cache-control', 'no-store');
      return c.json(renewal, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/leases/{id}',
      summary: 'Revoke a lease now: end its sessions and drop its role (harmless when already revoked)',
      security: holderOrAdmin,
      middleware: [bearerFirst] as const,
      request: { params: LeaseIdParams },
      responses: { 200: json(Lease, 'The lease after revocation'), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { lease, caller } = await authorize(id, c.req.header('authorization'), 'lease.revoke', c.get('requestId'));
      const revoked = await revokeLease(deps, lease.id, { reason: 'request', by: callerName(caller), requestId: c.get('requestId') });
      return c.json(presentLease(revoked), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/leases/{id}/acknowledge',
      summary: 'Acknowledge an irrevocable lease: it is then finished, and deleted after the lease retention',
      security: [{ adminToken: [] }],
      middleware: [requireScope(deps, 'leases:revoke')] as const,
      request: { params: LeaseIdParams },
      responses: { 200: json(Lease, 'The acknowledged lease'), ...errors, 409: problem('Lease not irrevocable') },
    }),
    async (c) => {
      const lease = await acknowledgeLease(deps, c.req.valid('param').id, { by: `admin:${c.get('admin').name}`, requestId: c.get('requestId') });
      return c.json(presentLease(lease), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/databases/{db}/leases',
      summary: "List a database's leases (oldest first; page with `after`)",
      security: [{ adminToken: [] }],
      middleware: [requireScope(deps, 'leases:read')] as const,
      request: { params: DatabaseParams, query: LeaseListQuery },
      responses: { 200: json(LeaseList, 'Leases'), ...errors },
    }),
    async (c) => {
      const { db } = c.req.valid('param');
      const q = c.req.valid('query');
      if (!(await deps.store.databases.get(db))) throw new PgmintError('database_not_found', 'no such database');
      const rows = await deps.store.leases.list({
        databaseId: db,
        state: q.state,
        subject: q.subject,
        issuer: q.issuer,
        roleName: q.role,
        prefix: q.prefix,
        after: q.after,
        limit: q.limit,
      });
      return c.json({ leases: rows.map(presentLease), next_after: rows.length === q.limit ? rows.at(-1)!.id : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/databases/{db}/leases',
      summary: 'Revoke every live lease of a subject, or whose user name starts with a prefix',
      security: [{ adminToken: [] }],
      middleware: [requireScope(deps, 'leases:revoke')] as const,
      request: { params: DatabaseParams, query: BulkRevokeQuery },
      responses: { 200: json(BulkRevokeResult, 'What was revoked; `remaining` are left to the sweeper'), ...errors },
    }),
    async (c) => {
      const { db: id } = c.req.valid('param');
      const { subject, issuer, prefix } = c.req.valid('query');
      if ((subject === undefined) === (prefix === undefined)) {
        throw new PgmintError('invalid_request', 'give exactly one of subject or prefix', { extra: { field: 'subject' } });
      }
      if (issuer !== undefined && subject === undefined) {
        throw new PgmintError('invalid_request', 'issuer narrows a subject; give subject too', { extra: { field: 'issuer' } });
      }
      const db = await deps.store.databases.get(id);
      if (!db) throw new PgmintError('database_not_found', 'no such database');
      const result = await revokeMatching(deps, db, subject !== undefined ? { subject, issuer } : { prefix }, {
        reason: 'bulk',
        by: `admin:${c.get('admin').name}`,
        requestId: c.get('requestId'),
      });
      return c.json(result, 200);
    },
  );
}
