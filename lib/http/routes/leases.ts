/**
 * Lease routes. One lease, by id (mounted at /api/v1/leases): renew and
 * revoke, by the workload holding it or an admin with `leases:revoke`;
 * acknowledge an irrevocable one, by an admin with `leases:revoke`. A
 * database's leases (mounted at /api/v1/databases/{db}/leases): list, and
 * revoke many by subject or user-name prefix.
 */
import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Deps } from '../../deps.js';
import { registeredDatabase } from '../../registry/lookup.js';
import { PgmintError } from '../../errors.js';
import { requireBearer } from '../../identity/index.js';
import { authorizeLeaseRequest, callerName } from '../../leases/authorize.js';
import { authorizeAdmin } from '../../admin/index.js';
import { acknowledgeLease } from '../../leases/acknowledge.js';
import { renewLease } from '../../leases/renew.js';
import { revokeLease, revokeMatching } from '../../leases/revoke.js';
import { takeBearer } from '../bearer.js';
import type { AppEnv } from '../env.js';
import { adminRoutes, holderOrAdminSecurity, json, leaseErrors as errors, problem } from '../describe.js';
import { adminApp, adminRequest, guardRoutes } from '../guard.js';
import { DatabaseParams } from '../schemas/common.js';
import {
  BulkRevokeQuery,
  BulkRevokeResult,
  Lease,
  LeaseIdParams,
  LeaseList,
  LeaseListQuery,
  presentLease,
  presentLeasePage,
  presentRenewal,
  Renewal,
  RenewQuery,
} from '../schemas/leases.js';
import { subApp } from '../validation.js';

const adminRoute = adminRoutes(errors);

/** The lease a request names, with the bearer token and request id it came with. */
const leaseRequest = (c: Context<AppEnv>, id: string) => ({ id, token: c.get('token'), requestId: c.get('requestId') });

export function leaseRoutes(deps: Deps) {
  const app = subApp();
  // A bearer is required before the lease id is even validated, so nothing is learned without one.
  guardRoutes(app, async (c) => void requireBearer(takeBearer(c)));

  const renew = createRoute({
    method: 'post',
    path: '/{id}/renew',
    summary: "Move a lease's expiry forward (never past the role's max_ttl from issue)",
    security: holderOrAdminSecurity,
    request: { params: LeaseIdParams, query: RenewQuery },
    responses: { 200: json(Renewal, 'Renewed'), ...errors, 409: problem('Lease not active') },
  });
  app.openapi(renew, async (c) => {
    const requestId = c.get('requestId');
    const { lease, caller } = await authorizeLeaseRequest(deps, { ...leaseRequest(c, c.req.valid('param').id), action: 'lease.renew' });
    const renewal = await renewLease(deps, lease.id, { ttl: c.req.valid('query').ttl, by: callerName(caller), requestId });
    c.header('cache-control', 'no-store');
    return c.json(presentRenewal(renewal), 200);
  });

  const revoke = createRoute({
    method: 'delete',
    path: '/{id}',
    summary: 'Revoke a lease now: end its sessions and drop its role (harmless when already revoked)',
    security: holderOrAdminSecurity,
    request: { params: LeaseIdParams },
    responses: { 200: json(Lease, 'The lease after revocation'), ...errors },
  });
  app.openapi(revoke, async (c) => {
    const requestId = c.get('requestId');
    const { lease, caller } = await authorizeLeaseRequest(deps, { ...leaseRequest(c, c.req.valid('param').id), action: 'lease.revoke' });
    const revoked = await revokeLease(deps, lease.id, { reason: 'request', by: callerName(caller), requestId });
    return c.json(presentLease(revoked), 200);
  });

  const acknowledge = createRoute({
    method: 'post',
    path: '/{id}/acknowledge',
    summary: 'Acknowledge an irrevocable lease: it is then finished, and deleted after the lease retention',
    security: [{ adminToken: [] }],
    request: { params: LeaseIdParams },
    responses: { 200: json(Lease, 'The acknowledged lease'), ...errors, 409: problem('Lease not irrevocable') },
  });
  app.openapi(acknowledge, async (c) => {
    const admin = await authorizeAdmin(deps, c.get('token'), 'leases:revoke');
    const lease = await acknowledgeLease(deps, c.req.valid('param').id, { by: `admin:${admin.name}`, requestId: c.get('requestId') });
    return c.json(presentLease(lease), 200);
  });
  return app;
}

export function databaseLeaseRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'leases:read', DELETE: 'leases:revoke' });

  const list = adminRoute({
    method: 'get',
    path: '/',
    summary: "List a database's leases (oldest first; page with `after`)",
    request: { params: DatabaseParams, query: LeaseListQuery },
    responses: { 200: json(LeaseList, 'Leases') },
  });
  app.openapi(list, async (c) => {
    const { db } = c.req.valid('param');
    const { role, ...q } = c.req.valid('query');
    await registeredDatabase(deps, db);
    return c.json(presentLeasePage(await deps.store.leases.list({ databaseId: db, roleName: role, ...q }), q.limit), 200);
  });

  const revokeMany = adminRoute({
    method: 'delete',
    path: '/',
    summary: 'Revoke every live lease of a subject, or whose user name starts with a prefix',
    request: { params: DatabaseParams, query: BulkRevokeQuery },
    responses: { 200: json(BulkRevokeResult, 'What was revoked; `remaining` are left to the sweeper') },
  });
  app.openapi(revokeMany, async (c) => {
    const { subject, issuer, prefix } = c.req.valid('query');
    if ((subject === undefined) === (prefix === undefined)) {
      throw new PgmintError('invalid_request', 'give exactly one of subject or prefix', { details: { field: 'subject' } });
    }
    if (issuer !== undefined && subject === undefined) {
      throw new PgmintError('invalid_request', 'issuer narrows a subject; give subject too', { details: { field: 'issuer' } });
    }
    const db = await registeredDatabase(deps, c.req.valid('param').db);
    const match = subject !== undefined ? { subject, issuer } : { prefix };
    const { admin, requestId } = adminRequest(c);
    return c.json(await revokeMatching(deps, db, match, { reason: 'bulk', by: `admin:${admin}`, requestId }), 200);
  });
  return app;
}
