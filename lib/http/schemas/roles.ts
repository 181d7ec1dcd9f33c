/**
 * Role definitions on the wire: what a lease is minted from (groups, search
 * path, TTLs, custom statements) and how a saved one is shown.
 *
 * @example
 *   const role = await defineRole(deps, db, name, roleDefinition(c.req.valid('json')));
 */
import { z } from '@hono/zod-openapi';
import type { RoleRecord } from '../../store/types.js';
import { DatabaseParams, duration, pathParam, roleName, slug } from './common.js';

export const RoleParams = DatabaseParams.extend({ name: slug.openapi(pathParam('name')) });

export const RoleInput = z
  .object({
    member_of: z.array(roleName).max(16).default([]),
    search_path: z.array(roleName).max(16).optional(),
    read_only: z.boolean().optional(),
    allow_write: z.boolean().default(false),
    default_ttl: duration.optional(),
    max_ttl: duration.optional(),
    max_session: duration.optional().openapi({
      type: 'string',
      example: '8h',
      description:
        'How long a session opened on a lease may keep running after the lease expires (default 8h, at most 24h). ' +
        'Expiry only stops new logins; the sweep drops an expired role once its last session ends, ' +
        'and terminates sessions still open this long after expiry.',
    }),
    creation_statements: z.string().min(1).max(8192).optional(),
    revocation_statements: z.string().min(1).max(8192).optional(),
    renew_statements: z.string().min(1).max(8192).optional(),
  })
  .strict()
  .openapi('RoleInput');

export const Role = z
  .object({
    name: z.string(),
    database: z.string(),
    member_of: z.array(z.string()),
    search_path: z.array(z.string()).nullable(),
    read_only: z.boolean(),
    allow_write: z.boolean(),
    default_ttl: z.number(),
    max_ttl: z.number(),
    max_session: z.number().openapi({ description: 'Seconds a session may outlive its lease’s expiry' }),
    creation_statements: z.string().nullable(),
    revocation_statements: z.string().nullable(),
    renew_statements: z.string().nullable(),
  })
  .openapi('Role');

export const RoleList = z.object({ roles: z.array(Role) });

export const roleDefinition = (b: z.output<typeof RoleInput>) => ({
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

export const presentRole = (r: RoleRecord): z.input<typeof Role> => ({
  name: r.name,
  database: r.databaseId,
  member_of: r.memberOf,
  search_path: r.searchPath,
  read_only: r.readOnly,
  allow_write: r.allowWrite,
  default_ttl: r.defaultTtl,
  max_ttl: r.maxTtl,
  max_session: r.maxSession,
  creation_statements: r.creationStatements,
  revocation_statements: r.revocationStatements,
  renew_statements: r.renewStatements,
});
