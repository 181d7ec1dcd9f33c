/**
 * Role definitions, checked against the target when they are saved: the
 * group roles must exist, templates may use only known variables, write
 * access must be asked for, and TTLs stay under the hard cap.
 *
 * @example
 *   await defineRole(deps, 'orders', 'readonly', { memberOf: ['orders_read'] });
 */
import type { Deps } from '../deps.js';
import { PgmintError } from '../errors.js';
import {
  DEFAULT_MAX_SESSION_SEC,
  DEFAULT_READONLY_TTL_SEC,
  DEFAULT_READWRITE_TTL_SEC,
  HARD_MAX_SESSION_SEC,
  HARD_MAX_TTL_SEC,
  MIN_TTL_SEC,
} from '../leases/ttl.js';
import { validateTemplate } from '../sql/template.js';
import type { RoleRecord } from '../store/types.js';
import { type AdminRequest, registeredDatabase } from './lookup.js';

export interface RoleDefinition {
  memberOf: string[];
  searchPath?: string[];
  readOnly?: boolean;
  allowWrite: boolean;
  defaultTtl?: number;
  maxTtl?: number;
  /** Seconds a session may outlive the lease's expiry (default 8 h, at most 24 h). */
  maxSession?: number;
  creationStatements?: string;
  revocationStatements?: string;
  renewStatements?: string;
}

const invalid = (field: string, message: string) => new PgmintError('invalid_request', message, { details: { field } });

export async function defineRole(
  deps: Deps,
  databaseId: string,
  name: string,
  d: RoleDefinition,
  request: AdminRequest,
): Promise<RoleRecord> {
  const db = await registeredDatabase(deps, databaseId);
  const readOnly = d.readOnly ?? !d.allowWrite;
  if (!readOnly && !d.allowWrite) throw invalid('allow_write', 'a read/write role needs "allow_write": true');
  if (d.memberOf.length === 0 && !d.creationStatements) {
    throw invalid('member_of', 'name at least one group role, or give creation_statements');
  }
  for (const [field, template] of [
    ['creation_statements', d.creationStatements],
    ['revocation_statements', d.revocationStatements],
    ['renew_statements', d.renewStatements],
  ] as const) {
    const problem = template ? validateTemplate(template) : null;
    if (problem) throw invalid(field, problem);
  }
  const maxTtl = d.maxTtl ?? HARD_MAX_TTL_SEC;
  if (maxTtl < MIN_TTL_SEC) throw invalid('max_ttl', `max_ttl must be at least ${MIN_TTL_SEC} seconds`);
  if (d.defaultTtl !== undefined && d.defaultTtl < MIN_TTL_SEC)
    throw invalid('default_ttl', `default_ttl must be at least ${MIN_TTL_SEC} seconds`);
  if (maxTtl > HARD_MAX_TTL_SEC) throw invalid('max_ttl', `max_ttl cannot exceed ${HARD_MAX_TTL_SEC} seconds`);
  const defaultTtl = Math.min(d.defaultTtl ?? (readOnly ? DEFAULT_READONLY_TTL_SEC : DEFAULT_READWRITE_TTL_SEC), maxTtl);
  if (d.defaultTtl !== undefined && d.defaultTtl > maxTtl) throw invalid('default_ttl', 'default_ttl cannot exceed max_ttl');
  const maxSession = d.maxSession ?? DEFAULT_MAX_SESSION_SEC;
  if (maxSession > HARD_MAX_SESSION_SEC) throw invalid('max_session', `max_session cannot exceed ${HARD_MAX_SESSION_SEC} seconds`);

  if (d.memberOf.length > 0) {
    const missing = await deps.targets.missingRoles(db, d.memberOf);
    if (missing.length > 0) {
      throw new PgmintError('invalid_config', `group role(s) not found on the target: ${missing.join(', ')}`, {
        details: { field: 'member_of' },
      });
    }
  }
  const role = await deps.store.roles.put({
    databaseId,
    name,
    memberOf: d.memberOf,
    searchPath: d.searchPath ?? null,
    readOnly,
    allowWrite: d.allowWrite,
    defaultTtl,
    maxTtl,
    maxSession,
    creationStatements: d.creationStatements ?? null,
    revocationStatements: d.revocationStatements ?? null,
    renewStatements: d.renewStatements ?? null,
  });
  const { admin, requestId } = request;
  await deps.store.audit.append({ action: 'role.define', outcome: 'success', databaseId, roleName: name, requestId, subject: admin });
  return role;
}
