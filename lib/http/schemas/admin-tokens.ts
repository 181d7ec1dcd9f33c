/**
 * Admin tokens on the wire: what minting one takes, and how one is shown
 * (the secret only in the answer that mints it).
 *
 * @example
 *   return c.json({ ...presentAdminToken(record), token }, 201);
 */
import { z } from '@hono/zod-openapi';
import { SCOPES } from '../../admin/index.js';
import type { AdminTokenRecord } from '../../store/index.js';
import { IdParams, timestamp } from './common.js';

export const TokenIdParams = IdParams;

export const AdminTokenInput = z
  .object({
    name: z.string().min(1).max(128),
    scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
  })
  .strict()
  .openapi('AdminTokenInput');

export const AdminToken = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()),
    created_at: timestamp,
    created_by: z.string().nullable(),
    revoked_at: timestamp.nullable(),
  })
  .openapi('AdminToken');

export const NewAdminToken = AdminToken.extend({ token: z.string() }).openapi('NewAdminToken');

export const AdminTokenList = z.object({ tokens: z.array(AdminToken) });

export const presentAdminToken = (t: AdminTokenRecord): z.input<typeof AdminToken> => ({
  id: t.id,
  name: t.name,
  scopes: t.scopes,
  created_at: t.createdAt,
  created_by: t.createdBy,
  revoked_at: t.revokedAt,
});
