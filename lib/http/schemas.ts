/**
 * Request and response schemas. The same zod objects validate requests and
 * generate /openapi.json, so the document cannot drift from the code.
 */
import { z } from '@hono/zod-openapi';
import { MIN_TTL_SEC, parseDuration } from '../leases/ttl.js';
import { checkLeasePrefix } from '../sql/lease-name.js';

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, _ and -, at most 63 characters');

/** Postgres role names as pgmint accepts them from configuration. */
const roleName = z.string().min(1).max(63).regex(/^[^\0]+$/, 'must not contain NUL');

/** Ten years: longer than any lease or rotation period, and within Postgres's integer. */
const MAX_DURATION_SEC = 315_360_000;

const duration = z
  .union([z.number().int().positive().max(MAX_DURATION_SEC), z.string().max(16)])
  .transform((v, ctx) => {
    const seconds = typeof v === 'number' ? v : parseDuration(v);
    if (seconds === null || seconds < 1 || seconds > MAX_DURATION_SEC) {
      ctx.addIssue({ code: 'custom', message: `a number of seconds (1 to ${MAX_DURATION_SEC}) or a duration such as 15m or 1h` });
      return z.NEVER;
    }
    return seconds;
  })
  .openapi({
    oneOf: [
      { type: 'integer', minimum: 1, maximum: MAX_DURATION_SEC },
      { type: 'string', pattern: '^(?:\\d{1,6}|(?:\\d{1,3}h)?(?:\\d{1,4}m)?(?:\\d{1,6}s)?)$', maxLength: 16 },
    ],
    example: '1h',
  });

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

export const DatabaseParams = z.object({ db: slug.openapi({ param: { name: 'db', in: 'path' } }) });
export const RoleParams = DatabaseParams.extend({ name: slug.openapi({ param: { name: 'name', in: 'path' } }) });
export const IssuerParams = DatabaseParams.extend({ id: z.string().uuid().openapi({ param: { name: 'id', in: 'path' } }) });

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
    root_rotated_at: z.string(),
    rotation_period: z.number(),
    lease_prefix: z.string(),
    created_at: z.string(),
  })
  .openapi('Database');

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
        'How long a session opened on a lease may keep running after the lease expires (default 8h, at most 24h). Expiry only stops new logins; the sweep drops an expired role once its last session ends, and terminates sessions still open this long after expiry.',
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
    created_at: z.string(),
  })
  .openapi('Issuer');

export const RegisteredIssuer = Issuer.extend({
  discovery: DiscoveryCheck.openapi({ description: 'What discovery and a key fetch found at registration (null for pinned keys)' }),
}).openapi('RegisteredIssuer');

export const ExchangeQuery = z.object({
  role: slug.optional().openapi({ param: { name: 'role', in: 'query' } }),
  ttl: z
    .string()
    .max(16)
    .optional()
    .openapi({
      param: { name: 'ttl', in: 'query' },
      example: '15m',
      description: `Lease lifetime: seconds or a duration (90s, 15m, 1h); at least ${MIN_TTL_SEC} s (shorter is 400 invalid_request naming ttl), at most the role's max_ttl and never over 8h. VALID UNTIL is rounded up to the whole second.`,
    }),
});

export const Credentials = z
  .object({
    host: z.string(),
    port: z.number(),
    database: z.string(),
    user: z.string(),
    password: z.string(),
    sslmode: z.string(),
    expires_at: z.string(),
    refresh_at: z.string(),
    connection_uri: z.string(),
    lease_id: z.string(),
    role: z.string(),
  })
  .openapi('Credentials');

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number(),
    detail: z.string().optional(),
    code: z.string(),
    request_id: z.string(),
  })
  .openapi('Problem');
