/**
 * Admin routes that register targets, role definitions and trusted issuers.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { PgmintError } from '../../errors.js';
import { registerDatabase } from '../../registry/databases.js';
import { trustIssuer } from '../../registry/issuers.js';
import { defineRole } from '../../registry/roles.js';
import { requireScope } from '../admin.js';
import { jsonOnly } from '../media-type.js';
import type { AppEnv } from '../env.js';
import { presentDatabase, presentIssuer, presentRole } from '../present.js';
import { Database, DatabaseInput, DatabaseParams, Issuer, IssuerInput, IssuerParams, RegisteredIssuer, Role, RoleInput, RoleParams } from '../schemas.js';
import { adminErrorsWith404, adminSecurity, bodyErrors, json, jsonBody } from './describe.js';

const adminErrors = adminErrorsWith404;
const security = adminSecurity;

const body = jsonBody;

export function registryRoutes(app: OpenAPIHono<AppEnv>, deps: Deps) {
  const read = requireScope(deps, 'databases:read');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/databases',
      summary: 'Register a target database (the connection and CREATEROLE are tested)',
      security,
      middleware: [requireScope(deps, 'databases:write'), jsonOnly] as const,
      request: body(DatabaseInput),
      responses: { 201: json(Database, 'Registered'), ...adminErrors, ...bodyErrors },
    }),
    async (c) => {
      const b = c.req.valid('json');
      const record = await registerDatabase(deps, {
        id: b.id,
        host: b.host,
        port: b.port,
        database: b.database,
        adminUser: b.admin_user,
        adminPassword: b.admin_password,
        sslmode: b.sslmode,
        publicHost: b.public_host,
        publicPort: b.public_port,
        publicSslmode: b.public_sslmode,
        rotationPeriodSec: b.rotation_period,
        leasePrefix: b.lease_prefix,
      });
      await deps.store.audit.append({ action: 'database.register', outcome: 'success', databaseId: record.id, requestId: c.get('requestId'), subject: c.get('admin').name });
      return c.json(presentDatabase(record), 201);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/databases', summary: 'List target databases', security, middleware: [read] as const, responses: { 200: json(z.object({ databases: z.array(Database) }), 'Databases'), ...adminErrors } }),
    async (c) => c.json({ databases: (await deps.store.databases.list()).map(presentDatabase) }, 200),
  );

  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/databases/{db}', summary: 'Show a target database', security, middleware: [read] as const, request: { params: DatabaseParams }, responses: { 200: json(Database, 'Database'), ...adminErrors } }),
    async (c) => {
      const record = await deps.store.databases.get(c.req.valid('param').db);
      if (!record) throw new PgmintError('database_not_found', 'no such database');
      return c.json(presentDatabase(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/databases/{db}/roles/{name}',
      summary: 'Define or replace a role that leases are minted from',
      security,
      middleware: [requireScope(deps, 'roles:write'), jsonOnly] as const,
      request: { params: RoleParams, ...body(RoleInput) },
      responses: { 200: json(Role, 'Role saved'), ...adminErrors, ...bodyErrors },
    }),
    async (c) => {
      const { db, name } = c.req.valid('param');
      const b = c.req.valid('json');
      const role = await defineRole(deps, db, name, {
        memberOf: b.member_of,
        searchPath: b.search_path,
        readOnly: b.read_only,
        allowWrite: b.allow_write,
        defaultTtl: b.default_ttl,
        maxTtl: b.max_ttl,
        maxSession: b.max_session,
        creationStatements: b.creation_statements,
        revocationStatements: b.revocation_statements,
        renewStatements: b.renew_statements,
      });
      await deps.store.audit.append({ action: 'role.define', outcome: 'success', databaseId: db, roleName: name, requestId: c.get('requestId'), subject: c.get('admin').name });
      return c.json(presentRole(role), 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/databases/{db}/roles', summary: 'List role definitions', security, middleware: [read] as const, request: { params: DatabaseParams }, responses: { 200: json(z.object({ roles: z.array(Role) }), 'Roles'), ...adminErrors } }),
    async (c) => {
      const { db } = c.req.valid('param');
      if (!(await deps.store.databases.get(db))) throw new PgmintError('database_not_found', 'no such database');
      return c.json({ roles: (await deps.store.roles.list(db)).map(presentRole) }, 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/databases/{db}/roles/{name}', summary: 'Show a role definition', security, middleware: [read] as const, request: { params: RoleParams }, responses: { 200: json(Role, 'Role'), ...adminErrors } }),
    async (c) => {
      const { db, name } = c.req.valid('param');
      const role = await deps.store.roles.get(db, name);
      if (!role) throw new PgmintError('not_found', 'no such role');
      return c.json(presentRole(role), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/databases/{db}/issuers',
      summary: 'Trust a token issuer for this database',
      security,
      middleware: [requireScope(deps, 'issuers:write'), jsonOnly] as const,
      request: { params: DatabaseParams, ...body(IssuerInput) },
      responses: { 201: json(RegisteredIssuer, 'Issuer trusted, with what discovery found'), ...adminErrors, ...bodyErrors },
    }),
    async (c) => {
      const { db } = c.req.valid('param');
      const b = c.req.valid('json');
      const { issuer, discovery } = await trustIssuer(deps, db, {
        kind: b.kind,
        issuer: b.issuer,
        audiences: b.audiences ?? [deps.settings.audience],
        allowedServiceAccounts: b.allowed_service_accounts,
        allowedSubjects: b.allowed_subjects,
        boundClaims: b.bound_claims,
        defaultRole: b.default_role,
        allowedRoles: b.allowed_roles ?? [b.default_role],
        pinnedJwks: (b.jwks as { keys: JsonWebKey[] } | undefined) ?? null,
        pinnedPems: b.pem_keys ?? null,
        maxLeasesPerWorkload: b.max_leases_per_workload,
        maxTokenLifetimeSec: b.max_token_lifetime,
        requireBoundPod: b.require_bound_pod,
        caPem: b.ca_pem ?? null,
      });
      await deps.store.audit.append({
        action: 'issuer.trust',
        outcome: 'success',
        databaseId: db,
        issuer: issuer.issuer,
        requestId: c.get('requestId'),
        subject: c.get('admin').name,
        detail: discovery ? { discovery } : {},
      });
      return c.json({ ...presentIssuer(issuer), discovery }, 201);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/databases/{db}/issuers', summary: 'List trusted issuers', security, middleware: [read] as const, request: { params: DatabaseParams }, responses: { 200: json(z.object({ issuers: z.array(Issuer) }), 'Issuers'), ...adminErrors } }),
    async (c) => {
      const { db } = c.req.valid('param');
      if (!(await deps.store.databases.get(db))) throw new PgmintError('database_not_found', 'no such database');
      return c.json({ issuers: (await deps.store.issuers.list(db)).map(presentIssuer) }, 200);
    },
  );

  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/databases/{db}/issuers/{id}', summary: 'Show a trusted issuer', security, middleware: [read] as const, request: { params: IssuerParams }, responses: { 200: json(Issuer, 'Issuer'), ...adminErrors } }),
    async (c) => {
      const { db, id } = c.req.valid('param');
      const issuer = await deps.store.issuers.get(db, id);
      if (!issuer) throw new PgmintError('not_found', 'no such issuer');
      return c.json(presentIssuer(issuer), 200);
    },
  );
}
