/**
 * Target databases on the wire: what registering one takes, and how a
 * registered one is shown (never its admin password).
 *
 * @example
 *   return c.json(presentDatabase(record), 201);
 */
import { z } from '@hono/zod-openapi';
import { checkLeasePrefix } from '../../sql/lease-name.js';
import type { DatabaseRecord } from '../../store/types.js';
import { duration, queryParam, roleName, slug, timestamp } from './common.js';

const sslmode = z.enum(['disable', 'prefer', 'require', 'verify-full']);

export const DatabaseInput = z
  .object({
    id: slug,
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string().min(1).max(63),
    admin_user: roleName,
    admin_password: z.string().min(1).max(1024),
    sslmode: sslmode.default('require'),
    public_host: z.string().min(1).max(255).optional(),
    public_port: z.number().int().min(1).max(65535).optional(),
    public_sslmode: sslmode.optional(),
    rotation_period: duration.optional(),
    lease_prefix: z
      .string()
      .default('pgm')
      .superRefine((v, ctx) => {
        const problem = checkLeasePrefix(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
  })
  .strict()
  .openapi('DatabaseInput');

export const Database = z
  .object({
    id: z.string(),
    host: z.string(),
    port: z.number(),
    database: z.string(),
    admin_user: z.string(),
    sslmode: z.string(),
    public_host: z.string().nullable(),
    public_port: z.number().nullable(),
    public_sslmode: z.string().nullable(),
    root_rotated_at: timestamp,
    rotation_period: z.number(),
    lease_prefix: z.string(),
    created_at: timestamp,
  })
  .openapi('Database');

export const DatabaseList = z.object({ databases: z.array(Database) });

export const DeleteDatabaseQuery = z.object({
  force: z
    .enum(['true', 'false'])
    .optional()
    .openapi({ ...queryParam('force'), description: 'With live leases: true revokes them first (nothing is deleted while any is left)' }),
});

export const databaseRegistration = (b: z.output<typeof DatabaseInput>) => ({
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

export const presentDatabase = (d: DatabaseRecord): z.input<typeof Database> => ({
  id: d.id,
  host: d.host,
  port: d.port,
  database: d.database,
  admin_user: d.adminUser,
  sslmode: d.sslmode,
  public_host: d.publicHost,
  public_port: d.publicPort,
  public_sslmode: d.publicSslmode,
  root_rotated_at: d.rootRotatedAt,
  rotation_period: d.rotationPeriodSec,
  lease_prefix: d.leasePrefix,
  created_at: d.createdAt,
});
