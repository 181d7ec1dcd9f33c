/**
 * Configures a running OpenBao the way the bench stack configures pgmint, so
 * the two hand out the same thing for the same proof: JWT auth trusting the
 * stack's issuer (its JWKS over loopback, its `iss`, the `pgmint` audience,
 * service accounts of namespace `prod`), a policy that may only read one
 * role's credentials, and the database secrets engine's built-in PostgreSQL
 * plugin connected to the target as a non-superuser broker, with a role
 * whose creation statements make the login pgmint's `readonly` role makes.
 *
 * The broker is by default one of OpenBao's own with exactly the privileges
 * of pgmint's (CREATEROLE, the groups WITH ADMIN OPTION but neither INHERIT
 * nor SET): pgmint's broker holds ADMIN OPTION on its ~1,000 creator roles,
 * and PostgreSQL 16+ re-walks all of them on every CREATE ROLE and ALTER ROLE
 * the broker runs itself, a cost an OpenBao deployment would not have.
 * `broker: 'shared'` connects as pgmint's broker anyway.
 *
 * @example
 *   const bao = await startBao(pg, { bin, log });
 *   const paths = await configureBao(bao, stack, { broker: 'own' });
 *   // POST paths.loginPath { role: paths.jwtRole, jwt } → GET paths.credsPath
 */
import { randomBytes } from 'node:crypto';
import { connectPg } from '../lib/db/pg.js';
import { ident, literal } from '../lib/sql/quote.js';
import { roles } from '../lib/store/roles.js';
import type { RoleRecord } from '../lib/store/types.js';
import type { RunningBao } from './bao-server.js';
import { DATABASE_ID, type Stack } from './stack.js';

export const BAO_ROLE = 'readonly';
/** Lease logins OpenBao makes start with `pgm_` like pgmint's, so dropLeaseRoles clears both between slices. */
export const BAO_USERNAME_PREFIX = 'pgm_bao_';

export interface BaoPaths {
  jwtRole: string;
  loginPath: string;
  credsPath: string;
  /** The statements OpenBao runs for each credential (templated by OpenBao). */
  creationStatements: string[];
  /** The pgmint role definition they mirror. */
  role: RoleRecord;
  /** The user OpenBao's database connection logs in as. */
  brokerUser: string;
}

export type BaoBroker = 'own' | 'shared';

/**
 * The statements `createLoginRoleSql` (lib/sql/role-sql.ts) sends for `role`,
 * with OpenBao's placeholders where pgmint puts the name, the SCRAM verifier
 * and the expiry. OpenBao runs them one by one in a transaction.
 */
export function baoCreationStatements(role: Pick<RoleRecord, 'memberOf' | 'searchPath' | 'readOnly'>): string[] {
  let create = `CREATE ROLE "{{name}}" LOGIN INHERIT PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'`;
  if (role.memberOf.length > 0) create += ` IN ROLE ${role.memberOf.map(ident).join(', ')}`;
  const statements = [create];
  if (role.searchPath !== null) {
    statements.push(
      `ALTER ROLE "{{name}}" SET search_path TO ${role.searchPath.length > 0 ? role.searchPath.map(ident).join(', ') : "''"}`,
    );
  }
  if (role.readOnly) statements.push(`ALTER ROLE "{{name}}" SET default_transaction_read_only = on`);
  return statements;
}

/** A broker for OpenBao alone, bootstrapped like pgmint's (lib/sql/bootstrap-sql.ts) for the groups `role` hands out. */
async function ownBroker(stack: Stack, role: RoleRecord): Promise<{ user: string; password: string }> {
  const user = `${stack.brokerUser.replace(/^pgmint_/, 'openbao_')}`;
  const password = randomBytes(18).toString('base64url');
  await stack.pg.su(stack.targetDb, async (c) => {
    const version = Number((await c.query('SHOW server_version_num')).rows[0].server_version_num);
    await c.query(
      `CREATE ROLE ${ident(user)} LOGIN CREATEROLE NOINHERIT NOSUPERUSER NOCREATEDB NOREPLICATION NOBYPASSRLS PASSWORD ${literal(password)}`,
    );
    // On 15 and older CREATEROLE alone may grant any non-superuser role, as for pgmint's broker.
    if (version >= 160000)
      for (const group of role.memberOf)
        await c.query(`GRANT ${ident(group)} TO ${ident(user)} WITH ADMIN OPTION, INHERIT FALSE, SET FALSE`);
  });
  return { user, password };
}

