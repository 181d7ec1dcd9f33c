/**
 * The exchange on the wire: which issuer kind, role and lifetime are asked
 * for, and the credentials document a workload receives (shown once).
 *
 * @example
 *   GET /api/v1/databases/orders/credentials/k8s?role=readonly&ttl=15m
 */
import { z } from '@hono/zod-openapi';
import { type Credentials as LeaseCredentials, isoSeconds } from '../../leases/credentials.js';
import { MIN_TTL_SEC } from '../../leases/ttl.js';
import { DatabaseParams, pathParam, queryParam, slug, timestamp, ttlQuery } from './common.js';

export const KindParams = DatabaseParams.extend({ kind: z.enum(['k8s', 'oidc']).openapi(pathParam('kind')) });

export const ExchangeQuery = z.object({
  role: slug.optional().openapi(queryParam('role')),
  ttl: ttlQuery(
    '15m',
    `Lease lifetime: seconds or a duration (90s, 15m, 1h); at least ${MIN_TTL_SEC} s (shorter is 400 invalid_request naming ttl), ` +
      "at most the role's max_ttl and never over 8h. VALID UNTIL is rounded up to the whole second.",
  ),
});

/** The credentials document a workload receives (shown once). */
export const Credentials = z
  .object({
    host: z.string(),
    port: z.number(),
    database: z.string(),
    user: z.string(),
    password: z.string(),
    sslmode: z.string(),
    expires_at: timestamp,
    refresh_at: timestamp,
    connection_uri: z.string(),
    lease_id: z.string(),
    role: z.string(),
  })
  .openapi('Credentials');

/** The document as a client reads it (the CLI and the proxy). */
export type CredentialsDocument = z.output<typeof Credentials>;

export const presentCredentials = (c: LeaseCredentials): CredentialsDocument => ({
  host: c.host,
  port: c.port,
  database: c.database,
  user: c.user,
  password: c.password,
  sslmode: c.sslmode,
  expires_at: isoSeconds(c.expiresAt),
  refresh_at: isoSeconds(c.refreshAt),
  connection_uri: c.connectionUri,
  lease_id: c.leaseId,
  role: c.role,
});
