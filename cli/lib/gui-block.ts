/**
 * The connection block a person pastes into Beekeeper Studio, DBeaver,
 * TablePlus or DataGrip, with the warning about the database-name trap:
 * those tools fill an empty Database field with the user name, and a
 * temporary user name is never a database.
 *
 * @example
 *   process.stdout.write(guiBlock(creds, { searchPath: ['app', 'public'] }));
 */
import type { Credentials } from './credentials.js';
import { fields, timeLeft } from './table.js';

export interface GuiBlockOptions {
  /** The effective search path, when a probe session could read it. */
  searchPath?: string[] | null;
  /** Schemas the role is confined to. */
  tenantSchemas?: string[];
  /** Set when pgmint forwards the port itself. */
  tunnel?: { via: string };
}

export interface GuiConfig {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  sslmode: string;
  search_path: string[] | null;
  expires_at: string;
  lease_id: string;
  role: string;
  ssh_tunnel_in_gui: boolean;
  warning: string;
}

export function databaseWarning(database: string): string {
  return `Do not use the temporary user name as the database name. Use database "${database}".`;
}

/** Over a local forward, certificate names cannot match 127.0.0.1: keep encryption, drop verification. */
export function tunnelSslmode(mode: string): string {
  return mode === 'verify-full' || mode === 'verify-ca' ? 'require' : mode;
}

export function guiConfig(c: Credentials, o: GuiBlockOptions = {}): GuiConfig {
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password,
    database: c.database,
    sslmode: o.tunnel ? tunnelSslmode(c.sslmode) : c.sslmode,
    search_path: o.searchPath ?? null,
    expires_at: c.expires_at,
    lease_id: c.lease_id,
    role: c.role,
    ssh_tunnel_in_gui: false,
    warning: databaseWarning(c.database),
  };
}

const sslLabel = (mode: string) => (mode === 'disable' ? 'off (disable)' : mode);

export function guiBlock(c: Credentials, o: GuiBlockOptions = {}): string {
  const g = guiConfig(c, o);
  const path = g.search_path?.length ? g.search_path.join(', ') : '(role default; could not be read)';
  const schema = o.tenantSchemas?.[0] ?? g.search_path?.find((s) => s !== '$user') ?? 'public';
  const out: string[] = [];
  out.push(`PostgreSQL connection for Beekeeper Studio, DBeaver, TablePlus and DataGrip (role ${g.role}):`, '');
  out.push(
    fields(
      [
        ['Host', g.host],
        ['Port', g.port],
        ['User', g.user],
        ['Password', `${g.password}   (one-time: shown only now)`],
        ['Database', `${g.database}   (not the user name)`],
        ['SSL', sslLabel(g.sslmode)],
        ['Schema / search path', path],
        ['SSH tunnel in GUI', o.tunnel ? `off (pgmint already forwards through ${o.tunnel.via})` : 'off'],
        ['Expires', `${g.expires_at} (${timeLeft(g.expires_at)})`],
      ],
      '  ',
    ).trimEnd(),
  );
  out.push(
    '',
    `WARNING: ${g.warning}`,
    `  Beekeeper Studio fills an empty Database field with the user name and then fails with`,
    `  database "${g.user}" does not exist.`,
    '',
    `  Beekeeper Studio  New connection → Postgres; set Database to ${g.database}; leave "SSH Tunnel" off.`,
    `  DBeaver           Main tab: Database ${g.database}, Authentication "Database Native"; SSL tab matches SSL above.`,
    `  TablePlus         New → PostgreSQL; Database ${g.database}; SSL mode ${g.sslmode === 'disable' ? 'DISABLE' : 'REQUIRED'}.`,
    `  DataGrip          Data source → PostgreSQL; Database ${g.database}; Schemas tab: tick ${schema}.`,
  );
  if (o.tunnel) out.push('', 'Keep this terminal open while the GUI session is active; Ctrl-C closes the tunnel.');
  return `${out.join('\n')}\n`;
}
