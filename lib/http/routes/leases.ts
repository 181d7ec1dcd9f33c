/**
 * Lease routes. One lease, by id (mounted at /api/v1/leases): renew and
 * revoke, by the workload holding it or an admin with `leases:revoke`;
 * acknowledge an irrevocable one, by an admin with `leases:revoke`. A
 * database's leases (mounted at /api/v1/databases/{db}/leases): list, and
 * revoke many by subject or user-name prefix.
 */
import type { Context } from 'hono';
import { authorizeAdmin } from '../../admin/index.js';
import type { Deps } from '../../deps.js';
import { requireBearer } from '../../identity/index.js';
import { acknowledgeLease } from '../../leases/acknowledge.js';
import { authorizeLeaseRequest, callerName } from '../../leases/authorize.js';
import { renewLease } from '../../leases/renew.js';
import { bulkRevocationMatch, revokeLease, revokeMatching } from '../../leases/revoke.js';
import { registeredDatabase } from '../../registry/lookup.js';
import { takeBearer } from '../bearer.js';
import { adminSecurity, holderOrAdminSecurity, leaseErrors, ok, routeFamily } from '../describe.js';
import type { AppEnv } from '../env.js';
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

const holder = routeFamily(holderOrAdminSecurity, leaseErrors);
const admin = routeFamily(adminSecurity, leaseErrors);

const renew = holder.post(
  '/{id}/renew',
  'Renew a lease',
  { params: LeaseIdParams, query: RenewQuery },
  ok(Renewal, 'Renewed', { 409: 'Not active' }),
);
const revoke = holder.delete('/{id}', 'Revoke a lease now', { params: LeaseIdParams }, ok(Lease, 'Sessions ended, role dropped'));
const ack = admin.post(
  '/{id}/acknowledge',
  'Acknowledge an irrevocable lease',
  { params: LeaseIdParams },
  ok(Lease, 'Done', { 409: 'Not irrevocable' }),
);
const list = admin.get('/', "List a database's leases", { params: DatabaseParams, query: LeaseListQuery }, ok(LeaseList, 'Leases'));
const revokeMany = admin.delete(
  '/',
  'Revoke by subject or prefix',
  { params: DatabaseParams, query: BulkRevokeQuery },
  ok(BulkRevokeResult, 'Revoked'),
);

/** The lease a request names, with the bearer token and request id it came with. */
const leaseRequest = (c: Context<AppEnv>, id: string, action: 'lease.renew' | 'lease.revoke') => ({
  id,
  action,
  token: c.get('token'),
  requestId: c.get('requestId'),
});

export function leaseRoutes(deps: Deps) {
  const app = subApp();
  // A bearer is required before the lease id is even validated, so nothing is learned without one.
  guardRoutes(app, async (c) => void requireBearer(takeBearer(c)));
  app.openapi(renew, async (c) => {
    const { lease, caller } = await authorizeLeaseRequest(deps, leaseRequest(c, c.req.valid('param').id, 'lease.renew'));
    const renewal = await renewLease(deps, lease.id, {
      ttl: c.req.valid('query').ttl,
      by: callerName(caller),
      requestId: c.get('requestId'),
    });
    c.header('cache-control', 'no-store');
    return c.json(presentRenewal(renewal), 200);
  });
  app.openapi(revoke, async (c) => {
    const { lease, caller } = await authorizeLeaseRequest(deps, leaseRequest(c, c.req.valid('param').id, 'lease.revoke'));
    const revoked = await revokeLease(deps, lease.id, { reason: 'request', by: callerName(caller), requestId: c.get('requestId') });
    return c.json(presentLease(revoked), 200);
  });
  app.openapi(ack, async (c) => {
    const operator = await authorizeAdmin(deps, c.get('token'), 'leases:revoke');
    const lease = await acknowledgeLease(deps, c.req.valid('param').id, { by: `admin:${operator.name}`, requestId: c.get('requestId') });
    return c.json(presentLease(lease), 200);
  });
  return app;
}

export function databaseLeaseRoutes(deps: Deps) {
  const app = adminApp(deps, { GET: 'leases:read', DELETE: 'leases:revoke' });
  app.openapi(list, async (c) => {
    const { role, ...q } = c.req.valid('query');
    const db = await registeredDatabase(deps, c.req.valid('param').db);
    return c.json(presentLeasePage(await deps.store.leases.list({ databaseId: db.id, roleName: role, ...q }), q.limit), 200);
  });
  app.openapi(revokeMany, async (c) => {
    const match = bulkRevocationMatch(c.req.valid('query'));
    const db = await registeredDatabase(deps, c.req.valid('param').db);
    const { admin, requestId } = adminRequest(c);
    return c.json(await revokeMatching(deps, db, match, { reason: 'bulk', by: `admin:${admin}`, requestId }), 200);
  });
  return app;
}