export async function configureBao(bao: RunningBao, stack: Stack, o: { broker: BaoBroker }): Promise<BaoPaths> {
  const control = connectPg({
    host: stack.pg.host,
    port: stack.pg.port,
    database: stack.controlDb,
    user: stack.pg.superuser,
    password: stack.pg.password,
    sslmode: 'disable',
    max: 1,
  });
  const role = await roles(control)
    .get(DATABASE_ID, BAO_ROLE)
    .finally(() => control.end());
  if (!role) throw new Error(`the stack has no role ${BAO_ROLE}`);
  const broker = o.broker === 'own' ? await ownBroker(stack, role) : { user: stack.brokerUser, password: stack.brokerPassword };
  const policy = 'bench-creds';
  const creationStatements = baoCreationStatements(role);
  const steps: Array<[string, string, unknown]> = [
    ['POST', '/v1/sys/auth/jwt', { type: 'jwt' }],
    // jwks_url, as pgmint keeps the issuer's keys: fetched once, cached, refetched for an unknown kid.
    ['POST', '/v1/auth/jwt/config', { jwks_url: `${stack.issuer.url}/openid/v1/jwks`, bound_issuer: stack.issuer.url }],
    ['PUT', `/v1/sys/policies/acl/${policy}`, { policy: `path "database/creds/${BAO_ROLE}" {\n  capabilities = ["read"]\n}\n` }],
    [
      'POST',
      `/v1/auth/jwt/role/${BAO_ROLE}`,
      {
        role_type: 'jwt',
        bound_audiences: ['pgmint'],
        user_claim: 'sub',
        // pgmint's issuer registration allows `prod/*`; this is the same bound on the token's subject.
        bound_claims_type: 'glob',
        bound_claims: { sub: 'system:serviceaccount:prod:*' },
        token_policies: [policy],
        token_ttl: role.defaultTtl,
      },
    ],
    ['POST', '/v1/sys/mounts/database', { type: 'database' }],
    [
      'POST',
      `/v1/database/config/${DATABASE_ID}`,
      {
        plugin_name: 'postgresql-database-plugin',
        connection_url: `postgresql://{{username}}:{{password}}@${stack.pg.host}:${stack.pg.port}/${stack.targetDb}?sslmode=disable`,
        username: broker.user,
        password: broker.password,
        allowed_roles: [BAO_ROLE],
        username_template: `${BAO_USERNAME_PREFIX}{{random 10 | lowercase}}`,
        // pgmint never sends a plaintext password; with this OpenBao sends a SCRAM verifier too (computed per request).
        password_authentication: 'scram-sha-256',
        // pgmint's pool per target (PGMINT_POOL_SIZE, default 4) is OpenBao's default too; stated so a changed one follows.
        max_open_connections: Number(stack.env.PGMINT_POOL_SIZE ?? 4),
      },
    ],
    [
      'POST',
      `/v1/database/roles/${BAO_ROLE}`,
      { db_name: DATABASE_ID, creation_statements: creationStatements, default_ttl: role.defaultTtl, max_ttl: role.maxTtl },
    ],
  ];
  for (const [method, path, body] of steps) await bao.api(method, path, body);
  return {
    jwtRole: BAO_ROLE,
    loginPath: '/v1/auth/jwt/login',
    credsPath: `/v1/database/creds/${BAO_ROLE}`,
    creationStatements,
    role,
    brokerUser: broker.user,
  };
}
