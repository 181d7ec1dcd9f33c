/**
 * Admin tokens beyond the bootstrap one: minted with scopes (never more than
 * the minting token holds), shown once, stored as a SHA-256 hash, and revoked
 * only by a token holding every scope of the one it revokes.
 *
 * @example
 *   const { record, token } = await mintAdminToken(deps, admin, { name: 'ci', scopes: ['leases:read'] });
 */
import type { Deps } from '../deps.js';
import { toBase64Url } from '../crypto/encoding.js';
import { PgmintError } from '../errors.js';
import type { AdminTokenRecord } from '../store/index.js';
import { type AdminIdentity, scopesBeyond } from './scopes.js';
import { tokenHash } from './secret.js';

/** Recognisable to secret scanners, like lease passwords' `pgm_`. */
export const ADMIN_TOKEN_PREFIX = 'pgmat_';

export async function mintAdminToken(
  deps: Deps,
  admin: AdminIdentity,
  request: { name: string; scopes: readonly string[]; requestId?: string },
): Promise<{ record: AdminTokenRecord; token: string }> {
  const beyond = scopesBeyond(admin, request.scopes);
  if (beyond.length > 0) {
    throw new PgmintError('insufficient_scope', 'a token cannot grant scopes it does not hold', { details: { scope: beyond[0] } });
  }
  const token = ADMIN_TOKEN_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  const scopes = [...new Set(request.scopes)];
  const hash = await tokenHash(token);
  const record = await deps.store.adminTokens.create({ name: request.name, scopes, tokenHash: hash, createdBy: admin.name });
  await deps.store.audit.append({
    action: 'admin_token.create',
    outcome: 'success',
    requestId: request.requestId,
    subject: admin.name,
    detail: { token_id: record.id, name: request.name, scopes },
  });
  return { record, token };
}

export async function revokeAdminToken(deps: Deps, admin: AdminIdentity, id: string, requestId?: string): Promise<AdminTokenRecord> {
  const target = await deps.store.adminTokens.get(id);
  if (!target) throw new PgmintError('not_found', 'no such admin token');
  const beyond = scopesBeyond(admin, target.scopes);
  if (beyond.length > 0) {
    const message = 'a token cannot revoke a token with scopes it does not hold';
    const refusal = new PgmintError('insufficient_scope', message, { details: { scope: beyond[0] } });
    await deps.store.audit.append({
      action: 'admin_token.revoke',
      outcome: 'denied',
      code: refusal.code,
      requestId,
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
    requestId,
    subject: admin.name,
    detail: { token_id: record.id, name: record.name },
  });
  return record;
}
