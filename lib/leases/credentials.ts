/**
 * The credential document a workload receives, and its URI form.
 *
 * @example
 *   const body = credentialDocument(db, lease, password, role.name);
 */
import type { DatabaseRecord } from '../store/types.js';

export interface Credentials {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  sslmode: string;
  expires_at: string;
  refresh_at: string;
  connection_uri: string;
  lease_id: string;
  role: string;
}

/** RFC 3339 in whole seconds, as `2026-04-12T16:30:00Z`. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Clients refresh with a sixth of the lifetime left (10 min of an hour). */
export function refreshAt(issuedAt: Date, expiresAt: Date): Date {
  const ttl = expiresAt.getTime() - issuedAt.getTime();
  return new Date(issuedAt.getTime() + Math.floor((ttl * 5) / 6 / 1000) * 1000);
}

export function connectionUri(c: { host: string; port: number; database: string; user: string; password: string; sslmode: string }): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `postgresql://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${host}:${c.port}/${encodeURIComponent(
    c.database,
  )}?sslmode=${encodeURIComponent(c.sslmode)}`;
}

export function credentialDocument(
  db: DatabaseRecord,
  lease: { id: string; username: string; issuedAt: Date; expiresAt: Date },
  password: string,
  role: string,
): Credentials {
  const endpoint = {
    host: db.publicHost ?? db.host,
    port: db.publicPort ?? db.port,
    database: db.database,
    user: lease.username,
    password,
    sslmode: db.publicSslmode ?? db.sslmode,
  };
  return {
    ...endpoint,
    expires_at: isoSeconds(lease.expiresAt),
    refresh_at: isoSeconds(refreshAt(lease.issuedAt, lease.expiresAt)),
    connection_uri: connectionUri(endpoint),
    lease_id: lease.id,
    role,
  };
}
