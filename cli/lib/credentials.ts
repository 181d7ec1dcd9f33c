/**
 * Minting credentials for a person: resolve the token, pick the exchange
 * kind and role, call the broker, and explain a refused read/write request.
 *
 * @example
 *   const creds = await mintCredentials('orders', { url, tokenFile: 'token', kind: 'auto' });
 */
import type { CredentialsDocument as Credentials } from '../../lib/http/schemas/exchange.js';
import { brokerRequest, seg } from './broker.js';
import { CliError, rememberSecret } from './errors.js';
import type { IdentityOptions } from './options.js';
import { exchangeKind, resolveToken } from './token.js';

export type { Credentials };

export const READWRITE_ROLE = 'readwrite';

/** `--readonly` (default) leaves the role to the issuer unless --role names one; `--readwrite` asks for the read/write role. */
export function requestedRole(o: Pick<IdentityOptions, 'role' | 'readwrite'>): string | undefined {
  if (o.readwrite) return o.role ?? READWRITE_ROLE;
  return o.role;
}

function readwriteRefused(db: string, role: string, err: CliError): CliError {
  return new CliError('not_allowed', `read/write access to "${db}" (role "${role}") is not allowed for your identity`, {
    hint:
      `use --readonly (the default) for read access. For writes, an operator must define "${role}" with --allow-write ` +
      `(\`pgmint role put ${db} ${role} --member-of <group> --allow-write\`) and let your issuer hand it out ` +
      `(\`pgmint issuer add ${db} … --allowed-role ${role}\`)`,
    requestId: err.requestId,
  });
}

async function exchange(db: string, o: IdentityOptions, form: 'credentials' | 'connect', token?: string): Promise<Response> {
  token ??= await resolveToken({ token: o.token, tokenFile: o.tokenFile });
  const kind = o.kind === 'auto' ? exchangeKind(token) : o.kind;
  const role = requestedRole(o);
  try {
    return await brokerRequest(o, 'GET', `/api/v1/databases/${seg(db)}/${form}/${kind}`, {
      bearer: token,
      query: { role, ttl: o.ttl },
      label: `minting credentials for ${db}`,
    });
  } catch (err) {
    if (err instanceof CliError && err.code === 'not_allowed' && o.readwrite) throw readwriteRefused(db, role ?? READWRITE_ROLE, err);
    throw err;
  }
}

export async function mintCredentials(db: string, o: IdentityOptions): Promise<Credentials> {
  return (await mintLease(db, o)).creds;
}

/**
 * A role without allow_write is always created read-only, and the broker
 * cannot tell a workload which one it got: for --readwrite, one short login
 * checks, and a read-only login is revoked and refused rather than handed out.
 * An unreachable database (behind a bastion) skips the check.
 */
export async function refuseReadOnly(db: string, lease: Lease, facts?: { readOnly: boolean } | null): Promise<void> {
  if (facts === undefined) {
    const { probeSession } = await import('./probe.js');
    facts = await probeSession(lease.creds, lease.creds, 3000).catch(() => null);
  }
  if (!facts?.readOnly) return;
  await lease.release();
  const role = lease.creds.role;
  throw new CliError('not_allowed', `role "${role}" of "${db}" is read-only, so --readwrite cannot be honoured`, {
    hint: `use --readonly, ask for a read/write role with --role, or ask an operator to allow writes (\`pgmint role put ${db} ${role} --member-of <group> --allow-write\`)`,
  });
}

export interface Lease {
  creds: Credentials;
  /** Revokes the lease with the same identity, best effort: the login expires on its own anyway. */
  release(): Promise<void>;
}

/** For verbs that use the login themselves (shell, tunnel): it can end when they do. */
export async function mintLease(db: string, o: IdentityOptions & { skipWriteCheck?: boolean }): Promise<Lease> {
  const token = await resolveToken({ token: o.token, tokenFile: o.tokenFile });
  const creds = (await (await exchange(db, o, 'credentials', token)).json()) as Credentials;
  rememberSecret(creds.password);
  const lease: Lease = {
    creds,
    async release() {
      try {
        await brokerRequest(o, 'DELETE', `/api/v1/leases/${seg(creds.lease_id)}`, {
          bearer: token,
          label: 'revoking the login',
          timeoutMs: 15_000,
        });
        process.stderr.write(`Login ${creds.user} revoked.\n`);
      } catch (err) {
        const why = err instanceof CliError ? err.code : 'failed';
        process.stderr.write(`note: could not revoke ${creds.user} (${why}); it expires on its own at ${creds.expires_at}.\n`);
      }
    },
  };
  if (o.readwrite && !o.skipWriteCheck) await refuseReadOnly(db, lease);
  return lease;
}

/** The `connect` form: the URI alone. */
export async function mintConnectionUri(db: string, o: IdentityOptions): Promise<string> {
  // A read/write request is checked, which needs the lease id the JSON form carries.
  if (o.readwrite) return (await mintLease(db, o)).creds.connection_uri;
  const res = await exchange(db, o, 'connect');
  return (await res.text()).trim();
}

/** What psql, pg_dump and every libpq client read, so nothing secret goes on a command line. */
export function libpqEnv(
  c: Pick<Credentials, 'host' | 'port' | 'user' | 'password' | 'database' | 'sslmode'>,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // A PGSERVICE or PGPASSFILE from the person's shell must not override the minted login.
  for (const name of ['PGSERVICE', 'PGSERVICEFILE', 'PGPASSFILE', 'PGHOSTADDR']) delete env[name];
  return {
    ...env,
    PGHOST: c.host,
    PGPORT: String(c.port),
    PGUSER: c.user,
    PGPASSWORD: c.password,
    PGDATABASE: c.database,
    PGSSLMODE: c.sslmode,
    PGAPPNAME: env.PGAPPNAME ?? 'pgmint',
    PGCONNECT_TIMEOUT: env.PGCONNECT_TIMEOUT ?? '15',
  };
}
