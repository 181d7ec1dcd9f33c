/**
 * The audit log on the wire: its filters, cursor paging (newest first), and
 * one entry as shown.
 *
 * @example
 *   return c.json(presentAuditPage(entries, q.limit), 200);
 */
import { z } from '@hono/zod-openapi';
import type { AuditRecord } from '../../store/types.js';
import { instant, limit, queryParam, slug, timestamp } from './common.js';

export const AuditQuery = z.object({
  database: slug.optional().openapi(queryParam('database')),
  action: z.string().min(1).max(64).optional().openapi(queryParam('action')),
  outcome: z.enum(['success', 'denied', 'error']).optional().openapi(queryParam('outcome')),
  subject: z.string().min(1).max(512).optional().openapi(queryParam('subject')),
  issuer: z.string().min(1).max(2048).optional().openapi(queryParam('issuer')),
  since: instant.optional().openapi(queryParam('since')),
  until: instant.optional().openapi(queryParam('until')),
  cursor: z
    .string()
    .regex(/^[0-9]{1,18}$/, 'a next_cursor value from a previous page')
    .optional()
    .openapi(queryParam('cursor')),
  limit: limit.default(100).openapi({ ...queryParam('limit'), type: 'integer' }),
});

export const AuditEntry = z
  .object({
    id: z.string(),
    at: timestamp,
    action: z.string(),
    outcome: z.string(),
    code: z.string().nullable(),
    request_id: z.string().nullable(),
    database: z.string().nullable(),
    subject: z.string().nullable(),
    issuer: z.string().nullable(),
    pod: z.string().nullable(),
    lease_id: z.string().nullable(),
    role: z.string().nullable(),
    user: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  })
  .openapi('AuditEntry');

export const AuditPage = z.object({ entries: z.array(AuditEntry), next_cursor: z.string().nullable() }).openapi('AuditPage');

export const presentAudit = (e: AuditRecord): z.input<typeof AuditEntry> => ({
  id: e.id,
  at: e.at,
  action: e.action,
  outcome: e.outcome,
  code: e.code ?? null,
  request_id: e.requestId ?? null,
  database: e.databaseId ?? null,
  subject: e.subject ?? null,
  issuer: e.issuer ?? null,
  pod: e.pod ?? null,
  lease_id: e.leaseId ?? null,
  role: e.roleName ?? null,
  user: e.username ?? null,
  detail: e.detail ?? {},
});

/** A page of entries: the next page starts before the last one when this one is full. */
export const presentAuditPage = (entries: AuditRecord[], pageSize: number): z.input<typeof AuditPage> => ({
  entries: entries.map(presentAudit),
  next_cursor: entries.length === pageSize ? entries.at(-1)!.id : null,
});
