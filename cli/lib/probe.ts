/**
 * One short session with freshly minted credentials, to learn what the GUI
 * block and pg_dump need: the role's own search_path (a tenant-scoped role
 * has one), whether it is read-only, and the server version.
 *
 * @example
 *   const facts = await probeSession(creds);            // direct
 *   const facts = await probeSession(creds, { host: '127.0.0.1', port: 15432 }); // through a tunnel
 */
import type { Credentials } from './credentials.js';
import { CliError } from './errors.js';

export interface SessionFacts {
  /** The effective search_path of the session. */
  searchPath: string[];
  /** The search_path configured on the role itself; null when it has none. */
  roleSearchPath: string[] | null;
  readOnly: boolean;
  serverVersionNum: number;
}

/** Schemas a tenant-scoped role is confined to: its configured path minus the shared ones. */
export function tenantSchemas(facts: Pick<SessionFacts, 'roleSearchPath'>): string[] {
  return (facts.roleSearchPath ?? []).filter((s) => !['$user', 'public', 'pg_catalog', 'pg_temp', ''].includes(s));
}

export function parseSearchPath(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let inQuotes = false;
  const push = () => {
    if (current !== '' || quoted) out.push(current);
    current = '';
    quoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inQuotes) {
      if (ch !== '"') current += ch;
      else if (text[i + 1] === '"') {
        current += '"';
        i++;
      } else inQuotes = false;
    } else if (ch === '"') {
      inQuotes = true;
      quoted = true;
    } else if (ch === ',') push();
    else if (!/\s/.test(ch)) current += ch;
  }
  push();
  return out;
}

function roleSetting(rolconfig: string[] | null, name: string): string | null {
  const entry = (rolconfig ?? []).find((c) => c.startsWith(`${name}=`));
  return entry === undefined ? null : entry.slice(name.length + 1);
}

function sslFor(mode: string): boolean | { rejectUnauthorized: boolean } {
  if (mode === 'disable' || mode === 'allow') return false;
  if (mode === 'verify-ca' || mode === 'verify-full') return { rejectUnauthorized: true };
  return { rejectUnauthorized: false };
}

export async function probeSession(
  creds: Pick<Credentials, 'host' | 'port' | 'user' | 'password' | 'database' | 'sslmode'>,
  via: { host: string; port: number } = creds,
  timeoutMs = 8000,
): Promise<SessionFacts> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    host: via.host,
    port: via.port,
    user: creds.user,
    password: creds.password,
    database: creds.database,
    ssl: sslFor(creds.sslmode),
    connectionTimeoutMillis: timeoutMs,
    application_name: 'pgmint',
  });
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ search_path: string; v: number; rolconfig: string[] | null; ro: string }>(
      `SELECT current_setting('search_path') AS search_path,
              current_setting('server_version_num')::int AS v,
              current_setting('default_transaction_read_only') AS ro,
              (SELECT rolconfig FROM pg_roles WHERE rolname = current_user) AS rolconfig`,
    );
    const row = rows[0]!;
    const configured = roleSetting(row.rolconfig, 'search_path');
    return {
      searchPath: parseSearchPath(row.search_path),
      roleSearchPath: configured === null ? null : parseSearchPath(configured),
      readOnly: row.ro === 'on',
      serverVersionNum: row.v,
    };
  } catch (err) {
    const e = err as { code?: string; message?: string };
    throw new CliError(
      'connect_failed',
      `cannot log in to ${via.host}:${via.port} with the new credentials (${e.code ?? e.message ?? 'failed'})`,
      {
        hint: 'is the database reachable from here? For a private database open a tunnel: `pgmint tunnel <db> --via user@bastion`',
        cause: err,
      },
    );
  } finally {
    await client.end().catch(() => {});
  }
}
