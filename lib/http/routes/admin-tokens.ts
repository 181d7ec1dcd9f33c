/**
 * Admin tokens beyond the bootstrap one: created with scopes (never more than
 * the creating token holds), shown once, stored as a SHA-256 hash, listed
 * without secrets, and revoked.
 */
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { Deps } from '../../context.js';
import { toBase64Url } from '../../crypto/encoding.js';
import { PgmintError } from '../../errors.js';
import type { AdminTokenRecord } from '../../store/admin-tokens.js';
import { requireScope, type Scope } from '../admin.js';
import { tokenHash } from '../auth.js';
import { jsonOnly } from '../media-type.js';
import type { AppEnv } from '../env.js';
import { AdminToken, AdminTokenInput, NewAdminToken, TokenIdParams } from '../lifecycle-schemas.js';
import { adminErrors, adminSecurity, bodyErrors, json, problem } from './describe.js';

/** Recognisable to secret scanners, like lease passwords' `pgm_`. */
export const ADMIN_TOKEN_PREFIX = 'pgmat_';

const errors = adminErrors;
const security = adminSecurity;

const presentToken = (t: AdminTokenRecord) => ({
  id: t.id,
  name: t.name,
  scopes: t.scopes,
  created_at: t.createdAt,
  created_by: t.createdBy,
  revoked_at: t.revokedAt,
});

export function adminTokenRoutes(app: OpenAPIHono<AppEnv>, deps: Deps) {
  const write = requireScope(deps, 'tokens:write');

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/admin-tokens',
      summary: 'Create an admin token; the secret is in this answer only',
      security,
      middleware: [write, jsonOnly] as const,
      request: { body: { content: { 'application/json': { schema: AdminTokenInput } }, required: true } },
      responses: { 201: json(NewAdminToken, 'Created'), ...errors, ...bodyErrors },
    }),
    async (c) => {
      const { name, scopes } = c.req.valid('json');
      const admin = c.get('admin');
      const beyond = scopes.filter((s) => !admin.scopes.includes(s as Scope));
      if (beyond.length > 0) {
        throw new PgmintError('insufficient_scope', 'a token cannot grant scopes it does not hold', { details: { scope: beyond[0] } });
      }
      const token = ADMIN_TOKEN_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
      const unique = [...new Set(scopes)];
      const record = await deps.store.adminTokens.create({ name, scopes: unique, tokenHash: await tokenHash(token), createdBy: admin.name });
      await deps.store.audit.append({
        action: 'admin_token.create',
        outcome: 'success',
        requestId: c.get('requestId'),
        subject: admin.name,
        detail: { token_id: record.id, name, scopes: unique },
      });
      c.header('cache-control', 'no-store');
      return c.json({ ...presentToken(record), token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/admin-tokens',
      summary: 'List admin tokens (never their secrets)',
      security,
      middleware: [write] as const,
      responses: { 200: json(z.object({ tokens: z.array(AdminToken) }), 'Tokens'), ...errors },
    }),
    async (c) => c.json({ tokens: (await deps.store.adminTokens.list()).map(presentToken) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/admin-tokens/{id}',
      summary: 'Revoke an admin token',
      security,
      middleware: [write] as const,
      request: { params: TokenIdParams },
      responses: { 200: json(AdminToken, 'Revoked'), ...errors, 403: problem('Missing scope, or the token holds scopes the caller lacks'), 404: problem('No such token') },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const admin = c.get('admin');
      const target = await deps.store.adminTokens.get(id);
      if (!target) throw new PgmintError('not_found', 'no such admin token');
      // Like creating, revoking is limited to tokens whose scopes the caller holds.
      const beyond = target.scopes.filter((s) => !admin.scopes.includes(s as Scope));
      if (beyond.length > 0) {
        const refusal = new PgmintError('insufficient_scope', 'a token cannot revoke a token with scopes it does not hold', { details: { scope: beyond[0] } });
        await deps.store.audit.append({
          action: 'admin_token.revoke',
          outcome: 'denied',
          code: refusal.code,
          requestId: c.get('requestId'),
          subject: admin.name,
          detail: { token_id: id, scope: beyond[0] },
        });
        throw refusal;
      }
      const record = await deps.store.adminTokens.revoke(id);
      if (!record) throw new PgmintError('not_found', 'no such admin token');
      await deps.store.audit.append({
        action: 'admin_token.revoke',
        outcome: 'success',
        requestId: c.get('requestId'),
        subject: admin.name,
        detail: { token_id: record.id, name: record.name },
      });
      return c.json(presentToken(record), 200);
    },
  );
}
