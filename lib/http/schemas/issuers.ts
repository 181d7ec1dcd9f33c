/**
 * Trusted token issuers on the wire: what trusting one takes, how one is
 * shown (whether keys are pinned, never the keys), and the fetch failures that
 * registration and health report.
 *
 * @example
 *   return c.json({ ...presentIssuer(issuer), discovery }, 201);
 */
import { z } from '@hono/zod-openapi';
import { parseDuration } from '../../leases/ttl.js';
import type { IssuerRecord } from '../../store/types.js';
import { DatabaseParams, pathParam, slug, timestamp } from './common.js';

/** Longest token lifetime: seconds or a duration; 0 means no limit. */
const MAX_LIFETIME_SEC = 10 * 365 * 86_400;
const lifetime = z
  .union([z.number().int().min(0).max(MAX_LIFETIME_SEC), z.string().max(16)])
  .transform((v, ctx) => {
    const seconds = v === '0' ? 0 : typeof v === 'number' ? v : parseDuration(v);
    if (seconds === null || seconds < 0 || seconds > MAX_LIFETIME_SEC) {
      ctx.addIssue({ code: 'custom', message: 'a number of seconds or a duration such as 48h; 0 for no limit' });
      return z.NEVER;
    }
    return seconds;
  })
  .openapi({ type: 'string', example: '48h' });

export const IssuerParams = DatabaseParams.extend({ id: z.string().uuid().openapi(pathParam('id')) });

const jwk = z.record(z.string(), z.unknown());

export const IssuerInput = z
  .object({
    kind: z.enum(['k8s', 'oidc']).default('k8s'),
    issuer: z.string().min(1).max(2048),
    audiences: z.array(z.string().min(1).max(512)).min(1).max(16).optional(),
    allowed_service_accounts: z.array(z.string().min(3).max(253)).max(256).default([]),
    allowed_subjects: z.array(z.string().min(1).max(512)).max(256).default([]),
    bound_claims: z.record(z.string().min(1).max(128), z.union([z.string(), z.array(z.string())])).default({}),
    default_role: slug,
    allowed_roles: z.array(slug).max(32).optional(),
    jwks: z.object({ keys: z.array(jwk).min(1).max(64) }).optional(),
    pem_keys: z.array(z.string().min(1).max(16384)).min(1).max(16).optional(),
    max_leases_per_workload: z.number().int().min(1).max(10000).default(10),
    max_token_lifetime: lifetime
      .default(172_800)
      .openapi({ description: 'Longest token accepted (exp - iat); default 48h, 0 = no limit (legacy tokens)' }),
    require_bound_pod: z
      .boolean()
      .default(false)
      .openapi({ description: 'k8s: refuse tokens not bound to a pod (kubectl create token has none)' }),
    ca_pem: z
      .string()
      .min(1)
      .max(65_536)
      .optional()
      .openapi({ description: "PEM CA certificates trusted for this issuer's discovery and key fetches (Node and Lambda only)" }),
  })
  .strict()
  .openapi('IssuerInput');

export const FetchFailure = z
  .object({
    stage: z.enum(['discovery', 'jwks']),
    url: z.string(),
    status: z.number().optional(),
    tls_code: z.string().optional(),
    error_code: z.string().optional(),
    reason: z.string(),
  })
  .openapi('FetchFailure');

export const DiscoveryCheck = z
  .object({ ok: z.boolean(), keys: z.number().optional(), failure: FetchFailure.optional(), hint: z.string().optional() })
  .nullable()
  .openapi('DiscoveryCheck');

export const Issuer = z
  .object({
    id: z.string(),
    database: z.string(),
    kind: z.string(),
    issuer: z.string(),
    audiences: z.array(z.string()),
    allowed_service_accounts: z.array(z.string()),
    allowed_subjects: z.array(z.string()),
    bound_claims: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    default_role: z.string(),
    allowed_roles: z.array(z.string()),
    pinned_keys: z.boolean(),
    max_leases_per_workload: z.number(),
    max_token_lifetime: z.number(),
    require_bound_pod: z.boolean(),
    ca_pem: z.boolean().openapi({ description: 'Whether the issuer has its own CA' }),
    created_at: timestamp,
  })
  .openapi('Issuer');

export const RegisteredIssuer = Issuer.extend({
  discovery: DiscoveryCheck.openapi({ description: 'What discovery and a key fetch found at registration (null for pinned keys)' }),
}).openapi('RegisteredIssuer');

export const IssuerList = z.object({ issuers: z.array(Issuer) });

/** The input as the registry takes it; audiences default to the broker's own. */
export const issuerTrust = (b: z.output<typeof IssuerInput>, defaultAudience: string) => ({
  kind: b.kind,
  issuer: b.issuer,
  audiences: b.audiences ?? [defaultAudience],
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

export const presentIssuer = (i: IssuerRecord): z.input<typeof Issuer> => ({
  id: i.id,
  database: i.databaseId,
  kind: i.kind,
  issuer: i.issuer,
  audiences: i.audiences,
  allowed_service_accounts: i.allowedServiceAccounts,
  allowed_subjects: i.allowedSubjects,
  bound_claims: i.boundClaims,
  default_role: i.defaultRole,
  allowed_roles: i.allowedRoles,
  pinned_keys: Boolean(i.pinnedJwks || i.pinnedPems),
  max_leases_per_workload: i.maxLeasesPerWorkload,
  max_token_lifetime: i.maxTokenLifetimeSec,
  require_bound_pod: i.requireBoundPod,
  ca_pem: i.caPem !== null,
  created_at: i.createdAt,
});
